"""Background work that stays bounded (issue 9): a dispatch run that a failing
receiver cannot keep going, sweeps and dispatches that stop between items when
asked, a scheduler job that logs an outage once, and deadlines in calendar days
that keep their wall-clock time across the clock change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from helpers import start

from forloeb import Actor, Deadline, Engine, WorkingDayCalendar
from forloeb.engine import DeliveryError, Notification, RetryPolicy, Route, Router
from forloeb.engine._scheduler import _job

CPH = WorkingDayCalendar().tz


class StepClock:
    """A clock that moves 2 s each time it is read: a run's own time passes (and
    outlasts the shortest backoff, one second)."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(seconds=2)
            return self.now


class AlwaysFails:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification.message_id)
        raise DeliveryError("hook", notification.recipient, "503 from the receiver", permanent=False)


@pytest.fixture
def step_engine(db_url: str) -> Iterator[tuple[Engine, StepClock]]:
    clock = StepClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    eng = Engine.open(db_url, migrate=True, clock=clock)
    try:
        yield eng, clock
    finally:
        eng.close()


def _overdue(eng: Engine, clock: StepClock, worker: Actor, n: int) -> None:
    """``n`` engagements whose level-1 reminder is raised, one outbox message each."""
    for i in range(n):
        start(eng, worker, subject=f"sag-{i}")
    clock.now += timedelta(days=15)  # past the referral's 10 working days
    assert len(eng.sweep()) == n


def test_a_dispatch_run_tries_each_message_once_while_a_receiver_keeps_failing(
    step_engine: tuple[Engine, StepClock], worker: Actor
) -> None:
    eng, clock = step_engine
    _overdue(eng, clock, worker, 5)
    hook = AlwaysFails()
    eng.router = Router([Route(channel="log")], {"log": hook})
    # A backoff (1 s) far shorter than the run itself: the old dispatcher
    # re-claimed each message as soon as its backoff ran out, until it was dead.
    eng.retry_policy = RetryPolicy(
        base=timedelta(seconds=1), cap=timedelta(seconds=1), max_attempts=50, jitter=0
    )
    result = eng.dispatch()
    assert (result.delivered, result.retried, result.dead) == (0, 5, 0)
    assert len(hook.sent) == 5 and len(set(hook.sent)) == 5
    assert {m.attempts for m in eng.outbox(status="pending")} == {1}
    # The next run tries them again, once each.
    eng.dispatch()
    assert {m.attempts for m in eng.outbox(status="pending")} == {2}


def test_a_dispatch_asked_to_stop_ends_after_the_delivery_in_flight(
    step_engine: tuple[Engine, StepClock], worker: Actor
) -> None:
    eng, clock = step_engine
    _overdue(eng, clock, worker, 4)
    hook = AlwaysFails()

    class StopAfterOne(AlwaysFails):
        def send(self, notification: Notification) -> None:
            eng._scheduler.stopping.set()  # what a scheduler's shutdown does
            hook.send(notification)

    eng.router = Router([Route(channel="log")], {"log": StopAfterOne()})
    result = eng.dispatch()
    assert len(hook.sent) == 1
    assert result.retried == 1
    # Not tried: still pending with no attempt, due again when its lease ends.
    assert sorted(m.attempts for m in eng.outbox(status="pending")) == [0, 0, 0, 1]


def test_a_sweep_asked_to_stop_leaves_the_rest_for_the_next(
    step_engine: tuple[Engine, StepClock], worker: Actor
) -> None:
    eng, clock = step_engine
    for i in range(3):
        start(eng, worker, subject=f"sag-{i}")
    clock.now += timedelta(days=15)  # past the referral's 10 working days
    unsubscribe = eng.subscribe(
        lambda engagement, event: eng._scheduler.stopping.set(), event_types=["reminder"]
    )
    assert len(eng.sweep()) == 1
    unsubscribe()
    eng._scheduler.stopping.clear()
    assert len(eng.sweep()) == 2


def test_a_failing_job_logs_the_outage_once_and_the_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = [RuntimeError("db gone")] * 4 + [None, None]

    def work() -> list[int]:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return []

    run = _job("sweep", work, lambda raised: {"raised": len(raised)})
    with caplog.at_level(logging.INFO, logger="forloeb"):
        for _ in range(6):
            run()
    text = caplog.text
    assert text.count("sweep_failed") == 1
    assert text.count("Traceback") == 1
    assert text.count("sweep_recovered") == 1
    assert text.count("sweep_run") == 2


def test_a_deadline_in_calendar_days_keeps_its_wall_clock_time_across_the_clock_change() -> None:
    cal = WorkingDayCalendar()
    # 09:00 on 15 October 2027 (summer time, +02:00); 31 October the clocks go back.
    start_at = datetime(2027, 10, 15, 9, 0, tzinfo=CPH)
    due = cal.due(start_at, Deadline(amount=30, unit="days"))
    assert due.astimezone(CPH).replace(tzinfo=None) == datetime(2027, 11, 14, 9, 0)
    assert due.utcoffset() == timedelta(0) and due == datetime(2027, 11, 14, 8, 0, tzinfo=UTC)
