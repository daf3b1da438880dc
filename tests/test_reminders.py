"""Stale-stage reminders: the deadline clock, the escalation ladder, the sweep,
acknowledge and snooze (DESIGN invariant 4). Time is a FakeClock; nothing sleeps."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import PLAN, READER, FakeClock, counts, days_after, drive, start
from sqlalchemy import func, select
from test_chain_and_replay import raw_events, verify_chain

from forloeb import (
    Actor,
    Deadline,
    DefinitionError,
    Engine,
    Escalation,
    ForloebError,
    InvalidData,
    PermissionDenied,
    Reminder,
    ReminderNotFound,
)
from forloeb.engine import _reminders
from forloeb.persistence._tables import events, outbox, reminders
from forloeb.workflows import VERSION_1

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the FakeClock's start
# Referral: 5 working days -> Monday 9 March; level 2: 5 more -> Monday 16 March.
REFERRAL_DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LEVEL_2_DUE = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def eng(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    # The ladder's mechanics, on version 1's deadlines (5 working days, the
    # supervisor 5 later): version 2's are gentler and its own (docs/methods.md).
    with Engine.open(db_url, migrate=True, clock=clock, workflows=VERSION_1) as engine:
        yield engine


def begin(eng: Engine, worker: Actor, **kwargs: Any) -> int:
    kwargs.setdefault("assignee", "anna")
    kwargs.setdefault("supervisor", "leder")
    return start(eng, worker, **kwargs).id


def event_types(eng: Engine, engagement_id: int) -> list[str]:
    return [e.type for e in eng.history(engagement_id, actor=READER)]


def assert_log_sound(eng: Engine, engagement_id: int) -> None:
    history = eng.history(engagement_id, actor=READER)
    assert [e.seq for e in history] == list(range(1, len(history) + 1))  # gapless
    assert verify_chain(raw_events(eng, engagement_id), None) == []
    assert eng.get(engagement_id, actor=READER).version == len(history)
    assert eng.get(engagement_id, actor=READER).head_hash == history[-1].hash


# -- the deadline clock ------------------------------------------------------------


def test_a_referral_on_friday_is_due_after_the_weekend(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    clock.set(local(2026, 3, 6, 10, 0))  # Friday
    e = start(eng, worker)
    assert e.stage_due_at == local(2026, 3, 13, 10, 0)  # the next Friday, same local time
    assert eng.sweep(local(2026, 3, 13, 9, 59)) == []
    assert [r.level for r in eng.sweep(local(2026, 3, 13, 10, 0))] == [1]


def test_reminders_across_easter(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    # Friday 27 March 2026: 5 working days are 30, 31 March, 1, 7, 8 April
    # (Maundy Thursday, Good Friday and Easter Monday are holidays).
    clock.set(local(2026, 3, 27, 9, 15))
    engagement_id = begin(eng, worker)
    assert eng.sweep(local(2026, 4, 8, 9, 14)) == []
    (first,) = eng.sweep(local(2026, 4, 8, 9, 15))
    assert (first.level, first.due_at) == (1, local(2026, 4, 8, 9, 15))
    # Level 2 five working days after level 1 was due: 9, 10, 13, 14, 15 April.
    assert eng.get(engagement_id, actor=READER).next_reminder_at == local(2026, 4, 15, 9, 15)
    assert eng.get(engagement_id, actor=READER).stage_due_at == local(
        2026, 4, 8, 9, 15
    )  # the stage's, unmoved
    assert eng.sweep(local(2026, 4, 15, 9, 14)) == []
    (second,) = eng.sweep(local(2026, 4, 15, 9, 15))
    assert (second.level, second.recipient_role, second.recipient) == (2, "supervisor", "leder")


def test_pause_spanning_easter_keeps_the_time_left(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    e = start(eng, worker, assignee="anna")
    e = eng.fire(e.id, "make_contact", actor=worker)  # Monday 2 March: due 16 March
    assert e.stage_due_at == LEVEL_2_DUE
    clock.advance(days=2)
    e = eng.fire(e.id, "pause", actor=worker, data={"reason": "sygdom"})
    assert e.stage_due_at is None and e.next_reminder_at is None
    left = LEVEL_2_DUE - clock.now  # 12 days
    assert eng.sweep(datetime(2026, 4, 1, tzinfo=UTC)) == []  # paused: never due
    clock.set(local(2026, 4, 7, 10, 0))  # back after Easter
    e = eng.fire(e.id, "resume", actor=worker)
    assert e.state == "first_contact"
    # Calendar time: the time left, not a fresh deadline, and the pause never counted.
    assert e.stage_due_at == e.next_reminder_at == clock.now + left
    assert eng.sweep(clock.now + left - timedelta(seconds=1)) == []
    assert [r.level for r in eng.sweep(clock.now + left)] == [1]


def test_pausing_an_overdue_stage_resumes_due_at_once(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    e = start(eng, worker)
    clock.set(REFERRAL_DUE + timedelta(days=1))
    eng.fire(e.id, "pause", actor=worker, data={"reason": "ferie"})
    clock.advance(days=10)
    e = eng.fire(e.id, "resume", actor=worker)
    assert e.stage_due_at == clock.now


def test_reopen_gives_a_fresh_deadline(
    eng: Engine, clock: FakeClock, worker: Actor, supervisor: Actor
) -> None:
    e = eng.fire(start(eng, worker).id, "make_contact", actor=worker)
    clock.advance(days=3)
    eng.fire(e.id, "withdraw", actor=worker, data={"reason": "flyttet"})
    clock.advance(days=40)
    e = eng.fire(e.id, "reopen", actor=supervisor)
    deadline = eng.workflow("individual_course").stage("first_contact").deadline
    assert deadline is not None
    assert e.stage_due_at == eng.calendar.due(clock.now, deadline)


# -- the sweep -----------------------------------------------------------------------


def test_sweep_raises_level_1_then_level_2_each_once(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    engagement_id = begin(eng, worker)
    assert eng.sweep(REFERRAL_DUE - timedelta(seconds=1)) == []
    (first,) = eng.sweep(REFERRAL_DUE)
    assert isinstance(first, Reminder)
    assert (first.level, first.recipient_role, first.recipient) == (1, "assignee", "anna")
    assert (first.stage, first.due_at, first.raised_at) == ("referral", REFERRAL_DUE, REFERRAL_DUE)
    assert eng.sweep(REFERRAL_DUE) == []  # twice: no duplicate
    assert eng.sweep(LEVEL_2_DUE - timedelta(seconds=1)) == []
    (second,) = eng.sweep(LEVEL_2_DUE)
    assert (second.level, second.recipient_role, second.recipient) == (2, "supervisor", "leder")
    assert eng.sweep(LEVEL_2_DUE) == []
    # Beyond the last level: nothing, ever; and the engagement is off the sweep,
    # while its stage keeps its due time (it is still overdue).
    assert eng.sweep(LEVEL_2_DUE + timedelta(days=365)) == []
    assert eng.get(engagement_id, actor=READER).next_reminder_at is None
    assert eng.get(engagement_id, actor=READER).stage_due_at == REFERRAL_DUE
    assert counts(eng)["reminders"] == 2
    assert counts(eng)["outbox"] == 2
    assert event_types(eng, engagement_id) == ["started", "reminder", "reminder"]
    reminder_events = [e for e in eng.history(engagement_id, actor=READER) if e.type == "reminder"]
    assert [(e.data["level"], e.data["recipient"], e.actor) for e in reminder_events] == [
        (1, "anna", "forloeb"),
        (2, "leder", "forloeb"),
    ]
    assert_log_sound(eng, engagement_id)


def test_sweep_uses_the_engine_clock_by_default(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    begin(eng, worker)
    assert eng.sweep() == []
    clock.set(REFERRAL_DUE)
    assert len(eng.sweep()) == 1


def test_the_outbox_message_is_written_with_the_reminder(eng: Engine, worker: Actor) -> None:
    engagement_id = begin(eng, worker)
    (first,) = eng.sweep(REFERRAL_DUE)
    with eng.store.sa_engine.connect() as conn:
        (message,) = [dict(r._mapping) for r in conn.execute(select(outbox))]
    assert message["reminder_id"] == first.id
    assert message["recipient"] == "anna"
    assert message["status"] == "pending" and message["attempts"] == 0
    assert message["next_attempt_at"] == REFERRAL_DUE
    assert len(message["message_id"]) == 36
    assert message["payload"]["message_id"] == message["message_id"]
    assert message["payload"]["engagement_id"] == engagement_id
    assert "Henvendelse" in message["body"]


def test_a_late_sweep_catches_up_every_level_once(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    engagement_id = begin(eng, worker)
    raised = eng.sweep(datetime(2026, 5, 1, tzinfo=UTC))
    # Each level keeps its own due time: the ladder does not shift with a late sweep.
    assert [(r.level, r.due_at) for r in raised] == [(1, REFERRAL_DUE), (2, LEVEL_2_DUE)]
    assert eng.sweep(datetime(2026, 6, 1, tzinfo=UTC)) == []
    assert event_types(eng, engagement_id).count("reminder") == 2
    assert_log_sound(eng, engagement_id)


def test_leaving_the_stage_restarts_the_ladder(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    engagement_id = begin(eng, worker)
    eng.sweep(REFERRAL_DUE)
    clock.set(REFERRAL_DUE + timedelta(days=1))
    e = eng.fire(engagement_id, "make_contact", actor=worker)
    assert e.stage_due_at is not None
    assert e.next_reminder_at == e.stage_due_at  # a new ladder from level 1
    # The referral's pending escalation is gone with the stage.
    assert eng.sweep(LEVEL_2_DUE) == []
    (first,) = eng.sweep(e.stage_due_at)
    assert (first.stage, first.level) == ("first_contact", 1)


def test_a_changed_engagement_is_skipped_not_failed(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    """The sweep re-checks inside its transaction: a candidate that moved on
    between the query and the lock is left alone."""
    engagement_id = begin(eng, worker)
    clock.set(REFERRAL_DUE)
    eng.fire(engagement_id, "make_contact", actor=worker)  # now due in 10 working days
    assert _reminders.sweep_one(eng._kernel, engagement_id, REFERRAL_DUE) == []
    assert _reminders.sweep_one(eng._kernel, engagement_id + 99, REFERRAL_DUE) == []
    assert counts(eng)["reminders"] == 0


def test_a_rearmed_stage_reminds_once_per_period(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    e = drive(eng, worker, "action")
    entered = clock.now
    assert e.stage_due_at == e.next_reminder_at == days_after(entered, 30)
    (first,) = eng.sweep(days_after(entered, 30))
    assert first.level == 1
    # The review reminder re-arms the stage: its due time and the next
    # reminder move on by one deadline period; no escalation.
    assert eng.get(e.id, actor=READER).stage_due_at == days_after(entered, 60)
    assert eng.get(e.id, actor=READER).next_reminder_at == days_after(entered, 60)
    assert eng.sweep(days_after(entered, 59)) == []
    (second,) = eng.sweep(days_after(entered, 60))
    assert second.level == 1 and second.stage_entered_at != first.stage_entered_at
    # A long gap: one review reminder, not one per missed period.
    later = days_after(entered, 365)
    assert len(eng.sweep(later)) == 1
    assert eng.get(e.id, actor=READER).stage_due_at == days_after(later, 30)
    assert eng.get(e.id, actor=READER).next_reminder_at == days_after(later, 30)
    # An activity is a review too: it starts a new period.
    clock.set(later + timedelta(days=1))
    e = eng.record_activity(e.id, "investigate", actor=worker)
    assert e.stage_due_at == e.next_reminder_at == days_after(clock.now, 30)
    assert len(eng.sweep(days_after(clock.now, 30))) == 1
    assert all(r.level == 1 for r in eng.reminders(engagement_id=e.id))
    assert_log_sound(eng, e.id)


# -- the stage's due time and the next reminder are apart ------------------------------


def test_after_the_last_escalation_the_stage_stays_overdue_and_stale(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    """Raising every level ends the ladder, not the stage's due time: the
    engagement stays on the stale list (``forloeb list --stale``) and ``show``
    still has its due time."""
    engagement_id = begin(eng, worker)
    clock.set(LEVEL_2_DUE + timedelta(days=1))
    fresh = begin(eng, worker, subject="sag-2")  # due in the future: not stale
    assert [(r.engagement_id, r.level) for r in eng.sweep()] == [(engagement_id, 1), (engagement_id, 2)]
    e = eng.get(engagement_id, actor=READER)
    assert e.stage_due_at == REFERRAL_DUE  # as set when the stage was entered
    assert e.next_reminder_at is None  # the ladder is done
    assert e.to_dict()["stage_due_at"] == REFERRAL_DUE.isoformat()
    assert [x.id for x in eng.list(stale=True, actor=READER)] == [engagement_id]
    # Much later: nothing more raised for it, still stale, same due time.
    clock.advance(days=100)
    assert {r.engagement_id for r in eng.sweep()} == {fresh}
    assert [x.id for x in eng.list(stale=True, actor=READER)] == [engagement_id, fresh]
    assert eng.get(engagement_id, actor=READER).stage_due_at == REFERRAL_DUE
    assert len(eng.reminders(engagement_id=engagement_id)) == 2


def test_the_sweep_follows_next_reminder_at_not_the_stage_due_time(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    """An engagement whose stage is overdue but whose every level is raised is
    no sweep candidate (the range scan is on ``next_reminder_at``): it is not
    locked, written or reminded again."""
    done_id = begin(eng, worker)
    assert [r.level for r in eng.sweep(LEVEL_2_DUE)] == [1, 2]
    clock.set(LEVEL_2_DUE)
    due_id = begin(eng, worker, subject="sag-2")
    later = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # the second's referral due time
    done = eng.get(done_id, actor=READER)
    assert done.stage_due_at is not None and done.stage_due_at < later  # overdue …
    assert done.next_reminder_at is None  # … with nothing left to raise
    with eng.store.read() as rtx:
        assert rtx.due_engagements(later, 100) == [(due_id, later)]
    raised = eng.sweep(later)
    assert [(r.engagement_id, r.level) for r in raised] == [(due_id, 1)]
    assert eng.get(done_id, actor=READER) == done  # untouched: same version, same times
    # Even offered directly, it has nothing due.
    before = counts(eng)
    assert _reminders.sweep_one(eng._kernel, done_id, later + timedelta(days=365)) == []
    assert counts(eng) == before
    assert eng.get(done_id, actor=READER) == done
    assert event_types(eng, done_id) == ["started", "reminder", "reminder"]


def test_pause_clears_both_and_resume_restores_both_from_the_time_left(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    e = start(eng, worker)
    assert e.stage_due_at == e.next_reminder_at == REFERRAL_DUE
    clock.advance(days=1, hours=3)
    left = REFERRAL_DUE - clock.now
    e = eng.fire(e.id, "pause", actor=worker, data={"reason": "sygdom"})
    assert (e.stage_due_at, e.next_reminder_at) == (None, None)
    with eng.store.read() as rtx:
        assert rtx.due_engagements(datetime(2027, 1, 1, tzinfo=UTC), 100) == []
    assert eng.list(stale=True, actor=READER) == []
    clock.advance(days=30)
    e = eng.fire(e.id, "resume", actor=worker)
    assert e.stage_due_at == e.next_reminder_at == clock.now + left
    assert eng.sweep(clock.now + left - timedelta(seconds=1)) == []
    assert [r.level for r in eng.sweep(clock.now + left)] == [1]
    assert eng.get(e.id, actor=READER).stage_due_at == clock.now + left


def test_the_time_left_at_a_pause_is_the_stages_not_the_next_reminders(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    """Paused after level 1, with level 2 still a week off: the stage was
    already overdue, so the resumed stage is due (and reminded) at once."""
    engagement_id = begin(eng, worker)
    eng.sweep(REFERRAL_DUE)
    clock.set(REFERRAL_DUE + timedelta(days=1))
    assert eng.get(engagement_id, actor=READER).next_reminder_at == LEVEL_2_DUE
    eng.fire(engagement_id, "pause", actor=worker, data={"reason": "ferie"})
    clock.advance(days=10)
    e = eng.fire(engagement_id, "resume", actor=worker)
    assert e.stage_due_at == e.next_reminder_at == clock.now
    assert [x.id for x in eng.list(stale=True, actor=READER)] == [engagement_id]
    # A new stage entry: the ladder starts again at level 1.
    assert [r.level for r in eng.sweep(clock.now)] == [1]


def test_an_engagement_stored_before_reminders_is_reminded_after_the_upgrade(
    empty_db_url: str, clock: FakeClock
) -> None:
    """Migration 0002 starts the ladder of existing rows at their stage's due time."""
    from sqlalchemy import text

    from forloeb.engine import GENESIS
    from forloeb.persistence import SqlStore
    from forloeb.persistence._migrate import upgrade

    store = SqlStore.open(empty_db_url)
    try:
        upgrade(store.sa_engine, "0001")
        with store.sa_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO engagements (workflow, workflow_version, state, cycle, subject,"
                    " source, assignee, tags, data, version, head_hash, created_at, updated_at,"
                    " stage_entered_at, stage_due_at) VALUES ('individual_course', 1, 'referral',"
                    " 1, 'sag-1', 'skole', 'anna', '[]', '{}', 0, :head, :t, :t, :t, :due)"
                ),
                {"head": GENESIS, "t": "2026-03-02 09:00:00.000000", "due": "2026-03-09 09:00:00.000000"},
            )
        upgrade(store.sa_engine)
    finally:
        store.close()
    with Engine.open(empty_db_url, clock=clock) as eng:
        (e,) = eng.list(actor=READER)
        assert e.stage_due_at == e.next_reminder_at == REFERRAL_DUE
        assert [(r.engagement_id, r.level) for r in eng.sweep(REFERRAL_DUE)] == [(e.id, 1)]
        assert eng.get(e.id, actor=READER).stage_due_at == REFERRAL_DUE


