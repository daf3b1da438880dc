"""Write transactions in SQL on the driver's own connection.

Every command is one write transaction of a few statements. Through
SQLAlchemy's execution machinery a statement costs ~22 µs on these machines
and a Connection checkout with its transaction ~45 µs more; on the DBAPI
connection a statement costs ~3.5 µs. That difference is most of what keeps a
fire within a small multiple of raw SQLite (see ``bench/bench_fire.py``), so
writes take this path and reads stay on SQLAlchemy Core.

The SQL is generated from the table metadata, so a column added to the
tables reaches it without edits here; values are encoded the way SQLAlchemy's
own column types encode them, so either path reads what the other wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Table

from ._tables import (
    access_log,
    engagement_tags,
    engagements,
    events,
    idempotency_keys,
    outbox,
    outbox_attempts,
    reminders,
)
from ._types import UTCDateTime

_TABLES = (
    engagements,
    engagement_tags,
    events,
    idempotency_keys,
    reminders,
    outbox,
    outbox_attempts,
    access_log,
)
_JSON = frozenset(c.name for t in _TABLES for c in t.c if isinstance(c.type, JSON))
_TIME = frozenset(c.name for t in _TABLES for c in t.c if isinstance(c.type, UTCDateTime))


def _sqlite_time(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime writes: naive UTC, microseconds
    # ("2026-11-28 06:44:09.457371"): the first 26 characters of the UTC isoformat.
    #
    # The cache must be keyed on the instant, and aware datetimes in one time
    # zone compare (and hash) by their wall-clock time, ignoring ``fold``: in
    # Copenhagen, 2027-10-31 02:30 (+02:00, fold=0) and 02:30 (+01:00, fold=1)
    # are equal keys an hour apart. So convert to UTC first (where the wall
    # clock is the instant) and cache only that: a fire writes the same UTC
    # "now" into four or five columns, and an engine's clock is UTC.
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: forloeb stores aware times only")
        value = value.astimezone(UTC)
    return _utc_text(value)


@lru_cache(maxsize=256)
def _utc_text(value: datetime) -> str:
    """``value`` (aware, in UTC) as stored: keyed on UTC datetimes only."""
    return value.isoformat(sep=" ", timespec="microseconds")[:26]


def _sqlite_time_in(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")


def _columns(table: Table, *, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(c.name for c in table.c if c.name not in skip)


class SqlText:
    """Per-dialect SQL text and value codecs for the write path."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        p: Callable[[str], str] = (lambda n: f":{n}") if dialect == "sqlite" else (lambda n: f"%({n})s")
        self._p = p
        self.engagement_columns = _columns(engagements)
        self.idempotency_columns = _columns(idempotency_keys)
        self.select_engagement = (
            f"SELECT {', '.join(self.engagement_columns)} FROM engagements WHERE id = {p('_id')}"
        )
        if dialect != "sqlite":
            # SQLite's BEGIN IMMEDIATE already excludes other writers.
            self.select_engagement += " FOR UPDATE"
        self.select_idempotency = (
            f"SELECT {', '.join(self.idempotency_columns)} FROM idempotency_keys WHERE key = {p('key')}"
        )
        self.insert_engagement = self._insert(engagements, skip=("id",)) + " RETURNING id"
        self.insert_tag = self._insert(engagement_tags)
        self.delete_tags = f"DELETE FROM engagement_tags WHERE engagement_id = {p('_id')}"
        self.insert_event = self._insert(events, skip=("id",))
        self.insert_idempotency = self._insert(idempotency_keys)
        self.insert_access = self._insert(access_log, skip=("id",))
        self.reminder_columns = _columns(reminders)
        self.insert_reminder = (
            self._insert(reminders, skip=("id",))
            # The unique key decides which sweeper raises a level: the loser
            # inserts nothing and gets no row back (SQLite 3.35+, PostgreSQL).
            + " ON CONFLICT (engagement_id, stage_entered_at, level) DO NOTHING RETURNING id"
        )
        self.select_reminder = (
            f"SELECT {', '.join(self.reminder_columns)} FROM reminders WHERE id = {p('_id')}"
        )
        self.select_reminders_of_entry = (
            f"SELECT {', '.join(self.reminder_columns)} FROM reminders "
            f"WHERE engagement_id = {p('_id')} AND stage_entered_at = {p('stage_entered_at')} "
            "ORDER BY level"
        )
        self.insert_outbox = self._insert(outbox, skip=("id",))
        # Erasure: children first, so each table's count is known and nothing
        # depends on the foreign keys' ON DELETE CASCADE being enforced (SQLite
        # enforces it only with PRAGMA foreign_keys, per connection).
        mine = f"engagement_id = {p('_id')}"
        of_reminders = f"SELECT id FROM reminders WHERE {mine}"
        self.delete_engagement: tuple[tuple[str, str], ...] = (
            (
                "outbox_attempts",
                "DELETE FROM outbox_attempts WHERE outbox_id IN "
                f"(SELECT id FROM outbox WHERE reminder_id IN ({of_reminders}))",
            ),
            ("outbox", f"DELETE FROM outbox WHERE reminder_id IN ({of_reminders})"),
            ("reminders", f"DELETE FROM reminders WHERE {mine}"),
            ("idempotency_keys", f"DELETE FROM idempotency_keys WHERE {mine}"),
            ("engagement_tags", f"DELETE FROM engagement_tags WHERE {mine}"),
            ("events", f"DELETE FROM events WHERE {mine}"),
            ("engagements", f"DELETE FROM engagements WHERE id = {p('_id')}"),
        )
        self.select_engagement_skip_locked = self.select_engagement + (
            " SKIP LOCKED" if dialect != "sqlite" else ""
        )
        self._updates: dict[tuple[str, ...], str] = {}
        self._reminder_updates: dict[tuple[str, ...], str] = {}
        if dialect == "postgresql":
            from psycopg.types.json import Jsonb

            self._json_out: Callable[[Any], Any] = Jsonb
            self._time_out: Callable[[datetime], Any] = lambda v: v
            self._json_in: Callable[[Any], Any] = lambda v: v
            self._time_in: Callable[[Any], datetime] = lambda v: v.astimezone(UTC)
        else:
            self._json_out = lambda v: json.dumps(v, ensure_ascii=False)
            self._time_out = _sqlite_time
            self._json_in = json.loads
            self._time_in = _sqlite_time_in
        self._out: dict[str, Callable[[Any], Any]] = {
            **{k: self._json_out for k in _JSON},
            **{k: self._time_out for k in _TIME},
        }
        self._in: dict[str, Callable[[Any], Any]] = {
            **{k: self._json_in for k in _JSON},
            **{k: self._time_in for k in _TIME},
        }

    def _insert(self, table: Table, *, skip: tuple[str, ...] = ()) -> str:
        cols = _columns(table, skip=skip)
        return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join(self._p(c) for c in cols)})"

    def update_engagement(self, keys: tuple[str, ...]) -> str:
        sql = self._updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = {self._p(k)}" for k in keys)
            sql = (
                f"UPDATE engagements SET {sets} "
                f"WHERE id = {self._p('_id')} AND version = {self._p('_expected')}"
            )
            self._updates[keys] = sql
        return sql

    def update_reminder(self, keys: tuple[str, ...]) -> str:
        sql = self._reminder_updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = {self._p(k)}" for k in keys)
            sql = f"UPDATE reminders SET {sets} WHERE id = {self._p('_id')}"
            self._reminder_updates[keys] = sql
        return sql

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(values)
        # Only JSON and time columns need converting; the key intersection is
        # done in C, which keeps this off the profile of a fire.
        for k in out.keys() & self._out.keys():
            v = out[k]
            if v is not None:
                out[k] = self._out[k](v)
        return out

    def decode(self, columns: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
        out = dict(zip(columns, row, strict=True))
        for k in out.keys() & self._in.keys():
            v = out[k]
            if v is not None:
                out[k] = self._in[k](v)
        return out

    def encode_times(self, values: Mapping[str, Any], times: Iterable[str]) -> dict[str, Any]:
        """``values`` with the time columns ``times`` encoded as the events' time is
        (for tables outside the codec's columns: tokens, passwords, sessions)."""
        out = dict(values)
        to_db = self._time_out
        for k in out.keys() & set(times):
            if out[k] is not None:
                out[k] = to_db(out[k])
        return out

    def decode_times(
        self, columns: tuple[str, ...], row: tuple[Any, ...], times: Iterable[str]
    ) -> dict[str, Any]:
        """A row of ``columns`` with its time columns ``times`` decoded (see :meth:`encode_times`)."""
        out = dict(zip(columns, row, strict=True))
        from_db = self._time_in
        for k in out.keys() & set(times):
            if out[k] is not None:
                out[k] = from_db(out[k])
        return out


# The time format of SQLite's columns, for reads that compare times as stored (_reporting).
sqlite_time = _sqlite_time
sqlite_time_in = _sqlite_time_in
