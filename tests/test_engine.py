"""The Engine facade: queries, subscribers, logging, idempotency."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from helpers import PLAN, READER, ROUNDING_OFF, TEST_STAFF, FakeClock, capture_logs, counts, drive, start

import forloeb
from forloeb import Actor, Engagement, Engine, Event, GuardFailed, configure_logging


def test_public_api_is_reexported() -> None:
    for name in forloeb.__all__:
        assert hasattr(forloeb, name), name
    assert forloeb.Engine is Engine


def test_start_returns_the_committed_engagement(engine: Engine, worker: Actor) -> None:
    e = engine.start(
        "civil_society",
        subject="forening-7",
        source="foreninger",
        actor=worker,
        assignee="anna",
        supervisor="leder",
        team="Civilsamfund og lokalt engagement",
        tags=["kriminalitetsforebyggelse", "kriminalitetsforebyggelse", "beskæftigelse"],
        data={"referred_by": "Formanden", "reason": "Lokaler"},
    )
    assert e == engine.get(e.id, actor=READER)
    assert (e.workflow, e.state, e.cycle, e.version) == ("civil_society", "referral", 1, 1)
    assert e.tags == ("kriminalitetsforebyggelse", "beskæftigelse")
    assert e.data == {"referral": {"source": "foreninger", "referred_by": "Formanden", "reason": "Lokaler"}}
    assert (e.assignee, e.supervisor, e.team) == ("anna", "leder", "Civilsamfund og lokalt engagement")
    assert e.created_at.tzinfo is not None
    (event,) = engine.history(e.id, actor=READER)
    assert (event.type, event.seq, event.trigger, event.from_state, event.to_state) == (
        "started",
        1,
        "start",
        None,
        "referral",
    )
    assert (event.actor, event.role) == ("anna", "worker")
    assert e.head_hash == event.hash
    assert counts(engine) == {
        "engagements": 1,
        "engagement_tags": 2,
        "events": 1,
        "idempotency_keys": 0,
        "reminders": 0,
        "outbox": 0,
        "outbox_attempts": 0,
        "staff": len(TEST_STAFF),
        # The database records whether its chains are keyed (issue 12, M7).
        "settings": 1,
        "api_tokens": 0,  # the HTTP API's tokens (issue 14)
        "staff_passwords": 0,  # the web console's passwords and sessions (issue 15)
        "web_sessions": 0,
    }


def test_version_follows_the_event_log(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "action")
    e = engine.add_note(e.id, "ringede", actor=worker)
    e = engine.record_activity(e.id, "wonder", actor=worker)
    history = engine.history(e.id, actor=READER)
    assert [ev.seq for ev in history] == list(range(1, len(history) + 1))
    assert e.version == history[-1].seq
    assert e.head_hash == history[-1].hash
    assert [ev.type for ev in history[-2:]] == ["note", "activity"]


def test_list_filters(engine: Engine, worker: Actor) -> None:
    a = start(engine, worker, subject="a", tags=["tryghed og trivsel"], team="Social udvikling")
    b = start(engine, worker, "civil_society", subject="b")
    c = drive(engine, worker, "shared_path", subject="c")
    assert [e.id for e in engine.list(actor=READER)] == [a.id, b.id, c.id]
    assert [e.id for e in engine.list(workflow="civil_society", actor=READER)] == [b.id]
    assert [e.id for e in engine.list(state="shared_path", actor=READER)] == [c.id]
    assert [e.id for e in engine.list(tag="tryghed og trivsel", actor=READER)] == [a.id]
    assert [e.id for e in engine.list(team="Social udvikling", actor=READER)] == [a.id]
    assert [e.id for e in engine.list(subject="b", actor=READER)] == [b.id]
    assert [e.id for e in engine.list(limit=1, offset=1, actor=READER)] == [b.id]


def test_list_stale_uses_the_clock(clocked_engine: Engine, clock: FakeClock, worker: Actor) -> None:
    e = start(clocked_engine, worker)
    assert clocked_engine.list(stale=True, actor=READER) == []
    clock.advance(days=30)
    assert [x.id for x in clocked_engine.list(stale=True, actor=READER)] == [e.id]


def test_engine_is_a_context_manager(db_url: str, worker: Actor) -> None:
    with Engine.open(db_url, migrate=True) as eng:
        e = start(eng, worker)
    with Engine.open(db_url) as eng:
        assert eng.get(e.id, actor=READER).state == "referral"


# -- subscribers ---------------------------------------------------------------------


def test_subscribers_run_after_commit(engine: Engine, db_url: str, worker: Actor) -> None:
    e = start(engine, worker)
    seen: list[tuple[Engagement, Event, Engagement]] = []

    def callback(engagement: Engagement, event: Event) -> None:
        # A second engine on the same file sees the new version: the
        # transaction is already committed when subscribers run.
        with Engine.open(db_url) as other:
            seen.append((engagement, event, other.get(engagement.id, actor=READER)))

    engine.subscribe(callback)
    fired = engine.fire(e.id, "make_contact", actor=worker)
    ((engagement, event, from_other),) = seen
    assert engagement == fired
    assert (event.type, event.trigger, event.seq, event.to_state) == (
        "transition",
        "make_contact",
        2,
        "first_contact",
    )
    assert from_other.version == fired.version == 2
    assert from_other.state == "first_contact"
    engine.add_note(e.id, "note", actor=worker)
    assert [ev.type for _, ev, _ in seen] == ["transition", "note"]
    assert seen[-1][2].version == 3


def test_a_failing_subscriber_does_not_fail_the_command(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    calls: list[int] = []

    def boom(engagement: Engagement, event: Event) -> None:
        raise RuntimeError("subscriber broke")

    engine.subscribe(boom)
    engine.subscribe(lambda engagement, event: calls.append(event.seq))
    fired = engine.fire(e.id, "make_contact", actor=worker)
    assert fired.state == "first_contact"
    assert engine.get(e.id, actor=READER).version == 2
    assert calls == [2]  # later subscribers still run


def test_unsubscribe(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    calls: list[str] = []
    unsubscribe = engine.subscribe(lambda engagement, event: calls.append(event.type))
    engine.add_note(e.id, "en", actor=worker)
    unsubscribe()
    unsubscribe()  # twice is harmless
    engine.add_note(e.id, "to", actor=worker)
    assert calls == ["note"]


def test_subscribers_filtered_by_event_type(engine: Engine, worker: Actor) -> None:
    calls: list[str] = []
    engine.subscribe(lambda engagement, event: calls.append(event.type), event_types=["transition"])
    e = start(engine, worker)
    engine.add_note(e.id, "x", actor=worker)
    engine.fire(e.id, "make_contact", actor=worker)
    assert calls == ["transition"]


def test_no_callback_for_a_failed_command(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "shared_path")
    calls: list[Event] = []
    engine.subscribe(lambda engagement, event: calls.append(event))
    with pytest.raises(GuardFailed):
        engine.fire(e.id, "set_own_path", actor=worker)
    with pytest.raises(forloeb.TransitionNotAllowed):
        engine.fire(e.id, "close", actor=worker, data={"outcome": "x"})
    with pytest.raises(forloeb.ConcurrencyError):
        engine.add_note(e.id, "x", actor=worker, expected_version=1)
    assert calls == []


# -- logging -------------------------------------------------------------------------


def test_a_fire_logs_one_transition(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "shared_path")
    with capture_logs() as logs:
        fired = engine.fire(e.id, "set_own_path", actor=worker, data=PLAN)
    transitions = [entry for entry in logs if entry["event"] == "transition"]
    assert len(transitions) == 1
    (entry,) = transitions
    assert entry["log_level"] == "info"
    assert {
        k: entry[k]
        for k in ("engagement_id", "workflow", "from_state", "to_state", "trigger", "actor", "version")
    } == {
        "engagement_id": e.id,
        "workflow": "individual_course",
        "from_state": "shared_path",
        "to_state": "own_path",
        "trigger": "set_own_path",
        "actor": "anna",
        "version": fired.version,
    }
    # The log is about the process, not about the resident: no plan text in it.
    assert PLAN["focus"] not in json.dumps(logs, default=str)


def test_a_failed_fire_logs_no_transition(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "shared_path")
    with capture_logs() as logs:
        with pytest.raises(GuardFailed):
            engine.fire(e.id, "set_own_path", actor=worker)
        with pytest.raises(forloeb.PermissionDenied):
            engine.fire(e.id, "pause", actor=Actor("r", ["auditor"]), data={"reason": "x"})
    assert [entry for entry in logs if entry["event"] == "transition"] == []


def test_a_raising_subscriber_is_logged(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)

    def boom(engagement: Engagement, event: Event) -> None:
        raise RuntimeError("subscriber broke")

    engine.subscribe(boom)
    with capture_logs() as logs:
        engine.fire(e.id, "make_contact", actor=worker)
    failures = [entry for entry in logs if entry["event"] == "subscriber_failed"]
    assert len(failures) == 1
    assert failures[0]["engagement_id"] == e.id
    assert failures[0]["log_level"] == "error"


def test_json_logging(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    stream = io.StringIO()
    configure_logging("json", level="info", stream=stream)
    engine.fire(e.id, "make_contact", actor=worker)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    (line,) = [x for x in lines if x["event"] == "transition"]
    assert line["engagement_id"] == e.id
    assert line["trigger"] == "make_contact"
    assert line["level"] == "info"
    assert "timestamp" in line


def test_json_logging_respects_the_level(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    stream = io.StringIO()
    configure_logging("json", level="warning", stream=stream)
    engine.fire(e.id, "make_contact", actor=worker)
    assert stream.getvalue() == ""


def test_configure_logging_refuses_unknown_values() -> None:
    with pytest.raises(ValueError):
        configure_logging("xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        configure_logging("json", level="loud")


# -- idempotency ---------------------------------------------------------------------


def test_start_is_idempotent(engine: Engine, worker: Actor) -> None:
    calls: list[int] = []
    engine.subscribe(lambda engagement, event: calls.append(event.seq))
    first = engine.start(
        "individual_course", subject="sag-1", source="skole", actor=worker, tags=["t"], idempotency_key="k-1"
    )
    after_first = counts(engine)
    assert after_first["idempotency_keys"] == 1
    again = engine.start(
        "individual_course", subject="sag-1", source="skole", actor=worker, tags=["t"], idempotency_key="k-1"
    )
    assert again == first
    assert (again.id, again.version) == (first.id, first.version)
    assert counts(engine) == after_first
    assert calls == [1]  # the retry commits nothing, so nobody is told twice


def test_fire_is_idempotent(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "shared_path")
    first = engine.fire(e.id, "set_own_path", actor=worker, data=PLAN, idempotency_key="fire-1")
    after_first = counts(engine)
    again = engine.fire(e.id, "set_own_path", actor=worker, data=PLAN, idempotency_key="fire-1")
    assert again == first
    assert (again.id, again.version, again.state) == (first.id, first.version, "own_path")
    assert counts(engine) == after_first
    assert engine.get(e.id, actor=READER).version == first.version


def test_note_details_and_activity_are_idempotent(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "action")
    for call in (
        lambda: engine.add_note(e.id, "samtale", actor=worker, idempotency_key="n"),
        # The action stage asks nothing of its own (version 2): its progress is the self-help level.
        lambda: engine.progress.record_self_help(e.id, "can", actor=worker, idempotency_key="d"),
        lambda: engine.record_activity(
            e.id, "agreement", actor=worker, data={"what": "Ringe til UU", "who": "du"}, idempotency_key="a"
        ),
    ):
        first = call()
        after_first = counts(engine)
        assert call() == first
        assert counts(engine) == after_first
    assert engine.get(e.id, actor=READER).version == e.version + 3


def test_replay_matches_the_engagement(engine: Engine, worker: Actor, supervisor: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    e = engine.fire(e.id, "begin_anew", actor=worker, data=ROUNDING_OFF)
    e = engine.fire(e.id, "pause", actor=worker, data={"reason": "ferie"})
    got = engine.replay(e.id)
    assert got == {"state": "paused", "cycle": 2, "paused_from": "shared_path", "closed_from": None}
    e = engine.fire(e.id, "resume", actor=worker)
    e = engine.fire(e.id, "withdraw", actor=worker, data={"reason": "r"})
    assert engine.replay(e.id) == {
        "state": "closed",
        "cycle": 2,
        "paused_from": None,
        "closed_from": "shared_path",
    }
    e = engine.fire(e.id, "reopen", actor=supervisor)
    assert engine.replay(e.id)["state"] == e.state == "shared_path"


def test_times_come_from_the_clock(clocked_engine: Engine, clock: FakeClock, worker: Actor) -> None:
    e = start(clocked_engine, worker)
    assert e.created_at == e.stage_entered_at == clock.now
    clock.advance(hours=3, microseconds=7)
    e = clocked_engine.fire(e.id, "make_contact", actor=worker)
    assert e.updated_at == e.stage_entered_at == clock.now
    assert e.created_at == clock.now - timedelta(hours=3, microseconds=7)
    assert clocked_engine.history(e.id, actor=READER)[-1].occurred_at == clock.now