# -- acknowledge and snooze -------------------------------------------------------------


def test_acknowledge_is_recorded_on_the_row_and_in_the_log(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    engagement_id = begin(eng, worker)
    (first,) = eng.sweep(REFERRAL_DUE)
    clock.set(REFERRAL_DUE + timedelta(hours=2))
    acked = eng.acknowledge_reminder(first.id, actor=worker)
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("anna", clock.now)
    assert not acked.open
    assert eng.reminders(open_only=True) == []
    assert eng.reminders() == [acked]
    last = eng.history(engagement_id, actor=READER)[-1]
    assert (last.type, last.actor, last.data["reminder_id"]) == ("reminder_acknowledged", "anna", first.id)
    # Twice: the first acknowledgement stands and nothing is written.
    before = counts(eng)
    clock.advance(hours=1)
    assert eng.acknowledge_reminder(first.id, actor=worker) == acked
    assert counts(eng) == before
    # A receipt, not a stop: the supervisor still hears of it on time.
    assert [r.level for r in eng.sweep(LEVEL_2_DUE)] == [2]
    assert_log_sound(eng, engagement_id)


def test_snooze_holds_the_escalation_until_it_ends(eng: Engine, clock: FakeClock, worker: Actor) -> None:
    engagement_id = begin(eng, worker)
    (first,) = eng.sweep(REFERRAL_DUE)
    clock.set(REFERRAL_DUE + timedelta(hours=1))
    until = LEVEL_2_DUE + timedelta(days=4)
    snoozed = eng.snooze_reminder(first.id, until=until, reason="Venter på skolen", actor=worker)
    assert (snoozed.snoozed_until, snoozed.snooze_reason) == (until, "Venter på skolen")
    assert snoozed.open  # snoozed is still open
    # The snooze holds back the next reminder, not the stage's due time.
    assert eng.get(engagement_id, actor=READER).next_reminder_at == until
    assert eng.get(engagement_id, actor=READER).stage_due_at == REFERRAL_DUE
    assert eng.sweep(LEVEL_2_DUE) == []
    assert eng.sweep(until - timedelta(seconds=1)) == []
    (second,) = eng.sweep(until)
    assert (second.level, second.due_at) == (2, until)
    last_types = event_types(eng, engagement_id)
    assert last_types == ["started", "reminder", "reminder_snoozed", "reminder"]
    snooze_event = eng.history(engagement_id, actor=READER)[2]
    assert snooze_event.data == {
        "reminder_id": first.id,
        "level": 1,
        "until": until.isoformat(),
        "reason": "Venter på skolen",
    }
    assert_log_sound(eng, engagement_id)


def test_a_snooze_shorter_than_the_ladder_changes_nothing(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    engagement_id = begin(eng, worker)
    (first,) = eng.sweep(REFERRAL_DUE)
    clock.set(REFERRAL_DUE)
    eng.snooze_reminder(first.id, until=REFERRAL_DUE + timedelta(days=1), reason="syg", actor=worker)
    assert eng.get(engagement_id, actor=READER).next_reminder_at == LEVEL_2_DUE
    assert eng.get(engagement_id, actor=READER).stage_due_at == REFERRAL_DUE
    assert [r.due_at for r in eng.sweep(LEVEL_2_DUE)] == [LEVEL_2_DUE]


def test_reminders_are_listed_by_supervisor_and_assignee(eng: Engine, worker: Actor) -> None:
    begin(eng, worker, assignee="anna", supervisor="leder", subject="sag-1")
    begin(eng, worker, assignee="bo", supervisor="chef", subject="sag-2")
    eng.sweep(LEVEL_2_DUE)
    assert len(eng.reminders()) == 4
    assert {r.recipient for r in eng.reminders(supervisor="leder")} == {"anna", "leder"}
    assert {r.recipient for r in eng.reminders(assignee="bo")} == {"bo", "chef"}
    assert eng.reminders(assignee="bo", supervisor="leder") == []


# -- configuration -----------------------------------------------------------------------


def test_deadlines_are_overridden_per_workflow_and_stage(
    db_url: str, clock: FakeClock, worker: Actor
) -> None:
    overrides = {"individual_course": {"first_contact": Deadline(amount=3)}}
    with Engine.open(db_url, migrate=True, clock=clock, deadlines=overrides, workflows=VERSION_1) as eng:
        e = eng.fire(start(eng, worker).id, "make_contact", actor=worker)
        assert e.stage_due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
        # The default ladder comes with it.
        assert [r.level for r in eng.sweep(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))] == [1, 2]
        civil = eng.workflow("civil_society").stage("first_contact").deadline
        assert civil is not None and civil.amount == 10


def test_a_three_level_ladder_reaches_the_team_lead(db_url: str, clock: FakeClock, worker: Actor) -> None:
    ladder = (Escalation(to="supervisor", after=2), Escalation(to="team_lead", after=1, unit="days"))
    overrides = {"individual_course": {"referral": Deadline(amount=1, escalation=ladder)}}
    with Engine.open(
        db_url, migrate=True, clock=clock, deadlines=overrides, team_leads={"familie": "teamleder"}
    ) as eng:
        begin(eng, worker, team="familie")
        raised = eng.sweep(datetime(2026, 3, 31, tzinfo=UTC))
        assert [(r.level, r.recipient_role, r.recipient) for r in raised] == [
            (1, "assignee", "anna"),
            (2, "supervisor", "leder"),
            (3, "team_lead", "teamleder"),
        ]
        assert [r.due_at.day for r in raised] == [3, 5, 6]  # Tue; +2 working days; +1 day


@pytest.mark.parametrize(
    "overrides",
    [
        {"individual_course": {"no_such_stage": Deadline(amount=1)}},
        {"individual_course": {"closed": Deadline(amount=1)}},
    ],
)
def test_a_bad_override_is_a_definition_error(db_url: str, overrides: Any) -> None:
    with pytest.raises(DefinitionError):
        Engine.open(db_url, migrate=True, deadlines=overrides)


def test_a_ladder_has_at_most_three_levels() -> None:
    with pytest.raises(ValueError):
        Deadline(amount=1, escalation=(Escalation(to="supervisor"),) * 3)
    with pytest.raises(ValueError):
        Escalation(to="supervisor", after=0)


# -- bad input writes nothing ---------------------------------------------------------------


@pytest.fixture
def raised(eng: Engine, worker: Actor) -> Iterator[Reminder]:
    begin(eng, worker)
    (first,) = eng.sweep(REFERRAL_DUE)
    yield first


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda e, r, a: e.acknowledge_reminder(9999, actor=a), ReminderNotFound),
        (lambda e, r, a: e.acknowledge_reminder("1", actor=a), ReminderNotFound),
        (lambda e, r, a: e.acknowledge_reminder(r.id, actor=Actor.auditor("x")), PermissionDenied),
        (
            lambda e, r, a: e.snooze_reminder(9999, until=LEVEL_2_DUE, reason="x", actor=a),
            ReminderNotFound,
        ),
        (lambda e, r, a: e.snooze_reminder(r.id, until=LEVEL_2_DUE, reason="", actor=a), InvalidData),
        (lambda e, r, a: e.snooze_reminder(r.id, until=LEVEL_2_DUE, reason="  ", actor=a), InvalidData),
        (
            lambda e, r, a: e.snooze_reminder(
                r.id, until=LEVEL_2_DUE.replace(tzinfo=None), reason="x", actor=a
            ),
            InvalidData,
        ),
        (lambda e, r, a: e.snooze_reminder(r.id, until=MONDAY, reason="x", actor=a), InvalidData),
        (lambda e, r, a: e.sweep(LEVEL_2_DUE.replace(tzinfo=None)), InvalidData),
        (lambda e, r, a: e.sweep(LEVEL_2_DUE, batch=0), InvalidData),
    ],
)
def test_bad_reminder_input_writes_nothing(
    eng: Engine, raised: Reminder, worker: Actor, call: Any, error: type[Exception]
) -> None:
    before = counts(eng)
    history = eng.history(raised.engagement_id, actor=READER)
    with pytest.raises(error) as info:
        call(eng, raised, worker)
    assert isinstance(info.value, ForloebError)
    if error is ReminderNotFound:
        assert isinstance(info.value, LookupError)
        assert "findes ikke" in info.value.message("da")
    assert counts(eng) == before
    assert eng.history(raised.engagement_id, actor=READER) == history
    assert eng.reminders() == [raised]


