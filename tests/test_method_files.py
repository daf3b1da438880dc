"""The methods as definition files: faithful to the secretariat's material, loaded, linted, compared.

The expected questions below are written from the secretariat's own material
(shared/seed/vollsmose-sekretariatet.txt, the two diagrams "INDIVIDUELLE
FORLØB ARBEJDSMETODE" and "CIVILSAMFUND ARBEJDSMETODE"); the tests read the
shipped definitions, never the material itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from forloeb import Actor, Engine, GuardFailed
from forloeb.engine import DefinitionError, Label, Stage, Transition, WorkflowDefinition
from forloeb.engine._definition import Question
from forloeb.engine._machine import compile_workflow
from forloeb.workflows import (
    BUILTIN,
    CIVIL_SOCIETY,
    DEFINITIONS,
    INDIVIDUAL_COURSE,
    diff,
    faithful,
    json_schema,
    lint,
    lint_migration,
    load_definition,
    load_folder,
    migration_map,
    problems_of,
    shipped,
)

# -- what the material says ---------------------------------------------------------

MATERIAL_QUESTIONS: dict[str, dict[str, list[str]]] = {
    "individual_course": {
        "first_contact": [
            "Hvem er Vollsmose Sekretariatet?",
            "Hvad bringer os sammen?",
            "Hvem er du?",
            "Hvad udfordrer dig?",
            "Hvad drømmer du om?",
            "Hvad kan du bruge Vollsmose Sekretariatet til?",
        ],
        "shared_path": ["Hvad er vores fokus?", "Hvad er vores mål?", "Hvad er vores plan?"],
        "own_path": ["Hvad er dit fokus?", "Hvad er dine mål?", "Hvad er din plan?"],
        "rounding_off": ["Hvor står beboeren nu?", "Hvad har beboeren opnået?"],
    },
    "civil_society": {
        "first_contact": [
            "Hvem er Vollsmose Sekretariatet?",
            "Hvad bringer os sammen?",
            "Hvem er I?",
            "Hvad udfordrer jer?",
            "Hvad drømmer I om?",
            "Hvad kan I bruge Vollsmose Sekretariatet til?",
        ],
        "shared_path": ["Hvad er vores fokus?", "Hvad er vores mål?", "Hvad er vores plan?"],
        "own_path": ["Hvad er jeres fokus?", "Hvad er jeres mål?", "Hvad er jeres plan?"],
        "rounding_off": ["Hvor står I nu?", "Hvad har I opnået?"],
    },
}
MATERIAL_BOXES = {
    "referral": "Henvendelse / henvisning",
    "first_contact": "Den første kontakt",
    "shared_path": "Den fælles vej",
    "action": "Handling",
    "self_help": "Selvhjælp",
    "rounding_off": "Afrunding",
}
OWN_PATH = {"individual_course": "Beboerens vej", "civil_society": "Aktørens vej"}
ACTIVITIES = [
    "Undersøger sammen",
    "Undres sammen",
    "Henter viden sammen",
    "Samarbejder med andre",
    "Vi laver aftaler",
]
LEVELS = ["Vil selv", "Kan selv", "Gør det selv"]
SOURCES = {
    "individual_course": [
        "Ungdommens Uddannelsesvejledning (UU)",
        "Daginstitution",
        "Skole",
        "Jobcenter",
        "Socialcenter",
        "Sagsbehandler",
        "Boligorganisation",
        "Beboeren selv",
    ],
    "civil_society": ["Beboere", "Grupper", "Foreninger", "Samarbejdspartner"],
}
# The endings from rounding off: "AFSLUTNING / BEGYNDE PÅ NY / OVERLEVERING EVT. MED
# HENVISNING TIL ANDRE AKTØRER" (individual), "AFSLUTNING / HENVISNING TIL ANDRE AKTØRER" (civil).
ENDINGS = {
    "individual_course": {"close", "begin_anew", "hand_over", "refer_on", "back_to_action"},
    "civil_society": {"close", "refer_on", "back_to_action"},
}
# Words of each grammatical person, as whole words.
DU_FORM = re.compile(r"\b(du|dig|dit|din|dine)\b", re.IGNORECASE)
I_FORM = re.compile(r"\b(I|jer|jeres)\b")  # "I" (you, plural) is capitalised in Danish
METHODS = ("individual_course", "civil_society")


@pytest.fixture(scope="module")
def v2() -> dict[str, WorkflowDefinition]:
    return {d.name: d for d in faithful()}


def _all_labels(d: WorkflowDefinition) -> Iterator[tuple[str, Label]]:
    """Every Danish/English text of a definition, with where it is."""
    yield "method", d.labels
    for s in d.stages:
        yield f"stage {s.key}", s.labels
        if s.description:
            yield f"stage {s.key} description", s.description
        for q in s.questions:
            yield f"question {s.key}.{q.key}", q.labels
            for c in q.choices:
                yield f"choice {q.key}.{c.key}", c.labels
    for t in d.transitions:
        yield f"transition {t.trigger}", t.labels
        for q in t.questions:
            yield f"question {t.trigger}.{q.key}", q.labels
    for o in d.outcomes:
        yield f"outcome {o.key}", o.labels
    for a in d.activity_kinds:
        yield f"activity {a.key}", a.labels
        for q in a.fields:
            yield f"field {a.key}.{q.key}", q.labels
            for c in q.choices:
                yield f"choice {a.key}.{q.key}.{c.key}", c.labels
    for q in d.fields:
        yield f"field {q.key}", q.labels


# -- the shipped files are faithful to the material ------------------------------------


def test_the_package_ships_one_file_per_method_and_version() -> None:
    names = sorted(p.name for p in DEFINITIONS.glob("*.toml"))
    assert names == ["civil_society.v2.toml", "individual_course.v2.toml"]
    assert [(d.name, d.version) for d in shipped()] == [("civil_society", 2), ("individual_course", 2)]


@pytest.mark.parametrize("path", sorted(DEFINITIONS.glob("*.toml")), ids=lambda p: p.name)
def test_the_shipped_files_lint_without_a_single_remark(path: Path) -> None:
    assert [str(p) for p in lint(path)] == []


@pytest.mark.parametrize("name", METHODS)
def test_every_question_of_the_material_is_asked_in_its_stage_in_order(
    v2: dict[str, WorkflowDefinition], name: str
) -> None:
    d = v2[name]
    for stage, expected in MATERIAL_QUESTIONS[name].items():
        asked = [q.labels.da for q in d.stage(stage).questions]
        present = [q for q in asked if q in expected]
        assert present == expected, f"{name} {stage}: {asked}"


@pytest.mark.parametrize("name", METHODS)
def test_first_contact_asks_all_six_questions_with_english_and_two_are_required(
    v2: dict[str, WorkflowDefinition], name: str
) -> None:
    questions = v2[name].stage("first_contact").questions
    material = [q for q in questions if q.labels.da in MATERIAL_QUESTIONS[name]["first_contact"]]
    assert len(material) == 6
    assert all(q.labels.en.strip() and q.labels.en != q.labels.da for q in material)
    assert {q.key for q in questions if q.required} == {"what_brings_us", "who_are_you"}


@pytest.mark.parametrize("name", METHODS)
def test_the_boxes_activities_levels_and_sources_are_the_materials(
    v2: dict[str, WorkflowDefinition], name: str
) -> None:
    d = v2[name]
    for key, label in {**MATERIAL_BOXES, "own_path": OWN_PATH[name]}.items():
        assert d.stage(key).labels.da == label
    assert [a.labels.da for a in d.activity_kinds] == ACTIVITIES
    assert d.self_help is not None
    assert [c.labels.da for c in d.self_help.levels] == LEVELS
    assert set(d.self_help.stages) == {"action", "self_help"}
    assert [c.labels.da for c in d.referral_sources] == SOURCES[name]


@pytest.mark.parametrize("name", METHODS)
def test_rounding_off_offers_the_materials_endings_and_no_others(
    v2: dict[str, WorkflowDefinition], name: str
) -> None:
    d = v2[name]
    from_rounding_off = {t.trigger for t in d.transitions if "rounding_off" in t.source}
    shared = {t.trigger for t in d.transitions if set(d.active_stages) <= set(t.source)}
    assert from_rounding_off - shared == ENDINGS[name]


def test_civil_society_speaks_to_a_group_and_the_individual_course_to_one_resident(
    v2: dict[str, WorkflowDefinition],
) -> None:
    for where, label in _all_labels(v2["civil_society"]):
        assert not DU_FORM.search(label.da), f"civil society in the du-form: {where}: {label.da!r}"
    for where, label in _all_labels(v2["individual_course"]):
        assert not I_FORM.search(label.da), f"individual course in the I-form: {where}: {label.da!r}"
    # And each does use its own person where the material does.
    civil = [q.labels.da for q in v2["civil_society"].stage("first_contact").questions]
    assert "Hvem er I?" in civil and "Hvem er du?" not in civil


def test_the_methods_differ_where_the_material_differs(v2: dict[str, WorkflowDefinition]) -> None:
    ind, civ = v2["individual_course"], v2["civil_society"]
    assert {c.key for c in ind.referral_sources}.isdisjoint({c.key for c in civ.referral_sources})
    assert "begin_anew" in ind.triggers and "begin_anew" not in civ.triggers
    # Handing data over is the individual course's "overlevering"; civil society refers on only.
    assert "hand_over" in ind.triggers and "hand_over" not in civ.triggers
    assert "handed_over" not in {s.key for s in civ.stages}
    who = {
        d.name: [c.key for c in d.activity_kinds[-1].fields[1].choices] for d in (ind, civ)
    }  # "Vi laver aftaler": who does it
    assert who == {"individual_course": ["vi", "du"], "civil_society": ["vi", "i"]}
    # A group engagement keeps its tovholder, participants, volunteers and partners.
    assert [q.key for q in civ.fields] == ["contact_person", "participants", "volunteers", "partners"]
    assert [q.kind for q in civ.fields] == ["text", "number", "number", "partner"]
    assert ind.fields == ()
    # Civil society has no escalations: reminders to the assignee only.
    for s in civ.stages:
        assert s.deadline is None or s.deadline.levels == ((1, "assignee", None),), s.key


def test_a_referral_onward_shares_nothing_and_a_handover_needs_a_legal_basis(
    v2: dict[str, WorkflowDefinition],
) -> None:
    d = v2["individual_course"]
    (refer,) = d.transitions_for("refer_on")
    (hand,) = d.transitions_for("hand_over")
    assert set(refer.source) == {"first_contact", "shared_path", "rounding_off"}
    assert refer.dest == "referred_on" and refer.outcomes == ("referred_on",)
    assert refer.guards == () and "legal_basis" not in d.required_to_leave("refer_on", "first_contact")
    assert [q.kind for q in refer.questions if q.key == "referred_to"] == ["partner"]
    assert hand.guards and {"receiver", "legal_basis"} <= set(
        d.required_to_leave("hand_over", "rounding_off")
    )
    assert d.stage("referred_on").labels.da == "Henvist videre"
    assert hand.labels.da == "Overdrag til en anden aktør"


def test_the_wording_list_is_applied(v2: dict[str, WorkflowDefinition]) -> None:
    for d in v2.values():
        for where, label in _all_labels(d):
            for word in ("Overlever ", "udfald", "cyklus", "Borgerreference", "Arbejdsgang", "Mærker"):
                assert word.lower() not in label.da.lower(), f"{d.name} {where}: {label.da!r}"
    assert v2["individual_course"].labels.da == "Individuelt forløb"
    assert v2["individual_course"].subject_label == Label(da="Sagsnr.", en="Case no.")


@pytest.mark.parametrize("name", METHODS)
def test_version_2_keeps_the_stage_keys_and_triggers_of_version_1_where_the_meaning_is_the_same(
    v2: dict[str, WorkflowDefinition], name: str
) -> None:
    v1 = {d.name: d for d in BUILTIN}[name]
    kept = {"referral", "first_contact", "shared_path", "own_path", "action", "self_help", "rounding_off"}
    kept |= {"paused", "closed"}
    assert kept <= {s.key for s in v2[name].stages}
    common = set(v1.triggers) - {"begin_anew", "hand_over"}  # civil society drops these two
    assert common <= set(v2[name].triggers)


def test_the_engine_registers_versions_1_and_2_by_default() -> None:
    # Version 1 for the engagements started on it, version 2 for new ones.
    assert (INDIVIDUAL_COURSE, CIVIL_SOCIETY, *faithful()) == BUILTIN
    assert sorted((d.name, d.version) for d in BUILTIN) == [
        ("civil_society", 1),
        ("civil_society", 2),
        ("individual_course", 1),
        ("individual_course", 2),
    ]


# -- the faithful definitions in a running engine ----------------------------------


@pytest.fixture
def v2_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.open(f"sqlite:///{tmp_path / 'methods.db'}", migrate=True, workflows=[*BUILTIN, *faithful()])
    try:
        yield eng
    finally:
        eng.close()


WORKER = Actor("anna", ["worker"])
PLAN = {"focus": "Skolegang", "goals": "Fast fremmøde", "plan": "Ugentlige samtaler"}
FIRST_CONTACT = {"what_brings_us": "Skolen henviste", "who_are_you": "Mor til tre"}


def test_a_short_referral_course_ends_referred_on_not_broken_off(v2_engine: Engine) -> None:
    e = v2_engine.start("individual_course", subject="sag-1", source="skole", actor=WORKER)
    assert e.workflow_version == 2
    e = v2_engine.fire(e.id, "make_contact", actor=WORKER)
    with pytest.raises(GuardFailed) as missing:
        v2_engine.fire(e.id, "refer_on", actor=WORKER, data={"reason": "Behov for lektiehjælp"})
    assert missing.value.missing == ("referred_to",)
    e = v2_engine.fire(
        e.id, "refer_on", actor=WORKER, data={"referred_to": "forening", "reason": "Behov for lektiehjælp"}
    )
    assert e.state == "referred_on"
    assert v2_engine.workflow("individual_course", 2).stage(e.state).kind == "final"


def test_the_faithful_path_asks_its_required_questions_and_a_structured_outcome(v2_engine: Engine) -> None:
    e = v2_engine.start("individual_course", subject="sag-2", source="beboer_selv", actor=WORKER)
    e = v2_engine.fire(e.id, "make_contact", actor=WORKER)
    with pytest.raises(GuardFailed) as missing:
        v2_engine.fire(e.id, "agree_shared_path", actor=WORKER)
    assert missing.value.missing == ("what_brings_us", "who_are_you")
    e = v2_engine.fire(e.id, "agree_shared_path", actor=WORKER, data=FIRST_CONTACT)
    e = v2_engine.fire(e.id, "set_own_path", actor=WORKER, data=PLAN)
    # The flexible method: from the resident's path back to the shared path, asking nothing.
    e = v2_engine.fire(e.id, "revise_shared_path", actor=WORKER)
    assert e.state == "shared_path"
    for trigger, data in (("set_own_path", None), ("act", PLAN), ("reach_self_help", None)):
        e = v2_engine.fire(e.id, trigger, actor=WORKER, data=data)
    e = v2_engine.fire(e.id, "round_off", actor=WORKER, data={"level": "can"})
    # And from rounding off back to action, then forward again.
    e = v2_engine.fire(e.id, "back_to_action", actor=WORKER)
    assert e.state == "action"
    e = v2_engine.fire(e.id, "reach_self_help", actor=WORKER)
    e = v2_engine.fire(e.id, "round_off", actor=WORKER)  # the level recorded before still counts
    status = {"status": "I job", "achievements": "Fast arbejde"}
    with pytest.raises(GuardFailed) as no_outcome:
        v2_engine.fire(e.id, "close", actor=WORKER, data=status)
    assert no_outcome.value.missing == ("outcome",)
    with pytest.raises(GuardFailed) as bad_outcome:
        v2_engine.fire(e.id, "close", actor=WORKER, data={**status, "outcome": "Mål nået"})
    assert [i[0] for i in bad_outcome.value.invalid] == ["outcome"]
    e = v2_engine.fire(e.id, "close", actor=WORKER, data={**status, "outcome": "goal_reached"})
    assert e.state == "closed"


def test_withdraw_is_broken_off_by_default_and_needs_its_reason(v2_engine: Engine) -> None:
    e = v2_engine.start("civil_society", subject="Lektiecafé", source="foreninger", actor=WORKER)
    with pytest.raises(GuardFailed) as missing:
        v2_engine.fire(e.id, "withdraw", actor=WORKER)
    assert missing.value.missing == ("reason",)
    e = v2_engine.fire(e.id, "withdraw", actor=WORKER, data={"reason": "Gruppen er stoppet"})
    assert e.state == "closed"


def test_version_1_engagements_keep_running_beside_version_2(v2_engine: Engine) -> None:
    e = v2_engine.start("individual_course", subject="sag-3", source="skole", actor=WORKER)
    assert e.workflow_version == 2
    v1 = v2_engine.workflow("individual_course", 1)
    assert v1 is INDIVIDUAL_COURSE
    # Version 1 leaves first contact with nothing recorded, as it always did.
    assert INDIVIDUAL_COURSE.required_to_leave("agree_shared_path", "first_contact") == ()


# -- lint: one small broken file per check ---------------------------------------------

TINY = """\
name = "tiny"
version = 1
da = "Lille metode"
en = "Tiny method"
initial = "start"

