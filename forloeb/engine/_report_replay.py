"""Replaying the event log for a report (issue 13): one pass over the events the store
streams (``persistence/_reporting.py``), building each engagement as it stood at the
cutoff. Apart from ``_report`` (the figures) so that each stays short.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ._calendar import BusinessCalendar

SET_KEYS = ("assignee", "supervisor", "team", "tags", "person_key", "age_band", "gender", "afdeling")


@dataclass
class Course:
    """One engagement replayed up to the cutoff (times as the store gives them: they
    compare with each other and with the period's bounds in the same form)."""

    workflow: str
    started: Any
    source: str
    state: str
    entered: Any
    attrs: dict[str, Any]
    ended: Any = None
    outcome: str | None = None
    reached: set[str] = field(default_factory=set)
    stays: list[tuple[str, Any, Any]] = field(default_factory=list)
    levels: list[tuple[Any, str]] = field(default_factory=list)
    activities: list[tuple[Any, str, tuple[str, ...]]] = field(default_factory=list)
    onward: list[tuple[Any, str, str]] = field(default_factory=list)
    group: dict[str, Any] = field(default_factory=dict)


def partner_keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


_GROUP_KEYS = ("participants", "volunteers", "partners")
_SETTING = frozenset({"reassigned", "areas", "reporting"})
# The event types a report reads (notes, details, consents, exports are left in the database).
READ_TYPES = ("started", "transition", "migration", *_SETTING, "fields", "self_help", "activity")


_DECODED: dict[str, Any] = {}


def _json(value: Any) -> Any:
    """A value the database took out of a payload: JSON text for lists and objects.
    The same few texts recur (``[]``, a partner, an area), so they are decoded once;
    the values are only read, never changed."""
    if not isinstance(value, str) or value[:1] not in ("[", "{"):
        return value
    found = _DECODED.get(value)
    if found is None:
        found = json.loads(value)
        if len(value) <= 200 and len(_DECODED) < 10_000:
            _DECODED[value] = found
    return found


def number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def replay(rows: Iterable[tuple[Any, ...]], finals: set[str]) -> dict[int, Course]:
    """The engagements as the events make them (see ``_reporting.report_events`` for the
    columns). Runs once per event up to the cutoff: plain tuple work, no JSON decoding
    but for the rare lists and objects."""
    courses: dict[int, Course] = {}
    get = courses.get
    for eid, kind, src, dest, at, workflow, source, a, b, c_, d, e in rows:
        if kind == "transition":
            c = get(eid)
            if c is None:  # pragma: no cover - a chain always starts with "started"
                continue
            c.stays.append((src, c.entered, at))
            c.state = dest
            c.entered = at
            c.reached.add(dest)
            if d is not None:
                c.levels.append((at, str(d)))
            if dest in finals and src not in finals:
                c.ended, c.outcome = at, a
                if b is not None:
                    c.onward.append((at, "handover", str(b)))
                if c_ is not None:
                    c.onward.append((at, "referral", str(c_)))
            elif src in finals:
                c.ended, c.outcome = None, None  # reopened
            continue
        if kind == "started":
            # A start's data matters only for a group's fields (participants …).
            grouped = e is not None and ("participants" in e or "volunteers" in e or "partners" in e)
            data = _json(e) if grouped else {}
            tags = _json(c_)
            courses[eid] = Course(
                workflow=workflow,
                started=at,
                source=str(source),
                state=dest,
                entered=at,
                attrs={
                    "assignee": b,
                    "supervisor": d,
                    "team": a,
                    "tags": tags if isinstance(tags, list) else [],
                },
                reached={dest},
                group={k: data[k] for k in _GROUP_KEYS if k in data} if isinstance(data, dict) else {},
            )
            continue
        c = get(eid)
        if c is None:  # pragma: no cover
            continue
        if kind == "activity":
            c.activities.append((at, str(a), partner_keys(_json(b))))
        elif kind == "self_help":
            c.levels.append((at, str(a)))
        elif kind in _SETTING:
            changed = _json(e)
            for k, v in (changed if isinstance(changed, dict) else {}).items():
                if k in SET_KEYS:
                    c.attrs[k] = v
        elif kind == "fields":
            for k, v in (("participants", b), ("volunteers", c_), ("partners", _json(d))):
                if v is not None:
                    c.group[k] = v
        elif dest is not None and dest != c.state:  # a migration's new stage
            c.state, c.entered = dest, at
    return courses


class WorkingDays:
    """Working days between two dates in O(1) each, from a running count per date."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self._calendar = calendar
        self._first: date | None = None
        self._counts: list[int] = []

    def index(self, day: date) -> int:
        """Working days from a fixed day before the first asked for up to ``day``."""
        if self._first is None:
            self._first = day - timedelta(days=1)
            self._counts = [0]
        is_working = getattr(self._calendar, "is_working_day", lambda d: d.weekday() < 5)
        offset = (day - self._first).days
        if offset < 0:
            # An earlier day: count from it up to the old start, and shift what was counted.
            first = day - timedelta(days=1)
            prefix = [0]
            for i in range(1, (self._first - first).days + 1):
                prefix.append(prefix[-1] + (1 if is_working(first + timedelta(days=i)) else 0))
            self._counts = prefix[:-1] + [prefix[-1] + n for n in self._counts]
            self._first, offset = first, 1
        while len(self._counts) <= offset:
            nxt = self._first + timedelta(days=len(self._counts))
            self._counts.append(self._counts[-1] + (1 if is_working(nxt) else 0))
        return self._counts[offset]

    def between(self, a: date, b: date) -> int:
        return self.index(b) - self.index(a)


__all__ = ["READ_TYPES", "SET_KEYS", "Course", "WorkingDays", "number", "partner_keys", "replay"]