# -- several processes, one database -----------------------------------------------------------


def _sweep_in_process(url: str, now: datetime, barrier: Any, results: Any) -> None:
    with Engine.open(url) as engine:
        barrier.wait()
        results.put(len(engine.sweep(now, batch=200)))


def test_three_processes_sweep_one_database_and_raise_each_reminder_once(
    db_url: str, clock: FakeClock, worker: Actor
) -> None:
    n = 1000
    with Engine.open(db_url, migrate=True, clock=clock, workflows=VERSION_1) as eng:
        for i in range(n):
            eng.start("individual_course", subject=f"sag-{i}", source="skole", actor=worker, assignee="anna")
    # After level 1 is due and before level 2: exactly one reminder each.
    now = REFERRAL_DUE + timedelta(days=1)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    results = ctx.Queue()
    procs = [ctx.Process(target=_sweep_in_process, args=(db_url, now, barrier, results)) for _ in range(3)]
    for p in procs:
        p.start()
    totals = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(totals) == n
    with Engine.open(db_url) as eng:
        assert counts(eng)["reminders"] == n
        assert counts(eng)["outbox"] == n
        with eng.store.sa_engine.connect() as conn:
            per_engagement = conn.execute(
                select(events.c.engagement_id, func.count())
                .where(events.c.type == "reminder")
                .group_by(events.c.engagement_id)
            ).all()
            levels = conn.execute(select(reminders.c.level).distinct()).scalars().all()
        assert len(per_engagement) == n
        assert {c for _, c in per_engagement} == {1}
        assert levels == [1]
        assert verify_chain(raw_events(eng), None) == []


def test_plan_data_is_still_what_guards_see(eng: Engine, worker: Actor) -> None:
    """Reminder events do not disturb the stage records a later fire checks."""
    e = drive(eng, worker, "shared_path")
    eng.sweep(datetime(2026, 6, 1, tzinfo=UTC))
    e = eng.fire(e.id, "set_own_path", actor=worker, data=PLAN)
    assert e.state == "own_path"
    assert eng.replay(e.id)["state"] == "own_path"
