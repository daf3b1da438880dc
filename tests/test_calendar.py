"""Working days, Danish holidays and the stage deadlines they give (invariant 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from helpers import FIRST_CONTACT, PLAN, READER, ROUNDING_OFF, FakeClock, days_after, start

from forloeb import Actor, Engine, WorkingDayCalendar
from forloeb.engine import Deadline

CPH = ZoneInfo("Europe/Copenhagen")


def local(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=CPH)


@pytest.fixture
def cal() -> WorkingDayCalendar:
    return WorkingDayCalendar()


def test_friday_plus_one_working_day_is_monday(cal: WorkingDayCalendar) -> None:
    friday = local(2026, 3, 6)
    assert friday.weekday() == 4
    due = cal.add_working_days(friday, 1)
    assert due.tzinfo is not None
    assert due.astimezone(CPH) == local(2026, 3, 9)
    assert due.astimezone(CPH).weekday() == 0
    # Saturday and Sunday starts count from the next working day.
    assert cal.add_working_days(local(2026, 3, 7), 1).astimezone(CPH) == local(2026, 3, 9)
    assert cal.add_working_days(local(2026, 3, 8), 1).astimezone(CPH) == local(2026, 3, 9)


def test_easter_2026_is_skipped(cal: WorkingDayCalendar) -> None:
    for day in (date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6)):
        assert not cal.is_working_day(day), day
    # Wednesday 1 April + 5 working days: 7, 8, 9, 10, 13 April.
    due = cal.due(local(2026, 4, 1), Deadline(amount=5))
    assert due.astimezone(CPH) == local(2026, 4, 13)
    # Without the holidays it would have been Wednesday 8 April.
    assert due.astimezone(CPH).date() != date(2026, 4, 8)


def test_christmas_follows_the_holidays_package(cal: WorkingDayCalendar) -> None:
    dk = holidays.country_holidays("DK", years=2026)
    assert date(2026, 12, 25) in dk
    assert date(2026, 12, 26) in dk
    # Juleaften is no public holiday, but the package's optional category lists
    # it, and public-sector workplaces close: the default calendar closes too.
    assert date(2026, 12, 24) not in dk
    assert date(2026, 12, 24) in holidays.country_holidays("DK", years=2026, categories=("optional",))
    assert not cal.is_working_day(date(2026, 12, 24))
    # Wednesday 23 December 2026 + 2 working days: 24 closed, 25 a Friday
    # (holiday), 26-27 a weekend.
    assert cal.due(local(2026, 12, 23), Deadline(amount=2)).astimezone(CPH).date() == date(2026, 12, 29)
    # New Year's Day 2027 (a Friday) is skipped too, across the year boundary.
    assert date(2027, 1, 1) in holidays.country_holidays("DK", years=2027)
    assert cal.due(local(2026, 12, 31), Deadline(amount=1)).astimezone(CPH).date() == date(2027, 1, 4)


def test_days_are_calendar_days(cal: WorkingDayCalendar) -> None:
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert cal.due(start, Deadline(amount=30, unit="days")) == start + timedelta(days=30)
    # Holidays and weekends count as days.
    assert cal.due(start, Deadline(amount=5, unit="days")) == datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def test_working_days_keep_the_local_time_across_dst(cal: WorkingDayCalendar) -> None:
    # Friday 27 March 2026 10:00 CET (09:00 UTC); summer time starts Sunday 29 March.
    start = local(2026, 3, 27)
    assert start.astimezone(UTC) == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    due = cal.due(start.astimezone(UTC), Deadline(amount=2))
    assert due == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
    assert due.astimezone(CPH) == local(2026, 3, 31)
    assert due.utcoffset() == timedelta(0)
    # And back to winter time on 25 October 2026.
    due = cal.due(local(2026, 10, 23, 14, 30).astimezone(UTC), Deadline(amount=1))
    assert due == datetime(2026, 10, 26, 13, 30, tzinfo=UTC)


def test_closed_days_are_skipped() -> None:
    cal = WorkingDayCalendar(closed_days=[date(2026, 3, 9), date(2026, 3, 10)])
    assert not cal.is_working_day(date(2026, 3, 9))
    assert cal.due(local(2026, 3, 6), Deadline(amount=1)).astimezone(CPH) == local(2026, 3, 11)
    # Another calendar is not affected by this one's closing days (no shared cache).
    assert WorkingDayCalendar().due(local(2026, 3, 6), Deadline(amount=1)).astimezone(CPH) == local(
        2026, 3, 9
    )


def test_engine_uses_a_given_calendar(db_url: str, worker: Actor) -> None:
    clock = FakeClock(local(2026, 3, 6).astimezone(UTC))
    cal = WorkingDayCalendar(closed_days=[date(2026, 3, 9)])
    with Engine.open(db_url, migrate=True, clock=clock, calendar=cal) as eng:
        e = start(eng, worker)  # referral: 10 working days (version 2)
    assert e.stage_due_at == cal.due(clock.now, Deadline(amount=10))
    assert e.stage_due_at.astimezone(CPH) == local(2026, 3, 23)


# -- deadlines set by the engine ------------------------------------------------------


def test_entering_a_stage_sets_its_due_time(clocked_engine: Engine, clock: FakeClock, worker: Actor) -> None:
    eng = clocked_engine
    definition = eng.workflow("individual_course")
    clock.set(local(2026, 3, 27, 9, 15))  # a Friday, before the DST change
    e = start(eng, worker)
    assert e.stage_entered_at == clock.now
    assert e.stage_due_at == eng.calendar.due(clock.now, definition.stage("referral").deadline)
    steps = (
        ("make_contact", None, "first_contact"),
        ("agree_shared_path", FIRST_CONTACT, "shared_path"),
        ("set_own_path", PLAN, "own_path"),
        ("act", PLAN, "action"),
        ("reach_self_help", None, "self_help"),
        ("round_off", {"level": "can"}, "rounding_off"),
    )
    for trigger, data, stage in steps:
        clock.advance(days=1, minutes=7)
        e = eng.fire(e.id, trigger, actor=worker, data=data)
        deadline = definition.stage(stage).deadline
        assert deadline is not None
        assert e.stage_entered_at == clock.now, stage
        assert e.stage_due_at == eng.calendar.due(clock.now, deadline), stage
        assert e.stage_due_at == WorkingDayCalendar().due(clock.now, deadline), stage
        # Each stage entry starts its reminder ladder at the stage's due time.
        assert e.next_reminder_at == e.stage_due_at, stage
    clock.advance(hours=1)
    e = eng.fire(e.id, "close", actor=worker, data={**ROUNDING_OFF, "outcome": "goal_reached"})
    assert e.stage_due_at is None
    assert e.next_reminder_at is None
    assert e.stage_entered_at == clock.now


def test_referral_deadline_across_easter(clocked_engine: Engine, clock: FakeClock, worker: Actor) -> None:
    # Friday 27 March 2026, 09:15 local: 10 working days are 30, 31 March, 1, 7,
    # 8, 9, 10, 13, 14, 15 April (Maundy Thursday, Good Friday, Easter Monday).
    clock.set(local(2026, 3, 27, 9, 15))
    e = start(clocked_engine, worker)
    assert e.stage_due_at is not None
    assert e.stage_due_at.astimezone(CPH) == local(2026, 4, 15, 9, 15)


def test_pause_stops_the_clock_and_resume_sets_a_due_time_again(
    clocked_engine: Engine, clock: FakeClock, worker: Actor
) -> None:
    eng = clocked_engine
    e = start(eng, worker)
    e = eng.fire(e.id, "make_contact", actor=worker)
    first_due = e.stage_due_at
    assert first_due is not None
    clock.advance(days=2)
    e = eng.fire(e.id, "pause", actor=worker, data={"reason": "sygdom"})
    assert e.stage_due_at is None
    assert e.stage_entered_at == clock.now
    clock.advance(days=60)
    assert eng.list(stale=True, actor=READER) == []  # a paused engagement is never stale
    e = eng.fire(e.id, "resume", actor=worker)
    assert e.state == "first_contact"
    assert e.stage_due_at is not None
    # Due again in the future, and no later than a whole deadline from now (the
    # 60 paused days did not count; whether the remaining or the whole deadline
    # applies after a pause is the engine's choice).
    full = eng.calendar.due(clock.now, eng.workflow("individual_course").stage("first_contact").deadline)
    assert clock.now < e.stage_due_at <= full


def test_notes_and_details_do_not_move_the_deadline(
    clocked_engine: Engine, clock: FakeClock, worker: Actor
) -> None:
    eng = clocked_engine
    e = start(eng, worker)
    due = e.stage_due_at
    clock.advance(days=1)
    e = eng.add_note(e.id, "ringet op", actor=worker)
    e = eng.record_details(e.id, {"referred_by": "skolen"}, actor=worker)
    assert e.stage_due_at == due
    assert e.next_reminder_at == due
    assert e.stage_entered_at == clock.now - timedelta(days=1)


def test_an_activity_rearms_the_action_review(
    clocked_engine: Engine, clock: FakeClock, worker: Actor
) -> None:
    eng = clocked_engine
    e = start(eng, worker)
    for trigger, data in (
        ("make_contact", None),
        ("agree_shared_path", FIRST_CONTACT),
        ("set_own_path", PLAN),
        ("act", PLAN),
    ):
        e = eng.fire(e.id, trigger, actor=worker, data=data)
    assert e.stage_due_at == days_after(clock.now, 30)
    clock.advance(days=20)
    e = eng.record_activity(e.id, "investigate", actor=worker)
    assert e.stage_due_at == days_after(clock.now, 30)
    assert e.next_reminder_at == e.stage_due_at


def test_begin_anew_restarts_the_deadline(clocked_engine: Engine, clock: FakeClock, worker: Actor) -> None:
    eng = clocked_engine
    e = start(eng, worker)
    steps = (
        ("make_contact", None),
        ("agree_shared_path", FIRST_CONTACT),
        ("set_own_path", PLAN),
        ("act", PLAN),
        ("reach_self_help", None),
        ("round_off", {"level": "wants"}),
    )
    for trigger, data in steps:
        e = eng.fire(e.id, trigger, actor=worker, data=data)
    clock.advance(days=3)
    e = eng.fire(e.id, "begin_anew", actor=worker, data=ROUNDING_OFF)
    assert e.stage_entered_at == clock.now
    assert e.stage_due_at == eng.calendar.due(
        clock.now, eng.workflow("individual_course").stage("shared_path").deadline
    )
