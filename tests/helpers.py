"""Shared test helpers: data, a fake clock and shortcuts that drive engagements.

Imported by test modules as ``from helpers import …``; fixtures live in
``conftest.py`` (pytest finds them there) and use these helpers too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from forloeb import Actor, Engagement, Engine

# Data that satisfies the plan guards (leaving shared_path / own_path).
PLAN: dict[str, str] = {
    "focus": "Skolegang og fritid",
    "goals": "Fast fremmøde i skolen",
    "plan": "Ugentlige samtaler med familien",
}

ACTIVE_STAGES = (
    "referral",
    "first_contact",
    "shared_path",
    "own_path",
    "action",
    "self_help",
    "rounding_off",
)

# The path forward: (trigger, data, stage reached).
FORWARD: tuple[tuple[str, Mapping[str, Any] | None, str], ...] = (
    ("make_contact", None, "first_contact"),
    ("agree_shared_path", None, "shared_path"),
    ("set_own_path", PLAN, "own_path"),
    ("act", PLAN, "action"),
    ("reach_self_help", None, "self_help"),
    ("round_off", {"level": "does"}, "rounding_off"),
)
ENDINGS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "closed": ("close", {"outcome": "Mål nået"}),
    # A registered receiver and a basis other than consent (which would need a
    # recorded consent first; tests/test_consent.py covers that path).
    "handed_over": ("hand_over", {"receiver": "jobcenter", "legal_basis": "serviceloven § 11"}),
}

SOURCES = {"individual_course": "skole", "civil_society": "foreninger"}


class FakeClock:
    """A settable clock: ``clock()`` returns the current (aware, UTC) time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
        if self.now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")

    def __call__(self) -> datetime:
        return self.now

    def set(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = value.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self.now += delta if delta is not None else timedelta(**kwargs)
        return self.now


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table: compared before and after to prove nothing was written."""
    return engine.row_counts()


def start(
    engine: Engine,
    actor: Actor,
    workflow: str = "individual_course",
    *,
    subject: str = "sag-1",
    source: str | None = None,
    **kwargs: Any,
) -> Engagement:
    return engine.start(workflow, subject=subject, source=source or SOURCES[workflow], actor=actor, **kwargs)


def drive(
    engine: Engine,
    actor: Actor,
    stage: str,
    workflow: str = "individual_course",
    *,
    engagement: Engagement | None = None,
    subject: str = "sag-1",
) -> Engagement:
    """Start an engagement (unless given one at referral) and fire valid triggers until ``stage``.

    ``stage`` is an active stage, ``closed``, ``handed_over`` or ``paused``
    (paused from ``action``).
    """
    e = engagement or start(engine, actor, workflow, subject=subject)
    target = "action" if stage == "paused" else stage
    targets = [s for _, _, s in FORWARD]
    if target in ENDINGS:
        stop = "rounding_off"
    elif target == "referral":
        stop = None
    elif target in targets:
        stop = target
    else:
        raise ValueError(f"cannot drive to {stage!r}")
    if stop is not None:
        for trigger, data, reached in FORWARD:
            e = engine.fire(e.id, trigger, actor=actor, data=data)
            assert e.state == reached
            if reached == stop:
                break
    if target in ENDINGS:
        trigger, data = ENDINGS[target]
        e = engine.fire(e.id, trigger, actor=actor, data=data)
    if stage == "paused":
        e = engine.fire(e.id, "pause", actor=actor, data={"reason": "Sygdom"})
    assert e.state == stage
    return e


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = dict(record.msg) if isinstance(record.msg, dict) else {"event": record.getMessage()}
        entry["log_level"] = record.levelname.lower()
        self.entries.append(entry)


@contextmanager
def capture_logs() -> Iterator[list[dict[str, Any]]]:
    """forloeb's log events at every level, as dicts: the event's fields and ``log_level``.

    The entries look like ``structlog.testing.capture_logs``'s; they are taken
    from the standard logger "forloeb", which is where forloeb logs.
    """
    logger = logging.getLogger("forloeb")
    handler = _Capture()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.entries
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def days_after(t: datetime, days: int) -> datetime:
    """``days`` calendar days later at the same Copenhagen wall-clock time (a
    deadline in days keeps its local time across the clock change)."""
    cph = ZoneInfo("Europe/Copenhagen")
    local = t.astimezone(cph).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=cph).astimezone(UTC)
