"""Version 2 of the methods in the engine (issue 10, phase 2): registration, declared keys and
kinds, outcomes, the short referral course, activities' fields, self-help as progress, a
group's fields, migrating running engagements, closing days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import FIRST_CONTACT, PLAN, READER, ROUNDING_OFF, FakeClock, counts, drive, start
from sqlalchemy import func, select

from forloeb import (
    Actor,
    DefinitionError,
    Engine,
    GuardFailed,
    InvalidData,
    PermissionDenied,
    TransitionNotAllowed,
    UndeclaredKey,
    UnknownTrigger,
    WorkingDayCalendar,
    load_settings,
)
from forloeb.engine import Deadline, settings_from_mapping
from forloeb.persistence import EngagementFilter
from forloeb.persistence._tables import engagements
from forloeb.workflows import VERSION_1, problems_of

CPH = ZoneInfo("Europe/Copenhagen")

# A small method of a secretariat's own (docs/methods.md, "The format"), with a yes/no question.
LEKTIECAFE = """
name = "lektiecafe"
version = 1
da = "Lektiecafé"
en = "Homework café"
initial = "start"

[[stages]]
key = "start"
da = "Første møde"
en = "First meeting"
deadline = { amount = 10, unit = "working_days" }
questions = [
    { key = "who_are_you", kind = "text", required = true, da = "Hvem er I?", en = "Who are you?" },
    { key = "participants", kind = "number", da = "Antal deltagere", en = "Number of participants" },
    { key = "has_room", kind = "yes_no", da = "Har I et lokale?", en = "Do you have a room?" },
]

[[stages]]
key = "closed"
da = "Afsluttet"
en = "Closed"
kind = "final"

[[transitions]]
trigger = "close"
from = "start"
to = "closed"
da = "Afslut"
en = "Close"
outcomes = ["goal_reached"]

[[outcomes]]
key = "goal_reached"
da = "Mål nået"
en = "Goal reached"

