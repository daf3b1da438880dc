"""The outbox's delivery side: claiming due messages, recording attempts, digests.

Kept apart from ``_sql.py`` (which holds the command hot path): these are
mixed into its read and write transactions, so a delivery step runs in the
same kind of short transaction as every command (``BEGIN IMMEDIATE`` on
SQLite, row locks on PostgreSQL) and never holds one while a message is sent.

Several dispatchers may run at once on any number of nodes. A claim takes due
rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's ``BEGIN
IMMEDIATE`` already lets one writer in at a time) and moves their
``next_attempt_at`` a lease into the future before committing: another
dispatcher does not see them until the lease runs out, and a dispatcher that
dies mid-delivery leaves them due again when it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, func, select, text

from ._hotpath import SqlText
from ._tables import OUTBOX_FINISHED, engagements, outbox, outbox_attempts, reminders
from .base import Row

_OUTBOX_COLUMNS = tuple(c.name for c in outbox.c)


class OutboxSql:
    """The delivery statements for one dialect (built once per store)."""

    def __init__(self, dialect: str) -> None:
        p: Callable[[str], str] = (lambda n: f":{n}") if dialect == "sqlite" else (lambda n: f"%({n})s")
        self._p = p
        cols = ", ".join(_OUTBOX_COLUMNS)
        # PostgreSQL: rows another dispatcher is claiming right now are
        # skipped, not waited for; SQLite has one writer at a time anyway.
        lock = " FOR UPDATE SKIP LOCKED" if dialect != "sqlite" else ""
        self._claim_head = (
            f"UPDATE outbox SET next_attempt_at = {p('lease_until')} WHERE id IN ("
            f"SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= {p('now')} "
        )
        self._claim_tail = f"ORDER BY next_attempt_at, id LIMIT {p('limit')}{lock}) RETURNING {cols}"
        self._claims: dict[int, str] = {}
        self.lock_one = f"SELECT {cols} FROM outbox WHERE id = {p('_id')}" + (
            " FOR UPDATE" if dialect != "sqlite" else ""
        )
        attempt_cols = [c.name for c in outbox_attempts.c if c.name != "id"]
        self.insert_attempt = (
            f"INSERT INTO outbox_attempts ({', '.join(attempt_cols)}) "
            f"VALUES ({', '.join(p(c) for c in attempt_cols)})"
        )
        insert_cols = [c for c in _OUTBOX_COLUMNS if c != "id"]
        # A digest's message_id is derived from recipient and day: the unique
        # key lets any number of nodes enqueue it, and only the first counts.
        self.insert_if_new = (
            f"INSERT INTO outbox ({', '.join(insert_cols)}) "
            f"VALUES ({', '.join(p(c) for c in insert_cols)}) "
            "ON CONFLICT (message_id) DO NOTHING RETURNING id"
        )
        self._updates: dict[tuple[str, ...], str] = {}
        # The purge: finished messages created before a cutoff, oldest first.
        # OUTBOX_FINISHED word for word, so the partial index
        # ix_outbox_finished_created_at serves it: a range scan that stops
        # after ``limit`` rows. Locked (PostgreSQL) so a late dispatcher's
        # outcome waits and then finds the row gone; rows it holds are
        # skipped, as is a batch another purge is deleting.
        self.finished_before = (
            f"SELECT id FROM outbox WHERE {OUTBOX_FINISHED} AND created_at < {p('before')} "
            f"ORDER BY created_at LIMIT {p('limit')}{lock}"
        )
        self._purges: dict[int, tuple[str, str]] = {}

    def purge(self, count: int) -> tuple[str, str]:
        """Delete the attempts, then the messages, of ``count`` outbox ids (named i0, i1, …).

        Children first, so nothing depends on SQLite enforcing ``ON DELETE
        CASCADE``; both are lookups by indexed column (outbox_attempts.outbox_id,
        the outbox's primary key).
        """
        sql = self._purges.get(count)
        if sql is None:
            ids = ", ".join(self._p(f"i{i}") for i in range(count))
            sql = self._purges[count] = (
                f"DELETE FROM outbox_attempts WHERE outbox_id IN ({ids})",
                f"DELETE FROM outbox WHERE id IN ({ids})",
            )
        return sql

    def claim(self, channels: int) -> str:
        """The claim for messages on ``channels`` channels (named c0, c1, …)."""
        sql = self._claims.get(channels)
        if sql is None:
            names = ", ".join(self._p(f"c{i}") for i in range(channels))
            sql = self._claims[channels] = f"{self._claim_head}AND channel IN ({names}) {self._claim_tail}"
        return sql

    def update(self, keys: tuple[str, ...]) -> str:
        sql = self._updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = {self._p(k)}" for k in keys)
            sql = self._updates[keys] = f"UPDATE outbox SET {sets} WHERE id = {self._p('_id')}"
        return sql


_BY_DIALECT: dict[str, OutboxSql] = {}


def _statements(dialect: str) -> OutboxSql:
    # Built once per dialect (a dict lookup after that): the transaction
    # classes need no constructor change to carry them.
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = OutboxSql(dialect)
    return found


class OutboxWrites:
    """Delivery steps of a write transaction (mixed into ``_sql._WriteTransaction``)."""

    _cur: Any
    _sql: SqlText

    @property
    def _outbox_sql(self) -> OutboxSql:
        return _statements(self._sql.dialect)

    def claim_outbox(
        self, now: datetime, lease_until: datetime, limit: int, channels: Sequence[str]
    ) -> list[Row]:
        """Up to ``limit`` pending messages on ``channels`` due at ``now``, leased until ``lease_until``."""
        if not channels:
            return []
        # Encoded as the time column they are compared with (the codec is per column name).
        params = {
            "now": self._time(now),
            "lease_until": self._time(lease_until),
            "limit": limit,
            **{f"c{i}": channel for i, channel in enumerate(channels)},
        }
        self._cur.execute(self._outbox_sql.claim(len(channels)), params)
        rows: list[Row] = [self._sql.decode(_OUTBOX_COLUMNS, r) for r in self._cur.fetchall()]
        # RETURNING gives no order: deliver oldest first.
        rows.sort(key=lambda r: (r["created_at"], r["id"]))
        return rows

    def _time(self, value: datetime) -> Any:
        return self._sql.encode({"next_attempt_at": value})["next_attempt_at"]

    def lock_outbox(self, outbox_id: int) -> Row | None:
        """The message, locked until the transaction ends (to record an outcome)."""
        self._cur.execute(self._outbox_sql.lock_one, {"_id": outbox_id})
        row = self._cur.fetchone()
        return self._sql.decode(_OUTBOX_COLUMNS, row) if row is not None else None

    def update_outbox(self, outbox_id: int, values: Mapping[str, Any]) -> None:
        params = self._sql.encode(values)
        params["_id"] = outbox_id
        self._cur.execute(self._outbox_sql.update(tuple(values)), params)

    def insert_outbox_attempt(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._outbox_sql.insert_attempt, self._sql.encode(values))

    def insert_outbox_if_new(self, values: Mapping[str, Any]) -> bool:
        """Insert unless a message with this message_id exists; True when inserted."""
        self._cur.execute(self._outbox_sql.insert_if_new, self._sql.encode(values))
        return self._cur.fetchone() is not None

    def purge_finished_outbox(self, before: datetime, limit: int) -> dict[str, int]:
        """Delete up to ``limit`` finished messages created before ``before``, oldest
        first, with their attempts; rows deleted per table."""
        sql = self._outbox_sql
        self._cur.execute(sql.finished_before, {"before": self._time(before), "limit": limit})
        ids = [int(r[0]) for r in self._cur.fetchall()]
        if not ids:
            return {"outbox_attempts": 0, "outbox": 0}
        params = {f"i{i}": outbox_id for i, outbox_id in enumerate(ids)}
        deleted: dict[str, int] = {}
        for table, statement in zip(("outbox_attempts", "outbox"), sql.purge(len(ids)), strict=True):
            self._cur.execute(statement, params)
            deleted[table] = max(int(self._cur.rowcount), 0)
        return deleted


class OutboxReads:
    """Outbox queries of a read transaction (mixed into ``_sql._ReadTransaction``)."""

    _conn: Connection

    def list_outbox(self, status: str | None = None, limit: int | None = None) -> list[Row]:
        stmt = select(outbox).order_by(outbox.c.id)
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [cast(Row, r._mapping) for r in self._conn.execute(stmt)]

    def outbox_attempts(self, outbox_id: int) -> list[Row]:
        stmt = (
            select(outbox_attempts)
            .where(outbox_attempts.c.outbox_id == outbox_id)
            .order_by(outbox_attempts.c.attempt, outbox_attempts.c.id)
        )
        return [cast(Row, r._mapping) for r in self._conn.execute(stmt)]

    def open_reminders_of_current_stages(self) -> list[Row]:
        """Unacknowledged reminders of the stage each engagement is in now,
        with the engagement's supervisor, workflow and team (for digests).

        A reminder of a stage the engagement has left is history, not work:
        only the current stage entry counts.
        """
        r, e = reminders.c, engagements.c
        stmt = (
            select(
                reminders,
                e.supervisor,
                e.assignee,
                e.team,
                e.workflow,
                e.workflow_version,
            )
            .join(engagements, e.id == r.engagement_id)
            .where(
                and_(
                    r.acknowledged_at.is_(None),
                    r.stage == e.state,
                    r.stage_entered_at >= e.stage_entered_at,
                )
            )
            .order_by(r.due_at, r.id)
        )
        return [cast(Row, x._mapping) for x in self._conn.execute(stmt)]

    def count_finished_outbox(self, before: datetime) -> int:
        """Finished (delivered or dead) messages created before ``before``."""
        # The purge's condition as text, so the partial index serves the count too.
        stmt = (
            select(func.count())
            .select_from(outbox)
            .where(text(OUTBOX_FINISHED), outbox.c.created_at < before)
        )
        return int(self._conn.execute(stmt).scalar_one())

    def outbox_counts(self) -> dict[str, int]:
        """Messages per status."""
        stmt = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        return {str(s): int(n) for s, n in self._conn.execute(stmt)}
