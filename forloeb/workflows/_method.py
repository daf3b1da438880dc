"""The Vollsmose method, shared by both workflows.

Both working methods follow one path (DESIGN.md, "The two methods"); they
differ in whose own path it is (the resident's or the actor's), in where a
referral comes from, and in their labels. This module builds a definition from
those differences so the path itself is written once.
"""

from __future__ import annotations

from forloeb.engine import (
    RETURN_TO_CLOSED,
    RETURN_TO_PAUSED,
    SUPERVISOR,
    Choice,
    Deadline,
    Label,
    Stage,
    Transition,
    WorkflowDefinition,
    consent_guard,
)

PLAN = ("focus", "goals", "plan")


def choice(key: str, da: str, en: str) -> Choice:
    return Choice(key=key, labels=Label(da=da, en=en))


ACTIVITY_KINDS = (
    Choice(key="investigate", labels=Label(da="undersøge sammen", en="investigate together")),
    Choice(key="wonder", labels=Label(da="undre sig sammen", en="wonder together")),
    Choice(key="gather_knowledge", labels=Label(da="indhente viden sammen", en="gather knowledge together")),
    Choice(key="collaborate", labels=Label(da="samarbejde med andre", en="collaborate with others")),
    Choice(key="agreement", labels=Label(da="lave aftaler", en="make agreements")),
)

SELF_HELP_LEVELS = (
    Choice(key="wants", labels=Label(da="vil selv", en="wants to")),
    Choice(key="can", labels=Label(da="kan selv", en="can")),
    Choice(key="does", labels=Label(da="gør det selv", en="does it")),
)


