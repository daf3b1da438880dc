"""Workflow definitions: typed, declarative descriptions of a method.

A definition is data. The engine turns it into one ``transitions`` machine per
(workflow, version) when it is registered, checks it for mistakes then, and
reuses that machine for every engagement of the workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._i18n import Lang
from ._roles import AUDITOR, RETURN_TO_CLOSED, RETURN_TO_PAUSED, ROLES, STAFF, SUPERVISOR, WORKER

StageKind = Literal["active", "paused", "final"]


@dataclass(frozen=True, kw_only=True)
class Label:
    """A text in Danish and English."""

    da: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.da if lang == "da" else self.en

    def as_dict(self) -> dict[str, str]:
        return {"da": self.da, "en": self.en}


EscalationRole = Literal["supervisor", "team_lead"]


@dataclass(frozen=True, kw_only=True)
class Escalation:
    """One rung above the first reminder: who is told, and how long after the rung below.

    The delay counts from the due time of the rung below (not from when a
    sweep happened to raise it), so a late sweep does not shift the ladder.
    """

    to: EscalationRole
    after: int = 5
    unit: Literal["working_days", "days"] = "working_days"

    def __post_init__(self) -> None:
        if self.after <= 0:
            raise ValueError("an escalation delay must be positive")
        if self.to not in ("supervisor", "team_lead"):
            raise ValueError(f"an escalation goes to the supervisor or the team lead, not {self.to!r}")

    @property
    def delay(self) -> Deadline:
        """The delay as a deadline, for ``BusinessCalendar.due``."""
        return Deadline(amount=self.after, unit=self.unit, escalation=())


# The default ladder above level 1: the supervisor (leder) five working days later.
ESCALATE_TO_SUPERVISOR = Escalation(to="supervisor")


@dataclass(frozen=True, kw_only=True)
class Deadline:
    """How long a stage may stand before a reminder is due, and who hears of it then.

    Level 1 reminds the assignee when the deadline is due; ``escalation``
    lists the levels above it (level 2, level 3 …). By default level 2 goes to
    the supervisor five working days later; pass ``escalation=()`` for a
    reminder without escalation, or add an ``Escalation(to="team_lead")``.

    ``rearm``: the clock starts over after each reminder or recorded activity
    (a stage that is reviewed periodically rather than finished by a date).
    A rearmed stage's review reminder is level 1 of each period; it does not
    escalate, because the next period starts as soon as the review is due.
    """

    amount: int
    unit: Literal["working_days", "days"] = "working_days"
    rearm: bool = False
    escalation: tuple[Escalation, ...] = (ESCALATE_TO_SUPERVISOR,)

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a deadline must be positive")
        if len(self.escalation) > 2:
            raise ValueError("at most two escalation levels (supervisor, team lead)")

    @property
    def levels(self) -> tuple[tuple[int, str, Escalation | None], ...]:
        """(level, recipient role, escalation) for each rung the sweep raises."""
        first: tuple[int, str, Escalation | None] = (1, "assignee", None)
        if self.rearm:
            return (first,)
        return (first, *((i + 2, e.to, e) for i, e in enumerate(self.escalation)))


@dataclass(frozen=True, kw_only=True)
class Choice:
    key: str
    labels: Label


# What kind of answer a question takes. "partner" is a key of the method's
# partner register (jobcenter, skole …), shared by referral sources,
# activities, referrals onward and handover receivers.
QuestionKind = Literal["text", "choice", "date", "yes_no", "partner", "number"]
QUESTION_KINDS: tuple[str, ...] = ("text", "choice", "date", "yes_no", "partner", "number")

# How an answer of each free kind is written: what a refusal of one says is allowed.
KIND_HINTS: Mapping[str, Label] = {
    "text": Label(da="tekst", en="text"),
    "date": Label(da="en dato som 2026-12-24", en="a date such as 2026-12-24"),
    "number": Label(da="et tal som 12 eller 1,5", en="a number such as 12 or 1.5"),
    "yes_no": Label(da="ja eller nej", en="yes or no"),
}


@dataclass(frozen=True, kw_only=True)
class Question:
    """One thing a stage (or a move, or an activity) asks, in the method's own words.

    ``labels`` is the question as the method puts it, in its grammatical
    person ("Hvem er du?" in an individual course, "Hvem er I?" in civil
    society). ``required``: it must be answered before the stage is left by
    a move that completes the stage (see ``Transition.answers_required``).
    ``choices`` are the allowed answers of a "choice" question; ``multiple``
    lets a "choice" or "partner" answer be a list. ``kind`` is typed as
    ``str`` so that a definition holding an unknown kind can still be built
    and reported by lint (``compile_workflow`` refuses it).
    """

    key: str
    labels: Label
    kind: str = "text"
    required: bool = False
    choices: tuple[Choice, ...] = ()
    multiple: bool = False
    help: Label | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """A structured ending: a category that can be counted, plus free text.

    ``requires`` names data keys that must be given with it (e.g. the
    reason of "afbrudt").
    """

    key: str
    labels: Label
    requires: tuple[str, ...] = ()
    description: Label | None = None


@dataclass(frozen=True, kw_only=True)
class ActivityKind:
    """A kind of activity in the method's own words ("Undersøger sammen" …) and the fields it asks."""

    key: str
    labels: Label
    fields: tuple[Question, ...] = ()
    description: Label | None = None


