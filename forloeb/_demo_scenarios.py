"""The demo's scenarios (``forloeb demo``): fixed engagements with Danish data, as a table.

Each is a method, a referral and the steps a worker took, on version 2 of the
methods: the six first-contact questions, results, activities' fields,
self-help as progress, a group's own fields. ``forloeb._demo`` drives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# One step of a demo scenario: (operation, argument, data). Operations: "fire"
# (argument: trigger), "boss" (a supervisor fires), "note" (argument: text),
# "record" (data), "activity" (argument: kind; data: description, fields),
# "self_help" (argument: level), "fields" (data), "consent" (data: information,
# to, purpose, how).
Step = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    workflow: str
    prefix: str
    source: str
    assignee: str
    team: str
    tags: tuple[str, ...]
    steps: tuple[Step, ...]
    idle_days: int  # days since the last step: some are overdue, some not
    data: Mapping[str, Any] | None = None  # start's data: a group's fields


SOCIAL = "Social udvikling, familier og unge"
CIVIL = "Civilsamfund og lokalt engagement"
LEADER = "hanne.l"
_SECRETARIAT = "Fortalte om sekretariatet, tavshedspligten, og at vi arbejder sammen med dig, ikke for dig"
_SECRETARIAT_GROUP = "Fortalte om sekretariatet, og at vi hjælper jer i gang, så I selv kan bære det videre"


def _fire(trigger: str, **data: Any) -> Step:
    return ("fire", trigger, data)


def _note(text: str) -> Step:
    return ("note", text, {})


def _act(kind: str, description: str, **fields: Any) -> Step:
    return ("activity", kind, {"description": description, **fields})


def _agree(description: str, what: str, who: str, in_days: int | None = None) -> Step:
    """A "vi laver aftaler" activity: what, who does it (VI / DU / I) and, perhaps, by when."""
    fields: dict[str, Any] = {"what": what, "who": who}
    if in_days is not None:
        fields["by_when"] = (date.today() + timedelta(days=in_days)).isoformat()
    return _act("agreement", description, **fields)


def _self_help(level: str) -> Step:  # the level reached, as often as it moves
    return ("self_help", level, {})


def _to_action(
    referred_by: str,
    reason: str,
    contact: Mapping[str, str],
    shared: Mapping[str, str],
    own: Mapping[str, str],
) -> tuple[Step, ...]:
    return (
        _fire("make_contact", referred_by=referred_by, reason=reason),
        _fire("agree_shared_path", **contact),
        _fire("set_own_path", **shared),
        _fire("act", **own),
    )


def _contact(
    brings: str, who: str, challenges: str, dreams: str, use: str, secretariat: str = _SECRETARIAT
) -> dict[str, str]:
    return {
        "who_is_secretariat": secretariat,
        "what_brings_us": brings,
        "who_are_you": who,
        "challenges": challenges,
        "dreams": dreams,
        "use_of_secretariat": use,
    }


def _plan(focus: str, goals: str, plan: str) -> dict[str, str]:
    return {"focus": focus, "goals": goals, "plan": plan}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "individual_course",
        "sag",
        "skole",
        "mette.k",
        SOCIAL,
        ("uddannelse og livschancer",),
        (
            *_to_action(
                "Kontaktlærer på Abildgårdskolen",
                "Højt fravær i 8. klasse",
                _contact(
                    "Skolen er bekymret for hans fravær, og han vil gerne selv videre",
                    "14-årig, bor med sin mor og to søskende",
                    "Fravær og konflikter i klassen",
                    "At blive elektriker",
                    "Hjælp til at tale med skolen",
                ),
                _plan(
                    "Fremmøde i skolen",
                    "Mindst 90 % fremmøde før jul",
                    "Ugentlig samtale og fast morgenrutine",
                ),
                _plan(
                    "At komme op om morgenen",
                    "Møde til første time fire dage om ugen",
                    "Vækkeur, aftale med mor, sms fra kontaktlærer",
                ),
            ),
            _act("investigate", "Gennemgik fraværet sammen med mor og kontaktlærer"),
            _act("gather_knowledge", "Undersøgte lektiecaféen på Vollsmose Bibliotek"),
            _agree("Fast møde hver mandag kl. 15", "Møde op til samtalen hver mandag", "du"),
            _self_help("wants"),
            _note("Godt møde – han fortæller selv om fremskridtene"),
            _self_help("can"),
            _fire("reach_self_help"),
            ("record", "", {"level": "does"}),
            _fire("round_off"),
            _fire(
                "close",
                status="Går i skole hver dag",
                achievements="Fremmøde 94 % og en fast morgenrutine",
                outcome="goal_reached",
                outcome_text="Han møder selv op og taler selv med kontaktlæreren",
            ),
        ),
        idle_days=3,
    ),
    Scenario(
        "individual_course",
        "sag",
        "jobcenter",
        "ahmed.s",
        SOCIAL,
        ("beskæftigelse",),
        (
            *_to_action(
                "Jobkonsulent",
                "Ønsker hjælp til at komme i arbejde",
                _contact(
                    "Han vil gerne i arbejde som frisør",
                    "32 år, uddannet frisør i Syrien",
                    "Dansk på skrift, intet netværk i branchen",
                    "Egen salon på sigt",
                    "Sparring og kontakt til arbejdsgivere",
                ),
                _plan("Arbejde", "Praktik inden for tre måneder", "CV, sprogskole og netværksmøder"),
                _plan(
                    "Praktik i en salon", "Første praktikdag før 1. december", "Besøge tre saloner i Odense"
                ),
            ),
            _act("collaborate", "Fælles møde med jobcentret og sprogskolen", with_whom=["jobcenter"]),
            _act("wonder", "Hvorfor svarer salonerne ikke på mails? Vi prøver at møde op i stedet"),
            _agree("Besøg i salonerne", "Besøge tre saloner og aflevere CV", "du", in_days=14),
            _self_help("can"),
            _fire("reach_self_help"),
            _fire("round_off"),
            (
                "consent",
                "",
                {
                    "information": ["referral", "plan", "activities", "self_help", "status", "deadlines"],
                    "to": ["jobcenter"],
                    "purpose": "Overgang til jobcentrets virksomhedspraktik",
                    "how": "written",
                },
            ),
            _fire(
                "hand_over",
                status="I praktik, klar til jobcentrets forløb",
                achievements="CV, praktikplads og første kontakt til to saloner",
                receiver="jobcenter",
                shared="plan, status og opnåede mål",
                legal_basis="consent",  # the consent recorded above (see _demo.py)
            ),
        ),
        idle_days=2,
    ),
    Scenario(
        "individual_course",
        "sag",
        "uu",
        "mette.k",
        SOCIAL,
        ("uddannelse og livschancer",),
        (
            *_to_action(
                "UU-vejleder",
                "Faldet fra erhvervsskolen",
                _contact(
                    "Han er faldet fra og vil gerne tilbage på sporet",
                    "19 år, bor hjemme",
                    "Mangler en læreplads",
                    "At blive tømrer",
                    "Hjælp til at finde en læreplads",
                ),
                _plan("Uddannelse", "Læreplads i løbet af foråret", "Ansøgninger og øvede samtaler"),
                _plan("Ansøgninger", "Fem ansøgninger om måneden", "Skrive sammen hver torsdag"),
            ),
            _act("wonder", "Undrede os sammen over, hvorfor praktikken gik i stå"),
            _fire("revise_own_path"),
            _note("Ny læreplads i sigte – planen skal justeres"),
            _fire("act", **_plan("Læreplads i Bolbro", "Kontrakt før sommerferien", "Møde med mester og UU")),
            _act("collaborate", "Møde med mester og UU-vejlederen", with_whom=["uu"]),
        ),
        idle_days=4,
    ),
    Scenario(
        "individual_course",
        "sag",
        "socialcenter",
        "louise.b",
        SOCIAL,
        ("tryghed og trivsel",),
        (
            _fire("make_contact", referred_by="Socialrådgiver", reason="Ensomhed og gæld"),
            _fire("pause", reason="Beboeren er indlagt på OUH"),
            _fire("resume"),
            _fire(
                "agree_shared_path",
                **_contact(
                    "Hun vil gerne ud blandt andre igen",
                    "67 år, enke",
                    "Gæld og ensomhed",
                    "At komme ud blandt folk",
                    "Følgeskab til møder",
                ),
            ),
        ),
        idle_days=1,
    ),
    Scenario(
        "individual_course",
        "sag",
        "beboer_selv",
        "ahmed.s",
        SOCIAL,
        ("beskæftigelse", "tryghed og trivsel"),
        (
            *_to_action(
                "Beboeren selv",
                "Vil gerne have hjælp til at søge job",
                _contact(
                    "Han vil gerne i fast arbejde",
                    "45 år, far til fire",
                    "Langtidsledig",
                    "Fast arbejde",
                    "Hjælp til ansøgninger",
                ),
                _plan("Job", "Fast job inden for et år", "Jobsøgning hver uge"),
                _plan("Chauffør", "Kørekort til lastbil", "Søge om kursus gennem jobcentret"),
            ),
            _agree("Kørekortskursus", "Søge kursus gennem jobcentret", "du", in_days=21),
            _self_help("can"),
            _fire("reach_self_help"),
            _fire("round_off", level="can"),
            _fire(
                "begin_anew",
                status="Har fået job som chauffør, men har mistet sin bolig",
                achievements="Fast arbejde",
            ),
            _fire(
                "set_own_path",
                **_plan("Bolig", "Egen lejlighed i Vollsmose", "Skrive op hos boligorganisationen"),
            ),
        ),
        idle_days=5,
    ),
    Scenario(
        "individual_course",
        "sag",
        "daginstitution",
        "louise.b",
        SOCIAL,
        ("forebyggelse og forældreansvar",),
        (
            _fire("make_contact", referred_by="Pædagog i Børnehuset Regnbuen", reason="Mor virker presset"),
            _fire("withdraw", outcome="moved", reason="Familien er flyttet fra Vollsmose"),
        ),
        idle_days=8,
    ),
    Scenario(
        "individual_course",
        "sag",
        "boligorganisation",
        "mette.k",
        SOCIAL,
        ("tryghed og trivsel",),
        (_note("Henvendelse fra boligsocial medarbejder om støj og uro i opgangen – ring til beboeren"),),
        idle_days=25,  # overdue: `forloeb list --stale`
    ),
    Scenario(
        "individual_course",
        "sag",
        "sagsbehandler",
        "ahmed.s",
        SOCIAL,
        ("kriminalitetsforebyggelse",),
        (
            _fire(
                "make_contact", referred_by="Sagsbehandler i Odense Kommune", reason="Bekymring for 16-årig"
            ),
            _fire(
                "agree_shared_path",
                **_contact(
                    "Kommunen er bekymret, og han vil gerne væk fra gaden om aftenen",
                    "16 år",
                    "Dårligt selskab om aftenen",
                    "At spille fodbold",
                    "En voksen at tale med",
                ),
            ),
            _fire("set_own_path", **_plan("Fritid", "Fast fritidsaktivitet", "Prøvetræning i B1909")),
            _fire("pause", reason="Afventer svar fra kommunen"),
        ),
        idle_days=6,
    ),
    Scenario(
        # The short referral course: one conversation, then onward to the right actor.
        "individual_course",
        "sag",
        "beboer_selv",
        "louise.b",
        SOCIAL,
        ("beskæftigelse",),
        (
            _fire("make_contact", referred_by="Beboeren selv", reason="Spørgsmål om kontanthjælp"),
            _fire(
                "refer_on",
                referred_to="jobcenter",
                reason="Spørgsmålet hører til jobcentret; hun ringer selv i morgen",
                contact="Jobcentrets borgerservice",
            ),
        ),
        idle_days=3,
    ),
    Scenario(
        "civil_society",
        "forening",
        "foreninger",
        "sara.n",
        CIVIL,
        ("uddannelse og livschancer",),
        (
            *_to_action(
                "Formand for Vollsmose Kvindeforening",
                "Vil starte en lektiecafé",
                _contact(
                    "Foreningen vil starte en lektiecafé for børnene i området",
                    "En forening med 40 medlemmer",
                    "I mangler lokaler og frivillige",
                    "En fast lektiecafé",
                    "Hjælp til lokaler og ansøgninger",
                    _SECRETARIAT_GROUP,
                ),
                _plan("Lektiecafé", "Åbent to dage om ugen", "Finde lokale og frivillige"),
                _plan("Frivillige", "Ti faste frivillige", "Opslag og infomøde"),
            ),
            _act("collaborate", "Aftale med biblioteket om lokale", with_whom=["forening"]),
            _act("gather_knowledge", "Indhentede viden om puljer til frivilligt arbejde"),
            ("fields", "", {"volunteers": 10, "participants": 25}),
            _self_help("can"),
            _fire("reach_self_help"),
            _self_help("does"),
            _fire("round_off"),
            _fire(
                "close",
                status="Caféen kører",
                achievements="Åbent to dage om ugen med ti frivillige",
                outcome="goal_reached",
                outcome_text="Foreningen driver selv lektiecaféen",
            ),
        ),
        idle_days=2,
        data={"contact_person": "Amina (formand)", "participants": 12, "partners": ["forening"]},
    ),
    Scenario(
        "civil_society",
        "gruppe",
        "grupper",
        "sara.n",
        CIVIL,
        ("sammenhængskraft og medborgerskab",),
        (
            *_to_action(
                "Kvindegruppen i Vollsmose Øst",
                "Vil lave fællesspisning",
                _contact(
                    "Gruppen vil samle naboerne om maden",
                    "12 kvinder fra Vollsmose Øst",
                    "I har ikke adgang til et køkken",
                    "Fællesspisning hver måned",
                    "Kontakter og økonomi",
                    _SECRETARIAT_GROUP,
                ),
                _plan("Fællesspisning", "Første spisning i januar", "Finde køkken og søge midler"),
                _plan("Køkken", "Aftale om køkken", "Spørge beboerhuset"),
            ),
            _act("collaborate", "Mødtes med beboerhuset om køkkenet", with_whom=["boligorganisation"]),
            _act("wonder", "Hvorfor kommer så få om aftenen? Vi prøver søndag eftermiddag"),
            _self_help("wants"),
        ),
        idle_days=70,  # the action stage is reviewed every 60 days: overdue
        data={"contact_person": "Fatima", "participants": 12},
    ),
    Scenario(
        "civil_society",
        "beboere",
        "beboere",
        "jonas.p",
        CIVIL,
        ("tryghed og trivsel",),
        (
            *_to_action(
                "Beboere i Fyrreparken",
                "Utryghed ved indgangene",
                _contact(
                    "Beboerne vil gerne føle sig trygge, når de kommer hjem",
                    "Seks beboere fra tre opgange",
                    "Mørke indgange",
                    "Tryghed i opgangen ✨",
                    "Kontakt til boligorganisationen",
                    _SECRETARIAT_GROUP,
                ),
                _plan("Tryghed i opgangen", "Bedre lys inden vinter", "Gåtur med boligorganisationen"),
                _plan("Lys", "Nye lamper ved indgangene", "Skrive til afdelingsbestyrelsen"),
            ),
            _act("investigate", "Tryghedsvandring med beboerne og boligorganisationen"),
            _agree("Brev til afdelingsbestyrelsen", "Skrive brevet om lys", "i", in_days=10),
            _fire("reach_self_help"),
            ("record", "", {"level": "wants"}),
        ),
        idle_days=3,
        data={"contact_person": "Jens fra opgang 14", "participants": 6},
    ),
    Scenario(
        "civil_society",
        "partner",
        "samarbejdspartner",
        "jonas.p",
        CIVIL,
        ("beskæftigelse",),
        (
            *_to_action(
                "Erhvervsskolen",
                "Samarbejde om erhvervspraktik",
                _contact(
                    "Skolen vil have flere elever fra Vollsmose",
                    "En erhvervsskole i Odense",
                    "I har få elever fra Vollsmose",
                    "Flere lokale elever",
                    "Adgang til unge og forældre",
                    _SECRETARIAT_GROUP,
                ),
                _plan("Praktik", "Ti praktikforløb", "Infomøder i Vollsmose"),
                _plan("Infomøder", "To infomøder", "Invitere gennem foreningerne"),
            ),
            _agree("Samarbejdsaftale", "To infomøder om året", "vi"),
            _fire("reach_self_help"),
            _fire("round_off", level="does"),
            _fire(
                "close",
                status="Aftalen kører",
                achievements="Første infomøde holdt med 30 deltagere",
                outcome="partly_reached",
                outcome_text="Samarbejdsaftale indgået; praktikforløbene mangler endnu",
            ),
        ),
        idle_days=9,
        data={"contact_person": "Studievejleder Lars", "partners": ["skole"]},
    ),
    Scenario(
        "civil_society",
        "gruppe",
        "grupper",
        "sara.n",
        CIVIL,
        ("sammenhængskraft og medborgerskab",),
        (
            _fire("make_contact", referred_by="Ungegruppen", reason="Vil arrangere en sommerfest"),
            _fire(
                "agree_shared_path",
                **_contact(
                    "De unge vil lave en sommerfest for hele området",
                    "Otte unge",
                    "I har ingen erfaring med tilladelser",
                    "En sommerfest",
                    "Hjælp til tilladelser",
                    _SECRETARIAT_GROUP,
                ),
            ),
            _fire("withdraw", reason="Gruppen er gået i opløsning"),
            ("boss", "reopen", {"reason": "Gruppen er samlet igen"}),
            _note("Gruppen er samlet igen med ny tovholder"),
            ("fields", "", {"contact_person": "Yusuf"}),
        ),
        idle_days=2,
    ),
    Scenario(
        "civil_society",
        "beboere",
        "beboere",
        "jonas.p",
        CIVIL,
        ("tryghed og trivsel",),
        (),
        idle_days=30,  # a referral nobody has picked up yet
    ),
)


__all__ = ["CIVIL", "LEADER", "SCENARIOS", "SOCIAL", "Scenario", "Step"]