def build(
    *,
    name: str,
    labels: Label,
    own_path: Label,
    who: Label,
    referral_sources: tuple[Choice, ...],
    version: int = 1,
) -> WorkflowDefinition:
    """The method as a definition; ``who`` is "the resident" or "the actor".

    Every active stage's ``Deadline`` carries the default escalation ladder:
    level 1 reminds the assignee when the deadline is due, level 2 goes to
    the supervisor five working days later (``ESCALATE_TO_SUPERVISOR``).
    The action stage is a periodic review (``rearm``): it reminds once per
    period and does not escalate. Embedding apps override per stage with
    ``Engine.open(deadlines=...)``.
    """
    stages = (
        Stage(
            key="referral",
            labels=Label(da="Henvendelse / henvisning", en="Referral"),
            description=Label(
                da=f"{who.da.capitalize()} henvender sig eller bliver henvist.",
                en=f"{who.en.capitalize()} gets in touch or is referred.",
            ),
            deadline=Deadline(amount=5),
            records=("source", "referred_by", "reason"),
        ),
        Stage(
            key="first_contact",
            labels=Label(da="Den første kontakt", en="First contact"),
            description=Label(
                da="Hvem er sekretariatet, hvad bringer os sammen, hvem er du, hvad udfordrer dig, "
                "hvad drømmer du om, hvad kan du bruge sekretariatet til?",
                en="Who is the secretariat, what brings us together, who are you, what challenges "
                "you, what do you dream of, what can you use the secretariat for?",
            ),
            deadline=Deadline(amount=10),
            records=("date", "who_are_you", "challenges", "dreams", "use_of_secretariat"),
        ),
        Stage(
            key="shared_path",
            labels=Label(da="Den fælles vej", en="The shared path"),
            description=Label(da="Vores fokus, mål og plan.", en="Our focus, goals and plan."),
            deadline=Deadline(amount=10),
            records=PLAN,
        ),
        Stage(
            key="own_path",
            labels=own_path,
            description=Label(da="Dit fokus, dine mål og din plan.", en="Your focus, goals and plan."),
            deadline=Deadline(amount=10),
            records=PLAN,
        ),
        Stage(
            key="action",
            labels=Label(da="Handling", en="Action"),
            description=Label(
                da="Undersøge sammen, undre sig sammen, indhente viden sammen, "
                "samarbejde med andre, lave aftaler.",
                en="Investigate, wonder and gather knowledge together, "
                "collaborate with others, make agreements.",
            ),
            # Reviewed every 30 days rather than finished by a date.
            deadline=Deadline(amount=30, unit="days", rearm=True),
            records=("activities",),
        ),
        Stage(
            key="self_help",
            labels=Label(
                da="Selvhjælp: vil selv, kan selv, gør det selv", en="Self-help: wants to, can, does it"
            ),
            deadline=Deadline(amount=30, unit="days"),
            records=("level",),
        ),
        Stage(
            key="rounding_off",
            labels=Label(da="Afrunding", en="Rounding off"),
            description=Label(
                da="Hvor står du nu, hvad har du opnået? Afslut, begynd på ny eller overlever.",
                en="Where do you stand now, what have you achieved? Close, begin anew or hand over.",
            ),
            deadline=Deadline(amount=10),
            records=("status", "achievements", "decision"),
        ),
        Stage(key="paused", labels=Label(da="Sat på pause", en="Paused"), kind="paused"),
        Stage(
            key="closed",
            labels=Label(da="Afsluttet", en="Closed"),
            kind="final",
            records=("outcome", "reason"),
        ),
        Stage(
            key="handed_over",
            labels=Label(da="Overleveret", en="Handed over"),
            kind="final",
            records=("receiver", "shared", "legal_basis"),
        ),
    )
    active = tuple(s.key for s in stages if s.kind == "active")

    def t(
        trigger: str, source: str | tuple[str, ...], dest: str, da: str, en: str, **kw: object
    ) -> Transition:
        return Transition(
            trigger=trigger,
            source=(source,) if isinstance(source, str) else source,
            dest=dest,
            labels=Label(da=da, en=en),
            **kw,  # type: ignore[arg-type]
        )

    transitions = (
        # The path forward.
        t("make_contact", "referral", "first_contact", "Tag første kontakt", "Make first contact"),
        t(
            "agree_shared_path",
            "first_contact",
            "shared_path",
            "Gå til den fælles vej",
            "Go to the shared path",
        ),
        t(
            "set_own_path",
            "shared_path",
            "own_path",
            f"Gå til {own_path.da.lower()}",
            "Go to the own path",
            requires=PLAN,
        ),
        t("act", "own_path", "action", "Gå til handling", "Start acting", requires=PLAN),
        t("reach_self_help", "action", "self_help", "Gå til selvhjælp", "Move to self-help"),
        t("round_off", "self_help", "rounding_off", "Afrund", "Round off", requires=("level",)),
        t("close", "rounding_off", "closed", "Afslut", "Close", requires=("outcome",)),
        t(
            "hand_over",
            "rounding_off",
            "handed_over",
            "Overlever til anden aktør",
            "Hand over to another actor",
            requires=("receiver", "legal_basis"),
            # A legal basis of consent needs a current consent covering the receiver.
            guards=(consent_guard,),
        ),
        # The method is flexible: back a step when life changes.
        t("revise_shared_path", "action", "shared_path", "Revidér den fælles plan", "Revise the shared plan"),
        t("revise_own_path", "action", "own_path", "Revidér egen plan", "Revise the own plan"),
        t("back_to_action", "self_help", "action", "Tilbage til handling", "Back to action"),
        t("begin_anew", "rounding_off", "shared_path", "Begynd på ny", "Begin anew", new_cycle=True),
        t("pause", active, "paused", "Sæt på pause", "Pause", requires=("reason",), record=False),
        t("resume", "paused", RETURN_TO_PAUSED, "Genoptag", "Resume", record=False),
        t("withdraw", active, "closed", "Afbryd forløbet", "Withdraw", requires=("reason",), record=False),
        t(
            "reopen",
            "closed",
            RETURN_TO_CLOSED,
            "Genåbn",
            "Reopen",
            roles=frozenset({SUPERVISOR}),
            record=False,
        ),
    )
    return WorkflowDefinition(
        name=name,
        version=version,
        labels=labels,
        initial="referral",
        stages=stages,
        transitions=transitions,
        referral_sources=referral_sources,
        choices={"kind": ACTIVITY_KINDS, "level": SELF_HELP_LEVELS},
    )