[[referral_sources]]
key = "beboere"
da = "Beboere"
en = "Residents"
"""


@pytest.fixture
def supervisor_worker() -> Actor:
    return Actor("leder", ["supervisor", "worker"])


def _outcomes(engine: Engine, engagement_id: int) -> list[str]:
    return [e.data["outcome"] for e in engine.history(engagement_id, actor=READER) if "outcome" in e.data]


# -- registration ----------------------------------------------------------------------


def test_new_engagements_start_on_version_2_and_running_ones_keep_theirs(db_url: str, worker: Actor) -> None:
    with Engine.open(db_url, migrate=True, workflows=VERSION_1) as old:
        running = drive(old, worker, "shared_path")
    with Engine.open(db_url) as engine:
        assert engine.methods.versions("individual_course") == (1, 2)
        assert engine.get(running.id, actor=READER).workflow_version == 1
        # Version 1 asks nothing of the first contact, and keeps working for it.
        on_v1 = engine.fire(running.id, "set_own_path", actor=worker, data=PLAN)
        assert (on_v1.state, on_v1.workflow_version) == ("own_path", 1)
        new = start(engine, worker, subject="sag-2")
        assert new.workflow_version == 2


def _write_method(folder: Path, text: str = LEKTIECAFE, name: str = "lektiecafe.v1.toml") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_secretariats_own_folder_is_loaded_beside_the_shipped_methods(
    tmp_path: Path, worker: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _write_method(tmp_path / "metoder")
    monkeypatch.setenv("FORLOEB_WORKFLOWS", str(folder))
    with Engine.open(f"sqlite:///{tmp_path / 'f.db'}", migrate=True) as engine:
        assert {"individual_course", "civil_society", "lektiecafe"} <= set(engine.workflow_names)
        e = engine.start(
            "lektiecafe",
            subject="lektiecafe-1",
            source="beboere",
            actor=worker,
            data={"who_are_you": "Mødre i Vollsmose Øst", "participants": "12", "has_room": "ja"},
        )
        assert e.data["start"] == {
            "who_are_you": "Mødre i Vollsmose Øst",
            "participants": 12,
            "has_room": True,
            "source": "beboere",
        }
        closed = engine.fire(e.id, "close", actor=worker)
        assert closed.state == "closed" and _outcomes(engine, e.id) == ["goal_reached"]


def test_the_configured_folder_is_relative_to_the_configuration(tmp_path: Path) -> None:
    _write_method(tmp_path / "metoder")
    config = tmp_path / "forloeb.toml"
    config.write_text('[workflows]\nfolder = "metoder"\n', encoding="utf-8")
    settings = load_settings(config)
    assert settings.workflows_folder == str(tmp_path / "metoder")
    with Engine.open(f"sqlite:///{tmp_path / 'c.db'}", migrate=True, **settings.engine_options()) as engine:
        assert "lektiecafe" in engine.workflow_names


def test_a_broken_file_in_the_folder_is_one_clear_error_at_start(tmp_path: Path) -> None:
    broken = LEKTIECAFE.replace('kind = "number"', 'kind = "tal"').replace('to = "closed"', 'to = "lukket"')
    folder = _write_method(tmp_path / "metoder", broken)
    with pytest.raises(DefinitionError) as info:
        Engine.open(f"sqlite:///{tmp_path / 'b.db'}", migrate=True, workflows_folder=folder)
    codes = {p.code for p in problems_of(info.value)}
    assert {"unknown_destination"} <= codes and len(problems_of(info.value)) >= 2
    assert "lektiecafe.v1.toml" in str(info.value)


def test_a_file_may_not_replace_a_shipped_version(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[1] / "forloeb/workflows/definitions/civil_society.v2.toml").read_text()
    folder = _write_method(tmp_path / "metoder", shipped, "civil_society.v2.toml")
    with pytest.raises(DefinitionError) as info:
        Engine.open(f"sqlite:///{tmp_path / 'd.db'}", migrate=True, workflows_folder=folder)
    assert "civil_society version 2 ships with forloeb" in str(info.value)


def test_the_receivers_register_includes_the_methods_partners(engine: Engine) -> None:
    assert {"jobcenter", "ssp", "politi", "daginstitution"} <= set(engine.receivers)
    assert engine.receivers["ssp"].da == "SSP"


# -- declared keys and kinds -------------------------------------------------------------


def test_a_misspelt_key_is_refused_with_the_questions_of_the_stage(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "first_contact")
    before = counts(engine)
    with pytest.raises(UndeclaredKey) as info:
        engine.fire(e.id, "agree_shared_path", actor=worker, data={**FIRST_CONTACT, "challange": "Gæld"})
    err = info.value
    assert isinstance(err, GuardFailed)
    assert (err.code, err.key, err.keys) == ("undeclared_key", "challange", ("challange",))
    assert err.declared[:3] == ("date", "who_is_secretariat", "what_brings_us")
    da = err.message("da")
    assert "»Gå til den fælles vej« tager ikke imod »challange«" in da
    assert "Hvad udfordrer dig? (challenges)" in da and "Mente du »challenges«?" in da
    assert "Did you mean 'challenges'?" in str(err)
    assert counts(engine) == before


def test_start_record_details_and_moves_that_record_nothing_check_their_keys(
    engine: Engine, worker: Actor
) -> None:
    with pytest.raises(UndeclaredKey):
        start(engine, worker, data={"cpr": "010190-1234"})
    e = drive(engine, worker, "action")
    with pytest.raises(UndeclaredKey) as info:
        engine.record_details(e.id, {"status": "i gang"}, actor=worker)
    assert "Her spørges ikke om noget" in info.value.message("da")
    with pytest.raises(UndeclaredKey):
        engine.fire(e.id, "pause", actor=worker, data={"reason": "Ferie", "focus": "x"})
    paused = engine.fire(e.id, "pause", actor=worker, data={"reason": "Ferie"})
    assert paused.state == "paused"


def test_answers_are_checked_by_their_kind(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "first_contact")
    with pytest.raises(GuardFailed) as info:
        engine.record_details(e.id, {"date": "24/12"}, actor=worker)
    assert info.value.invalid == (("date", "24/12", ("date",)),)
    assert "en dato som 2026-12-24" in info.value.message("da")
    e = engine.record_details(e.id, {"date": " 2026-12-23 "}, actor=worker)
    assert e.data["first_contact"]["date"] == "2026-12-23"
    civil = start(engine, worker, "civil_society", subject="gruppe-1", data={"participants": "1,5"})
    assert civil.data["_fields"] == {"participants": 1.5}
    with pytest.raises(GuardFailed) as bad:
        engine.progress.update_fields(civil.id, {"volunteers": "mange"}, actor=worker)
    assert bad.value.invalid[0][:2] == ("volunteers", "mange")
    with pytest.raises(GuardFailed) as partner:
        engine.progress.update_fields(civil.id, {"partners": ["skole", "naboen"]}, actor=worker)
    assert partner.value.invalid[0][:2] == ("partners", "naboen")
    assert "skole" in partner.value.invalid[0][2]


def test_required_questions_must_be_answered_to_leave_the_stage(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "first_contact")
    with pytest.raises(GuardFailed) as info:
        engine.fire(e.id, "agree_shared_path", actor=worker, data={"what_brings_us": "Naboskab"})
    assert info.value.missing == ("who_are_you",)
    # Answers recorded earlier count; a flexible or recording-free move needs none.
    engine.record_details(e.id, {"who_are_you": "Ny i opgangen"}, actor=worker)
    assert engine.fire(e.id, "agree_shared_path", actor=worker, data={"what_brings_us": "x"}).state == (
        "shared_path"
    )


def test_fire_data_still_records_answers(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "shared_path")
    assert e.data["first_contact"] == FIRST_CONTACT
    assert engine.history(e.id, actor=READER)[-1].data["data"] == FIRST_CONTACT


# -- outcomes ----------------------------------------------------------------------------


def test_closing_names_one_of_the_methods_results(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    with pytest.raises(GuardFailed) as missing:
        engine.fire(e.id, "close", actor=worker, data=ROUNDING_OFF)
    assert missing.value.missing == ("outcome",)
    with pytest.raises(GuardFailed) as invalid:
        engine.fire(e.id, "close", actor=worker, data={**ROUNDING_OFF, "outcome": "Mål nået"})
    assert invalid.value.invalid[0][:2] == ("outcome", "Mål nået")
    assert "Mål nået (goal_reached)" in invalid.value.message("da")
    data = {**ROUNDING_OFF, "outcome": "partly_reached", "outcome_text": "Job, men ingen bolig"}
    closed = engine.fire(e.id, "close", actor=worker, data=data)
    event = engine.history(e.id, actor=READER)[-1]
    assert (closed.state, event.data["outcome"]) == ("closed", "partly_reached")
    assert event.data["data"]["outcome_text"] == "Job, men ingen bolig"


def test_withdraw_is_broken_off_with_a_reason_or_moved(engine: Engine, worker: Actor) -> None:
    a = drive(engine, worker, "shared_path", subject="sag-a")
    with pytest.raises(GuardFailed) as info:
        engine.fire(a.id, "withdraw", actor=worker)
    assert info.value.missing == ("reason",)
    engine.fire(a.id, "withdraw", actor=worker, data={"reason": "Ønsker ikke mere hjælp"})
    b = drive(engine, worker, "action", subject="sag-b")
    engine.fire(b.id, "withdraw", actor=worker, data={"outcome": "moved", "reason": "Flyttet til Aarhus"})
    assert _outcomes(engine, a.id) == ["broken_off"] and _outcomes(engine, b.id) == ["moved"]


def test_the_short_referral_course_is_counted_as_referred_on(engine: Engine, worker: Actor) -> None:
    """Referral → first contact → "henvist videre" to a named actor, not broken off."""
    results: Counter[str] = Counter()
    e = drive(engine, worker, "first_contact")
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.fire(e.id, "refer_on", actor=worker, data={"referred_to": "naboen", "reason": "x"})
    assert info.value.invalid[0][:2] == ("referred_to", "naboen")
    assert counts(engine) == before
    referred = engine.fire(
        e.id,
        "refer_on",
        actor=worker,
        data={"referred_to": "jobcenter", "reason": "Spørgsmål om kontanthjælp hører til jobcentret"},
    )
    assert referred.state == "referred_on"
    # Henvisning: nothing was shared, so no consent was asked for, and the
    # answers stay on the event, not in the engagement's records.
    assert engine.consents(e.id, actor=READER) == []
    assert "referred_to" not in referred.data.get("first_contact", {})
    other = drive(engine, worker, "shared_path", subject="sag-2")
    engine.fire(other.id, "withdraw", actor=worker, data={"reason": "Ville ikke"})
    for engagement_id in (e.id, other.id):
        results.update(_outcomes(engine, engagement_id))
    assert results == Counter({"referred_on": 1, "broken_off": 1})


def _row_outcomes(engine: Engine) -> dict[int, str | None]:
    """The ``outcome`` column of every engagement, as the store has it."""
    with engine.store.read() as tx:
        return {row["id"]: row["outcome"] for row in tx.list_engagements(EngagementFilter())}


def test_the_result_is_on_the_row_countable_and_cleared_by_a_reopen(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    ids = {
        "referred": drive(engine, worker, "first_contact", subject="sag-1").id,
        "closed": drive(engine, worker, "closed", subject="sag-2").id,
        "withdrawn": drive(engine, worker, "action", subject="sag-3").id,
        "running": drive(engine, worker, "action", subject="sag-4").id,
    }
    engine.fire(ids["referred"], "refer_on", actor=worker, data={"referred_to": "uu", "reason": "Uddannelse"})
    engine.fire(ids["withdrawn"], "withdraw", actor=worker, data={"reason": "Ville ikke mere"})
    rows = _row_outcomes(engine)
    assert [rows[ids[k]] for k in ("referred", "closed", "withdrawn", "running")] == [
        "referred_on",
        "goal_reached",
        "broken_off",
        None,
    ]
    with engine.store.sa_engine.connect() as conn:
        counted = dict(
            conn.execute(
                select(engagements.c.outcome, func.count())
                .where(engagements.c.workflow == "individual_course", engagements.c.outcome.is_not(None))
                .group_by(engagements.c.outcome)
            ).all()
        )
    assert counted == {"referred_on": 1, "goal_reached": 1, "broken_off": 1}
    engine.fire(ids["referred"], "reopen", actor=supervisor, data={"reason": "Jobcentret sendte ham tilbage"})
    assert _row_outcomes(engine)[ids["referred"]] is None
    assert engine.get(ids["referred"], actor=READER).state == "first_contact"


def test_civil_society_refers_on_and_never_hands_over(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off", "civil_society")
    assert not {"hand_over", "begin_anew"} & set(engine.workflow("civil_society").triggers)
    with pytest.raises(UnknownTrigger):
        engine.fire(e.id, "begin_anew", actor=worker, data=ROUNDING_OFF)
    done = engine.fire(e.id, "refer_on", actor=worker, data={"referred_to": "forening", "reason": "Lokaler"})
    assert done.state == "referred_on"


# -- activities, self-help, fields ----------------------------------------------------------


def test_activities_carry_the_methods_fields(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "action")
    with pytest.raises(GuardFailed) as info:
        engine.record_activity(e.id, "collaborate", actor=worker, description="Møde")
    assert info.value.missing == ("with_whom",)
    with pytest.raises(GuardFailed):
        engine.record_activity(e.id, "agreement", actor=worker, data={"what": "Ringe", "who": "i"})
    engine.record_activity(e.id, "collaborate", actor=worker, data={"with_whom": ["ssp", "skole"]})
    e = engine.record_activity(
        e.id, "agreement", actor=worker, data={"what": "Ringe til UU", "who": "du", "by_when": "2026-04-01"}
    )
    collaborate, agreement = e.data["action"]["activities"]
    assert collaborate["with_whom"] == ["ssp", "skole"]
    assert (agreement["who"], agreement["by_when"]) == ("du", "2026-04-01")
    civil = drive(engine, worker, "action", "civil_society", subject="gruppe-1")
    civil = engine.record_activity(civil.id, "agreement", actor=worker, data={"what": "Opslag", "who": "i"})
    assert civil.data["action"]["activities"][0]["who"] == "i"


def test_self_help_is_progress_recorded_any_number_of_times(
    engine: Engine, worker: Actor, clock: FakeClock
) -> None:
    e = drive(engine, worker, "shared_path")
    with pytest.raises(TransitionNotAllowed):
        engine.progress.record_self_help(e.id, "wants", actor=worker)
    e = drive(engine, worker, "action", subject="sag-2")
    with pytest.raises(GuardFailed) as info:
        engine.progress.record_self_help(e.id, "maybe", actor=worker)
    assert info.value.invalid == (("level", "maybe", ("wants", "can", "does")),)
    for level in ("wants", "can"):
        e = engine.progress.record_self_help(e.id, level, actor=worker)
    e = engine.fire(e.id, "reach_self_help", actor=worker)
    e = engine.progress.record_self_help(e.id, "does", actor=worker)
    history = engine.history(e.id, actor=READER)
    assert [(ev.data["level"], ev.to_state) for ev in history if ev.type == "self_help"] == [
        ("wants", "action"),
        ("can", "action"),
        ("does", "self_help"),
    ]
    assert e.data["self_help"] == {"level": "does"}  # the latest
    assert [(stage, level) for _, stage, level in engine.progress.self_help_history(e.id, actor=READER)] == [
        ("action", "wants"),
        ("action", "can"),
        ("self_help", "does"),
    ]
    assert engine.fire(e.id, "round_off", actor=worker).state == "rounding_off"


def test_rounding_off_needs_a_recorded_level(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "action")
    e = engine.fire(e.id, "reach_self_help", actor=worker)
    with pytest.raises(GuardFailed) as info:
        engine.fire(e.id, "round_off", actor=worker)
    assert info.value.missing == ("level",)


def test_self_help_in_the_action_stage_counts_as_a_review(clocked_engine: Engine, clock: FakeClock) -> None:
    anna = Actor("anna", ["worker"])
    e = drive(clocked_engine, anna, "action")
    clock.advance(days=20)
    e = clocked_engine.progress.record_self_help(e.id, "can", actor=anna)
    assert e.stage_due_at == clocked_engine.calendar.due(clock.now, Deadline(amount=30, unit="days"))


def test_a_groups_fields_are_updated_as_events(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker, "civil_society", data={"contact_person": "Amina", "reason": "Lektiecafé"})
    assert e.data["_fields"] == {"contact_person": "Amina"}
    assert e.data["referral"] == {"reason": "Lektiecafé", "source": "foreninger"}
    e = engine.progress.update_fields(e.id, {"participants": 14, "volunteers": "3"}, actor=worker)
    e = engine.progress.update_fields(
        e.id, {"contact_person": "Fatima", "partners": ["forening"]}, actor=worker
    )
    assert e.data["_fields"] == {
        "contact_person": "Fatima",
        "participants": 14,
        "volunteers": 3,
        "partners": ["forening"],
    }
    assert [ev.type for ev in engine.history(e.id, actor=READER)][-2:] == ["fields", "fields"]
    with pytest.raises(UndeclaredKey):
        engine.progress.update_fields(e.id, {"tovholder": "Yusuf"}, actor=worker)
    individual = start(engine, worker, subject="sag-2")
    with pytest.raises(TransitionNotAllowed):
        engine.progress.update_fields(individual.id, {"participants": 1}, actor=worker)


# -- migration ----------------------------------------------------------------------------------

STAGES_V1 = ("referral", "first_contact", "shared_path", "own_path", "action", "self_help", "paused")


def _running_on_version_1(db_url: str, worker: Actor, n: int) -> dict[int, str]:
    """``n`` engagements on version 1 in every stage (paused too), and a few closed."""
    made: dict[int, str] = {}
    with Engine.open(db_url, migrate=True, workflows=VERSION_1) as old:
        for i in range(n):
            workflow = ("individual_course", "civil_society")[i % 2]
            stage = STAGES_V1[i % len(STAGES_V1)] if i % 25 else "closed"
            e = drive(old, worker, stage, workflow, subject=f"sag-{i}")
            made[e.id] = workflow
    return made


def test_migrating_200_running_engagements_from_version_1_to_2(
    db_url: str, worker: Actor, supervisor: Actor
) -> None:
    made = _running_on_version_1(db_url, worker, 200)
    with Engine.open(db_url) as engine:
        before = counts(engine)
        preview = engine.methods.migrate("individual_course", 1, 2, actor=supervisor, dry_run=True)
        assert counts(engine) == before  # a dry run writes nothing
        individual = [i for i, w in made.items() if w == "individual_course"]
        assert preview.moved + preview.final == len(individual)
        assert preview.final == 4 and preview.dry_run
        assert all(a == b for a, b in preview.moves)  # every version-1 stage is in version 2
        reports = [
            engine.methods.migrate(name, 1, 2, actor=supervisor, batch=37)
            for name in ("individual_course", "civil_society")
        ]
        assert sum(r.moved for r in reports) == 192 and sum(r.final for r in reports) == 8
        assert reports[0].moves == preview.moves
        report = engine.audit.verify(supervisor)
        assert report.ok, report.breaks
        for engagement_id in made:
            e = engine.get(engagement_id, actor=READER)
            history = engine.history(engagement_id, actor=READER)
            migrations = [ev for ev in history if ev.type == "migration"]
            if e.state == "closed":
                assert (e.workflow_version, migrations) == (1, [])
                continue
            assert e.workflow_version == 2
            (event,) = migrations
            assert (event.actor, event.role) == ("leder", "supervisor")
            assert event.data["from_version"] == 1 and event.data["to_version"] == 2
            assert event.data["from_state"] == event.data["to_state"] == e.state
            assert engine.replay(engagement_id) == {
                "state": e.state,
                "cycle": e.cycle,
                "paused_from": e.paused_from,
                "closed_from": e.closed_from,
            }
        # A second run finds nothing left on version 1 but the closed ones.
        again = engine.methods.migrate("individual_course", 1, 2, actor=supervisor)
        assert (again.moved, again.final) == (0, 4)


def test_a_migrated_engagement_goes_on_under_version_2(db_url: str, worker: Actor, supervisor: Actor) -> None:
    with Engine.open(db_url, migrate=True, workflows=VERSION_1) as old:
        e = drive(old, worker, "first_contact")
    with Engine.open(db_url) as engine:
        engine.methods.migrate("individual_course", 1, 2, actor=supervisor)
        with pytest.raises(GuardFailed) as info:
            engine.fire(e.id, "agree_shared_path", actor=worker)
        assert set(info.value.missing) == {"what_brings_us", "who_are_you"}
        moved = engine.fire(e.id, "agree_shared_path", actor=worker, data=FIRST_CONTACT)
        assert (moved.state, moved.workflow_version) == ("shared_path", 2)


def test_a_migration_that_would_strand_an_engagement_is_refused(
    db_url: str, worker: Actor, supervisor: Actor
) -> None:
    with Engine.open(db_url, migrate=True, workflows=VERSION_1) as old:
        e = drive(old, worker, "paused")
    with Engine.open(db_url) as engine:
        before = counts(engine)
        bad: list[dict[str, str]] = [
            {"action": "nowhere"},  # a stage version 2 lacks
            {"nowhere": "action"},  # a stage version 1 lacks
            {"action": "closed"},  # an active stage to a final one
        ]
        for mapping in bad:
            with pytest.raises(InvalidData):
                engine.methods.migrate("individual_course", 1, 2, mapping, actor=supervisor)
        with pytest.raises(PermissionDenied):
            engine.methods.migrate("individual_course", 1, 2, actor=worker)
        with pytest.raises(InvalidData):
            engine.methods.migrate("individual_course", 2, 2, actor=supervisor)
        assert counts(engine) == before
        # A map moves the engagement's stage, where it was paused from, and its records.
        done = engine.methods.migrate("individual_course", 1, 2, {"action": "own_path"}, actor=supervisor)
        assert done.moves == {("paused", "paused"): 1}
        moved = engine.get(e.id, actor=READER)
        assert (moved.state, moved.paused_from) == ("paused", "own_path")
        assert engine.replay(e.id)["paused_from"] == "own_path"
        assert engine.fire(e.id, "resume", actor=worker).state == "own_path"


# -- closing days --------------------------------------------------------------------------------


def test_a_deadline_that_would_fall_on_christmas_eve_moves_to_the_next_working_day() -> None:
    start_at = datetime(2026, 12, 23, 10, 0, tzinfo=CPH)  # a Wednesday
    due = WorkingDayCalendar().due(start_at, Deadline(amount=1))
    # 24 December closed, 25-26 holidays, 27 a Sunday.
    assert due.astimezone(CPH) == datetime(2026, 12, 28, 10, 0, tzinfo=CPH)
    assert WorkingDayCalendar(closing_days=()).due(start_at, Deadline(amount=1)).astimezone(CPH).day == 24


def test_the_default_closing_days_are_the_optional_categorys_three() -> None:
    cal = WorkingDayCalendar()
    closed = [
        d for d in (date(2026, 12, 24), date(2026, 12, 31), date(2026, 6, 5)) if not cal.is_working_day(d)
    ]
    assert len(closed) == 3
    assert cal.is_working_day(date(2026, 5, 1))  # 1 May: in the category, open by default
    assert not WorkingDayCalendar(closing_days=["optional"]).is_working_day(date(2026, 5, 1))


def test_closing_days_are_configured_in_the_toml_configuration(db_url: str, worker: Actor) -> None:
    settings = settings_from_mapping(
        {
            "calendar": {
                "closing_days": ["juleaften", "1. maj"],
                "extra_closed": ["2026-12-23", date(2026, 3, 3)],
            }
        }
    )
    cal = settings.engine_options()["calendar"]
    assert isinstance(cal, WorkingDayCalendar)
    assert [cal.is_working_day(d) for d in (date(2026, 5, 1), date(2026, 6, 5), date(2026, 12, 23))] == [
        False,
        True,
        False,
    ]
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # Monday; Tuesday 3 March closed
    with Engine.open(db_url, migrate=True, clock=clock, **settings.engine_options()) as engine:
        e = start(engine, worker)
        assert e.stage_due_at == cal.due(clock.now, Deadline(amount=10))
        assert e.stage_due_at == datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    bad: list[dict[str, Any]] = [
        {"calendar": {"closing_days": ["påskelørdag"]}},
        {"calendar": {"extra_closed": ["23/12"]}},
        {"calendar": {"closed": []}},
        {"workflows": {"folder": ""}},
    ]
    for mapping in bad:
        with pytest.raises(InvalidData):
            settings_from_mapping(mapping)


@pytest.fixture
def v1_engine(db_url: str) -> Iterator[Engine]:
    with Engine.open(db_url, migrate=True, workflows=VERSION_1) as eng:
        yield eng


def test_version_1_keeps_its_free_keys_and_free_outcome(v1_engine: Engine, worker: Actor) -> None:
    e = drive(v1_engine, worker, "rounding_off")
    closed = v1_engine.fire(e.id, "close", actor=worker, data={"outcome": "Mål nået", "misc": 1})
    assert closed.data["rounding_off"]["misc"] == 1
    assert "outcome" not in v1_engine.history(e.id, actor=READER)[-1].data  # no category: version 1 has none