@dataclass(frozen=True, kw_only=True)
class SelfHelp:
    """Self-help as progress: the levels (vil selv → kan selv → gør det selv) and where they are recorded."""

    levels: tuple[Choice, ...]
    stages: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Stage:
    key: str
    labels: Label
    kind: StageKind = "active"
    deadline: Deadline | None = None
    # The items recorded in this stage (documentation and handover outline).
    records: tuple[str, ...] = ()
    description: Label | None = None
    # What the stage asks, in order. Empty for definitions of version 1.
    questions: tuple[Question, ...] = ()
    # Whether keys the stage does not declare may be recorded here. True keeps
    # definitions without questions (version 1) as open as they always were.
    extra_keys: bool = True

    def question(self, key: str) -> Question | None:
        for q in self.questions:
            if q.key == key:
                return q
        return None

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions if q.required)


@dataclass(frozen=True, kw_only=True)
class GuardContext:
    """What a custom guard sees: the engagement and the record being completed."""

    state: str
    trigger: str
    record: Mapping[str, object]
    data: Mapping[str, object]
    engagement_data: Mapping[str, object]


# A custom guard returns the data keys still missing (empty when satisfied).
Guard = Callable[[GuardContext], Sequence[str]]


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One trigger from one or more source stages to a destination.

    ``requires`` names data keys that must be present and non-empty in the
    record of the stage being left (what was recorded earlier merged with the
    data given to this fire). ``record`` False keeps the data out of the stage
    record (pause, withdraw …); it is always kept in the event.
    """

    trigger: str
    source: tuple[str, ...]
    dest: str
    labels: Label
    roles: frozenset[str] = STAFF
    requires: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    record: bool = True
    new_cycle: bool = False
    # A move back (or sideways) that the flexible method allows: revise the
    # plan, back to action. It completes nothing, so it asks nothing.
    flexible: bool = False
    # Whether leaving by this move needs the source stage's required
    # questions answered. Moves that record nothing (pause, withdraw) and
    # flexible moves never do, whatever this says (see ``gates_answers``).
    answers_required: bool = True
    # What the move itself asks (the reason of a pause, whom a referral goes to …).
    questions: tuple[Question, ...] = ()
    # The outcomes this move may end with (keys of WorkflowDefinition.outcomes).
    # With one, it is implied; with several, the data names one as "outcome",
    # unless ``default_outcome`` says which is meant when it names none.
    outcomes: tuple[str, ...] = ()
    default_outcome: str | None = None
    description: Label | None = None

    @property
    def gates_answers(self) -> bool:
        """Whether the source stage's required questions must be answered to take this move."""
        return self.answers_required and self.record and not self.flexible


@dataclass(frozen=True, kw_only=True)
class WorkflowDefinition:
    name: str
    version: int
    labels: Label
    initial: str
    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...]
    referral_sources: tuple[Choice, ...]
    # Allowed values of data keys, checked whenever the key is given.
    choices: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)
    # Labels of triggers that are not transitions (notes, activities …) are
    # not needed here; transition labels live on the transitions.
    description: Label | None = None
    # What the engagement's subject reference is called ("Sagsnr.", "Gruppe / aktør").
    subject_label: Label | None = None
    # Structured endings; transitions name the ones they may end with.
    outcomes: tuple[Outcome, ...] = ()
    # The partner register: actors that refer, take part, receive referrals and handovers.
    partners: tuple[Choice, ...] = ()
    # The kinds of activity of the action stage, with the fields each asks.
    activity_kinds: tuple[ActivityKind, ...] = ()
    self_help: SelfHelp | None = None
    # Fields of the engagement as a whole (a group's contact person, number
    # of participants …), recorded at start and updated along the way.
    fields: tuple[Question, ...] = ()

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(key)

    def outcome(self, key: str) -> Outcome | None:
        for o in self.outcomes:
            if o.key == key:
                return o
        return None

    def required_to_leave(self, trigger: str, source: str) -> tuple[str, ...]:
        """The data keys that must be given (or recorded) to fire ``trigger`` from ``source``.

        The move's ``requires``, its own required questions, ``outcome`` when
        the move ends with one of several outcomes and names no default, and —
        for a move that completes the stage — the stage's required questions.
        What a chosen outcome itself requires (the reason of "afbrudt") is not
        included: it depends on the outcome.
        """
        keys: dict[str, None] = {}
        for t in self.transitions:
            if t.trigger != trigger or source not in t.source:
                continue
            keys.update(dict.fromkeys(t.requires))
            keys.update(dict.fromkeys(q.key for q in t.questions if q.required))
            if len(t.outcomes) > 1 and t.default_outcome is None:
                keys["outcome"] = None
            if t.gates_answers:
                stage_keys = {s.key: s for s in self.stages}
                if source in stage_keys:
                    keys.update(dict.fromkeys(stage_keys[source].required_keys))
        return tuple(keys)

    def all_questions(self) -> tuple[Question, ...]:
        """Every question the definition asks: the stages' (in order), the moves',
        the engagement's fields and the activities' fields."""
        found: list[Question] = []
        for s in self.stages:
            found += s.questions
        for t in self.transitions:
            found += t.questions
        found += self.fields
        for a in self.activity_kinds:
            found += a.fields
        return tuple(found)

    def activity_kind(self, key: str) -> ActivityKind | None:
        for a in self.activity_kinds:
            if a.key == key:
                return a
        return None

    @property
    def active_stages(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages if s.kind == "active")

    @property
    def triggers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return tuple(seen)

    def transitions_for(self, trigger: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.trigger == trigger)

    def roles_for(self, trigger: str) -> frozenset[str]:
        roles: frozenset[str] = frozenset()
        for t in self.transitions_for(trigger):
            roles |= t.roles
        return roles