[[stages]]
key = "start"
da = "Start"
en = "Start"
deadline = { amount = 5, unit = "working_days" }
questions = [{ key = "who", kind = "text", required = true, da = "Hvem er du?", en = "Who are you?" }]

[[stages]]
key = "done"
da = "Afsluttet"
en = "Done"
kind = "final"

[[transitions]]
trigger = "finish"
from = "start"
to = "done"
da = "Afslut"
en = "Finish"
outcomes = ["goal_reached"]

[[outcomes]]
key = "goal_reached"
da = "Mål nået"
en = "Goal reached"

[[referral_sources]]
key = "beboer"
da = "Beboer"
en = "Resident"
"""

EXTRA_STAGE = """
[[stages]]
key = "{key}"
da = "Ekstra"
en = "Extra"
"""
EXTRA_MOVE = """
[[transitions]]
trigger = "{trigger}"
from = "{src}"
to = "{dest}"
da = "Videre"
en = "Onward"
"""


def _file(tmp_path: Path, text: str, name: str = "tiny.v1.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _codes(tmp_path: Path, text: str) -> list[str]:
    return [p.code for p in lint(_file(tmp_path, text)) if p.severity == "error"]


def test_the_tiny_file_is_clean(tmp_path: Path) -> None:
    assert lint(_file(tmp_path, TINY)) == []
    assert load_definition(_file(tmp_path, TINY)).stage("start").required_keys == ("who",)


BROKEN: dict[str, tuple[str, str]] = {
    # check: (what to do to TINY, the key path lint must name)
    "unknown_destination": ("", EXTRA_MOVE.format(trigger="oops", src="start", dest="dnoe")),
    "unreachable_stage": (
        "",
        EXTRA_STAGE.format(key="lost") + EXTRA_MOVE.format(trigger="go", src="lost", dest="done"),
    ),
    "no_way_out": (
        "",
        EXTRA_STAGE.format(key="stuck") + EXTRA_MOVE.format(trigger="go", src="start", dest="stuck"),
    ),
    "duplicate_trigger": ("", EXTRA_MOVE.format(trigger="finish", src="start", dest="done")),
    "missing_label": ('da = "Start"\n', ""),
    "unknown_question_kind": ('kind = "text", required = true', 'kind = "essay", required = true'),
    "deadline_without_unit": (
        'deadline = { amount = 5, unit = "working_days" }',
        "deadline = { amount = 5 }",
    ),
    "undeclared_outcome": ('outcomes = ["goal_reached"]', 'outcomes = ["goal_reachd"]'),
}
WHERE = {
    "unknown_destination": "transitions[oops].to",
    "unreachable_stage": "stages[lost]",
    "no_way_out": "stages[stuck]",
    "duplicate_trigger": "transitions[finish].from",
    "missing_label": "stages[start].da",
    "unknown_question_kind": "stages[start].questions[who].kind",
    "deadline_without_unit": "stages[start].deadline.unit",
    "undeclared_outcome": "transitions[finish].outcomes",
}


@pytest.mark.parametrize("check", sorted(BROKEN))
def test_lint_catches_each_mistake_and_names_where(tmp_path: Path, check: str) -> None:
    old, new = BROKEN[check]
    text = TINY.replace(old, new, 1) if old else TINY + new
    assert text != TINY
    problems = [p for p in lint(_file(tmp_path, text)) if p.severity == "error"]
    assert [p.code for p in problems] == [check], [str(p) for p in problems]
    assert problems[0].where == WHERE[check]
    assert problems[0].file == str(tmp_path / "tiny.v1.toml")


def test_lint_of_a_python_definition_finds_the_same_mistakes() -> None:
    bad = WorkflowDefinition(
        name="tiny",
        version=1,
        labels=Label(da="Lille", en="Tiny"),
        initial="start",
        stages=(
            Stage(
                key="start",
                labels=Label(da="Start", en=""),
                questions=(
                    Question(key="who", labels=Label(da="Hvem?", en="Who?"), kind="essay", required=True),
                ),
            ),
            Stage(key="done", labels=Label(da="Slut", en="End"), kind="final"),
        ),
        transitions=(
            Transition(
                trigger="finish", source=("start",), dest="dnoe", labels=Label(da="Afslut", en="Finish")
            ),
        ),
        referral_sources=(),
    )
    codes = sorted(p.code for p in lint(bad) if p.severity == "error")
    # The broken move still counts as a way out of "start"; "done" is unreachable without it.
    assert codes == ["missing_label", "unknown_destination", "unknown_question_kind", "unreachable_stage"]
    with pytest.raises(DefinitionError, match="unknown kind 'essay'"):
        compile_workflow(bad)


def test_a_broken_file_is_one_error_naming_the_file_every_key_and_what_was_expected(tmp_path: Path) -> None:
    text = (
        TINY.replace('kind = "text", required = true', 'kind = "essay", required = true')
        .replace(', unit = "working_days" }', " }")
        .replace('initial = "start"', 'initial = "start"\nchallange = "typo"')
    )
    path = _file(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    error = caught.value
    assert sorted(p.code for p in problems_of(error)) == [
        "deadline_without_unit",
        "unknown_key",
        "unknown_question_kind",
    ]
    message = str(error)
    assert str(path) in message
    assert (
        "stages[start].questions[who].kind: expected one of text, choice, date, yes_no, partner, number"
        in message
    )
    assert "stages[start].deadline.unit: missing: expected a unit" in message
    assert "challange: unknown key in a definition" in message


def test_a_file_that_is_not_toml_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition(_file(tmp_path, 'name = "tiny\n'))
    assert [p.code for p in problems_of(caught.value)] == ["not_toml"]


def test_a_folder_loads_every_file_or_names_every_broken_one(tmp_path: Path) -> None:
    _file(tmp_path, TINY)
    _file(tmp_path, TINY.replace("version = 1", "version = 2"), "tiny.v2.toml")
    assert [(d.name, d.version) for d in load_folder(tmp_path)] == [("tiny", 1), ("tiny", 2)]
    broken = TINY.replace("version = 1", "version = 3") + EXTRA_MOVE.format(
        trigger="oops", src="start", dest="dnoe"
    )
    _file(tmp_path, broken, "tiny.v3.toml")
    _file(tmp_path, TINY, "copy.toml")  # tiny version 1 again
    with pytest.raises(DefinitionError) as caught:
        load_folder(tmp_path)
    assert sorted(p.code for p in problems_of(caught.value)) == ["duplicate_version", "unknown_destination"]


def test_a_guard_is_named_not_imported(tmp_path: Path) -> None:
    text = TINY.replace('outcomes = ["goal_reached"]', 'outcomes = ["goal_reached"]\nguards = ["os.system"]')
    assert _codes(tmp_path, text) == ["unknown_guard"]


# -- migration lint and diff ----------------------------------------------------------


def test_a_migration_map_to_an_unknown_stage_is_refused() -> None:
    old = INDIVIDUAL_COURSE
    new = {d.name: d for d in faithful()}["individual_course"]
    assert lint_migration(old, new) == []  # every version-1 stage exists in version 2
    problems = lint_migration(old, new, {"action": "handlnig"})
    assert [(p.code, p.where) for p in problems] == [("unknown_stage", "map[action]")]
    civil_new = {d.name: d for d in faithful()}["civil_society"]
    stranded = lint_migration(CIVIL_SOCIETY, civil_new)
    assert [(p.code, p.where) for p in stranded] == [("stranded_stage", "stages[handed_over]")]
    assert (
        migration_map(CIVIL_SOCIETY, civil_new, {"handed_over": "referred_on"})["handed_over"]
        == "referred_on"
    )
    with pytest.raises(DefinitionError):
        migration_map(CIVIL_SOCIETY, civil_new)


def test_diff_names_what_version_2_adds_removes_and_changes() -> None:
    new = {d.name: d for d in faithful()}
    changes = {(c.change, c.where) for c in diff(CIVIL_SOCIETY, new["civil_society"])}
    assert ("added", "stages[first_contact].questions[who_is_secretariat]") in changes
    assert ("added", "stages[first_contact].questions[what_brings_us]") in changes
    assert ("removed", "transitions[begin_anew]") in changes
    assert ("removed", "stages[handed_over]") in changes
    assert ("added", "transitions[refer_on]") in changes
    assert ("changed", "transitions[withdraw]") in changes  # now ends with the outcome "afbrudt"
    assert diff(new["civil_society"], new["civil_society"]) == []
    text = "\n".join(str(c) for c in diff(INDIVIDUAL_COURSE, new["individual_course"]))
    assert "~ transition transitions[hand_over]: label 'Overlever til anden aktør" in text


def test_the_example_in_the_docs_is_a_clean_definition(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")
    # The definition file's example (the page also shows a configuration excerpt).
    (example,) = [b for b in re.findall(r"```toml\n(.*?)```", docs, re.S) if "[[stages]]" in b]
    path = _file(tmp_path, example, "lektiecafe.v1.toml")
    assert lint(path) == []
    definition = load_definition(path)
    assert definition.stage("start").required_keys == ("who_are_you",)
    compile_workflow(definition)


def test_the_schema_is_also_a_json_schema_for_editors() -> None:
    schema = json_schema()
    assert json.loads(json.dumps(schema)) == schema
    assert {"name", "version", "initial", "stages", "transitions"} <= set(schema["required"])
    stage = schema["properties"]["stages"]["items"]
    question = stage["properties"]["questions"]["items"]
    assert question["properties"]["kind"]["enum"] == ["text", "choice", "date", "yes_no", "partner", "number"]
    assert stage["properties"]["deadline"]["required"] == ["amount", "unit"]
