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
from forloeb.engine import StaffMember

# Data that satisfies the plan guards (leaving shared_path / own_path).
PLAN: dict[str, str] = {
    "focus": "Skolegang og fritid",
    "goals": "Fast fremmøde i skolen",
    "plan": "Ugentlige samtaler med familien",
}

# The first contact's required questions (version 2 of both methods).
FIRST_CONTACT: dict[str, str] = {
    "what_brings_us": "Uro i opgangen og ønsket om et fritidsjob",
    "who_are_you": "17 år, går i 9. klasse, bor med sin mor",
}
# What rounding off asks before an engagement is closed, begun anew or handed over (version 2).
ROUNDING_OFF: dict[str, str] = {
    "status": "Går i skole hver dag og har et fritidsjob",
    "achievements": "Fast fremmøde og egen kontakt til UU",
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
    ("agree_shared_path", FIRST_CONTACT, "shared_path"),
    ("set_own_path", PLAN, "own_path"),
    ("act", PLAN, "action"),
    ("reach_self_help", None, "self_help"),
    ("round_off", {"level": "does"}, "rounding_off"),
)
ENDINGS: dict[str, tuple[str, Mapping[str, Any]]] = {
    # A category of version 2's outcomes (version 1 takes any text, so this serves both).
    "closed": ("close", {**ROUNDING_OFF, "outcome": "goal_reached"}),
    # A registered receiver and a basis other than consent (which would need a
    # recorded consent first; tests/test_consent.py covers that path).
    "handed_over": (
        "hand_over",
        {**ROUNDING_OFF, "receiver": "jobcenter", "legal_basis": "statute:serviceloven_11_3"},
    ),
    # Version 2: henvisning, pointing to another actor (no data leaves).
    "referred_on": (
        "refer_on",
        {"referred_to": "jobcenter", "reason": "Vil gerne have hjælp til at søge job"},
    ),
}

SOURCES = {"individual_course": "skole", "civil_society": "foreninger"}

# The staff register of the tests (issue 11: who may do what is data). Every
# engine a test opens has these entries (``conftest._staff_register``), so an
# ``Actor("anna", ["worker"])`` means what it always meant: anna, acting as the
# worker the register says she is. The CLI's OS login in the tests is
# TEST_LOGIN, the admin "tester": ``--as anna`` is then an admin acting as anna.
TEST_LOGIN = "forloeb-test"
TEST_STAFF: tuple[StaffMember, ...] = (
    StaffMember(id="tester", display_name="Test-administrator", roles=frozenset({"admin"}), login=TEST_LOGIN),
    StaffMember(
        id="anna",
        display_name="Anna Andersen",
        email="anna@example.dk",
        roles=frozenset({"worker"}),
        teams=frozenset({"Social", "Social udvikling", "familie", "Civilsamfund og lokalt engagement"}),
    ),
    StaffMember(
        id="bo",
        display_name="Bo Berg",
        roles=frozenset({"worker", "supervisor"}),
        teams=frozenset({"Civil"}),
    ),
    StaffMember(id="carl", display_name="Carl Carlsen", roles=frozenset({"worker"})),  # in no team
    StaffMember(id="leder", display_name="Lene Leder", roles=frozenset({"supervisor", "worker"})),
    StaffMember(id="revisor", display_name="Rikke Revisor", roles=frozenset({"auditor"})),
    StaffMember(id="r", display_name="R", roles=frozenset({"auditor"})),
    StaffMember(id="x", display_name="X", roles=frozenset({"auditor"})),
    StaffMember(id="medarbejder03", display_name="Medarbejder 3", roles=frozenset({"worker", "supervisor"})),
    StaffMember(id="bench", display_name="Bench", roles=frozenset({"worker"})),
    *(StaffMember(id=f"proc-{i}", display_name=f"P{i}", roles=frozenset({"worker"})) for i in range(8)),
    *(StaffMember(id=f"stream-{i}", display_name=f"S{i}", roles=frozenset({"worker"})) for i in range(8)),
)


# The audit key of the tests' keyed engines (the ``keyed`` fixture).
AUDIT_KEY = "revisionsnøgle"

# Who reads when a test only looks (engine.get, history, list need an actor):
# a supervisor, who may see every engagement.
READER = Actor("leder", ["supervisor"])


def register_test_staff(engine: Engine) -> None:
    """Put TEST_STAFF into the engine's register if it is empty (a new database)."""
    engine.staff.bootstrap(TEST_STAFF)


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
    """Rows per table but the access log's: compared before and after to prove
    nothing was written. The access log is left out because reading is logged
    (every read names its actor) and so is a refused attempt (issue 11, M8):
    the tests of the access log count its entries themselves (``access_chains``
    is the log's own bookkeeping)."""
    return {k: v for k, v in engine.row_counts().items() if k not in ("access_log", "access_chains")}


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

    ``stage`` is an active stage, an ending of ``ENDINGS`` (``closed``,
    ``handed_over``, ``referred_on``, each from rounding off) or ``paused``
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