@dataclass(frozen=True, kw_only=True)
class Labels:
    """The labels of one workflow that error messages name things by.

    Built at the raise site (``Labels.of(definition)``) and handed to the
    exception, which keeps the keys as attributes and shows the labels in the
    message language.
    """

    workflow: Label | None = None
    stages: Mapping[str, Label] = field(default_factory=dict)
    # Per (trigger, source stage); ``triggers`` holds each trigger's first label.
    transitions: Mapping[tuple[str, str], Label] = field(default_factory=dict)
    triggers: Mapping[str, Label] = field(default_factory=dict)
    # Per data key (``source``, the definition's choices, the answers of
    # choice and partner questions): value -> label.
    choices: Mapping[str, Mapping[str, Label]] = field(default_factory=dict)
    # Per data key: the question that asks it, as the method words it ("Hvem er du?").
    fields: Mapping[str, Label] = field(default_factory=dict)

    @classmethod
    def of(cls, definition: WorkflowDefinition) -> Labels:
        triggers: dict[str, Label] = {}
        for t in definition.transitions:
            triggers.setdefault(t.trigger, t.labels)
        choices = {k: {c.key: c.labels for c in v} for k, v in definition.choices.items()}
        choices["source"] = {c.key: c.labels for c in definition.referral_sources}
        if definition.outcomes:
            choices.setdefault("outcome", {o.key: o.labels for o in definition.outcomes})
        fields: dict[str, Label] = {}
        partners = {c.key: c.labels for c in definition.partners}
        for q in definition.all_questions():
            # The first question of a key names it (stages come first, in path order).
            fields.setdefault(q.key, q.labels)
            if q.kind == "choice" and q.choices:
                choices.setdefault(q.key, {c.key: c.labels for c in q.choices})
            elif q.kind == "partner" and partners:
                choices.setdefault(q.key, partners)
            elif q.kind in KIND_HINTS:
                choices.setdefault(q.key, {q.kind: KIND_HINTS[q.kind]})
        return cls(
            workflow=definition.labels,
            stages={s.key: s.labels for s in definition.stages},
            transitions={(t.trigger, src): t.labels for t in definition.transitions for src in t.source},
            triggers=triggers,
            choices=choices,
            fields=fields,
        )

    def field(self, key: str) -> Label | None:
        """The question that asks data key ``key``, if the workflow declares one."""
        return self.fields.get(key)

    def stage(self, key: str) -> Label | None:
        return self.stages.get(key)

    def trigger(self, key: str, state: str | None = None) -> Label | None:
        """The trigger's label from ``state`` (if it leads from there), else its first label."""
        if state is not None and (key, state) in self.transitions:
            return self.transitions[(key, state)]
        return self.triggers.get(key)

    def choice(self, field_key: str, value: str) -> Label | None:
        return self.choices.get(field_key, {}).get(value)


# The role names are re-exported: the definition model has always offered them.
__all__ = [
    "AUDITOR",
    "ESCALATE_TO_SUPERVISOR",
    "KIND_HINTS",
    "QUESTION_KINDS",
    "RETURN_TO_CLOSED",
    "RETURN_TO_PAUSED",
    "ROLES",
    "STAFF",
    "SUPERVISOR",
    "WORKER",
    "ActivityKind",
    "Choice",
    "Deadline",
    "Escalation",
    "EscalationRole",
    "Guard",
    "GuardContext",
    "Label",
    "Labels",
    "Outcome",
    "Question",
    "QuestionKind",
    "SelfHelp",
    "Stage",
    "StageKind",
    "Transition",
    "WorkflowDefinition",
]
