"""The SQL store's transactions: reads on SQLAlchemy Core, writes as
hand-written SQL on the driver's cursor (see ``_hotpath.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, bindparam, or_, select, tuple_

from ._audit import visibility_clause
from ._hotpath import SqlText
from ._logins import LoginReads, LoginWrites
from ._outbox import OutboxReads, OutboxWrites
from ._query import where_equal
from ._register import RegisterReads, RegisterWrites
from ._reporting import ReportReads
from ._tables import engagement_tags, engagements, events, reminders
from ._tokens import TokenReads, TokenWrites
from .base import EngagementFilter, ReadTransaction, ReminderFilter, Row, WriteTransaction

# Built once: SQLAlchemy compiles each statement shape once and caches it.
_GET_ENGAGEMENT = select(engagements).where(engagements.c.id == bindparam("_id"))
_EVENTS_OF = select(events).where(events.c.engagement_id == bindparam("_id")).order_by(events.c.seq)
_GET_REMINDER = select(reminders).where(reminders.c.id == bindparam("_id"))


# The engagement row's reporting columns (issue 13), NULL until a "reporting" event.
_NOT_REPORTED: dict[str, Any] = dict.fromkeys(("person_key", "age_band", "gender", "afdeling"))


class SqlReadTransaction(ReportReads, OutboxReads, RegisterReads, TokenReads, LoginReads, ReadTransaction):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_engagement(self, engagement_id: int) -> Row | None:
        row = self._conn.execute(_GET_ENGAGEMENT, {"_id": engagement_id}).first()
        return cast(Row, row._mapping) if row is not None else None

    def events(self, engagement_id: int) -> list[Row]:
        rows = self._conn.execute(_EVENTS_OF, {"_id": engagement_id})
        return [cast(Row, r._mapping) for r in rows]

    def list_engagements(self, where: EngagementFilter) -> list[Row]:
        c = engagements.c
        stmt = select(engagements)
        stmt = where_equal(
            stmt,
            (
                (c.workflow, where.workflow),
                (c.state, where.state),
                (c.assignee, where.assignee),
                (c.supervisor, where.supervisor),
                (c.team, where.team),
                (c.subject, where.subject),
            ),
        )
        if where.tag is not None:
            tagged = select(engagement_tags.c.engagement_id).where(engagement_tags.c.tag == where.tag)
            stmt = stmt.where(c.id.in_(tagged))
        if where.visibility is not None:
            visible = visibility_clause(where.visibility)
            if visible is not None:
                stmt = stmt.where(visible)
        if where.due_before is not None:
            stmt = stmt.where(c.stage_due_at <= where.due_before)
        if where.order == "due":
            # The due-time index serves this order: a page is a range scan
            # that stops after the page, not a scan and sort of the table.
            stmt = stmt.where(c.stage_due_at.is_not(None))
            if where.after_due is not None:
                stmt = stmt.where(tuple_(c.stage_due_at, c.id) > tuple_(*where.after_due))
            stmt = stmt.order_by(c.stage_due_at, c.id)
        else:
            if where.after_id is not None:
                stmt = stmt.where(c.id > where.after_id)
            stmt = stmt.order_by(c.id)
        if where.offset:
            stmt = stmt.offset(where.offset)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        return [cast(Row, r._mapping) for r in self._conn.execute(stmt)]

    def due_engagements(
        self, now: datetime, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[tuple[int, datetime]]:
        c = engagements.c
        # Only the indexed column and the key: the index answers the range.
        stmt = select(c.id, c.next_reminder_at).where(c.next_reminder_at <= now)
        if after is not None:
            due, last = after
            stmt = stmt.where(or_(c.next_reminder_at > due, and_(c.next_reminder_at == due, c.id > last)))
        stmt = stmt.order_by(c.next_reminder_at, c.id).limit(limit)
        return [(int(r[0]), r[1]) for r in self._conn.execute(stmt)]

    def get_reminder(self, reminder_id: int) -> Row | None:
        row = self._conn.execute(_GET_REMINDER, {"_id": reminder_id}).first()
        return cast(Row, row._mapping) if row is not None else None

    def list_reminders(self, where: ReminderFilter) -> list[Row]:
        r, e = reminders.c, engagements.c
        stmt = select(reminders)
        if where.supervisor is not None or where.assignee is not None:
            stmt = stmt.join(engagements, e.id == r.engagement_id)
            if where.supervisor is not None:
                stmt = stmt.where(e.supervisor == where.supervisor)
            if where.assignee is not None:
                stmt = stmt.where(e.assignee == where.assignee)
        if where.engagement_id is not None:
            stmt = stmt.where(r.engagement_id == where.engagement_id)
        if where.open_only:
            stmt = stmt.where(r.acknowledged_at.is_(None))
        return [cast(Row, x._mapping) for x in self._conn.execute(stmt.order_by(r.id))]

    def final_before(
        self, states: Sequence[str], before: datetime, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[Row]:
        c = engagements.c
        # closed_from is set exactly in a final stage: the condition that lets
        # the partial index ix_engagements_closed_updated_at serve this range.
        stmt = select(
            c.id, c.workflow, c.workflow_version, c.state, c.subject, c.version, c.updated_at
        ).where(c.closed_from.is_not(None), c.state.in_(sorted(states)), c.updated_at < before)
        if after is not None:
            at, last = after
            stmt = stmt.where(or_(c.updated_at > at, and_(c.updated_at == at, c.id > last)))
        stmt = stmt.order_by(c.updated_at, c.id).limit(limit)
        return [cast(Row, r._mapping) for r in self._conn.execute(stmt)]


class SqlWriteTransaction(OutboxWrites, RegisterWrites, TokenWrites, LoginWrites, WriteTransaction):
    def __init__(self, cursor: Any, sql: SqlText) -> None:
        self._cur = cursor
        self._sql = sql

    def lock_engagement(self, engagement_id: int) -> Row | None:
        self._cur.execute(self._sql.select_engagement, {"_id": engagement_id})
        row = self._cur.fetchone()
        return self._sql.decode(self._sql.engagement_columns, row) if row is not None else None

    def get_idempotency(self, key: str) -> Row | None:
        self._cur.execute(self._sql.select_idempotency, {"key": key})
        row = self._cur.fetchone()
        return self._sql.decode(self._sql.idempotency_columns, row) if row is not None else None

    def insert_engagement(self, values: Mapping[str, Any]) -> int:
        # The reporting attributes are set by their own event, never at insert.
        params = {**_NOT_REPORTED, **self._sql.encode(values)}
        self._cur.execute(self._sql.insert_engagement, params)
        return int(self._cur.fetchone()[0])

    def update_engagement(self, engagement_id: int, expected_version: int, values: Mapping[str, Any]) -> bool:
        params = self._sql.encode(values)
        params["_id"] = engagement_id
        params["_expected"] = expected_version
        self._cur.execute(self._sql.update_engagement(tuple(values)), params)
        return bool(self._cur.rowcount == 1)

    def insert_tags(self, engagement_id: int, tags: Sequence[str]) -> None:
        for tag in tags:
            self._cur.execute(self._sql.insert_tag, {"engagement_id": engagement_id, "tag": tag})

    def replace_tags(self, engagement_id: int, tags: Sequence[str]) -> None:
        self._cur.execute(self._sql.delete_tags, {"_id": engagement_id})
        self.insert_tags(engagement_id, tags)

    def insert_event(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_event, self._sql.encode(values))

    def insert_idempotency(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_idempotency, self._sql.encode(values))

    def insert_access(self, values: Mapping[str, Any]) -> None:
        params = self._sql.encode(values)
        # Only a listing page names what it showed; only the engine chains entries.
        for column in ("shown", "chain", "seq", "prev_hash", "hash", "impersonator"):
            params.setdefault(column, None)
        self._cur.execute(self._sql.insert_access, params)

    def lock_engagement_if_free(self, engagement_id: int) -> Row | None:
        self._cur.execute(self._sql.select_engagement_skip_locked, {"_id": engagement_id})
        row = self._cur.fetchone()
        return self._sql.decode(self._sql.engagement_columns, row) if row is not None else None

    def get_reminder(self, reminder_id: int) -> Row | None:
        self._cur.execute(self._sql.select_reminder, {"_id": reminder_id})
        row = self._cur.fetchone()
        return self._sql.decode(self._sql.reminder_columns, row) if row is not None else None

    def reminders_of_entry(self, engagement_id: int, stage_entered_at: datetime) -> list[Row]:
        params = self._sql.encode({"stage_entered_at": stage_entered_at})
        params["_id"] = engagement_id
        self._cur.execute(self._sql.select_reminders_of_entry, params)
        cols = self._sql.reminder_columns
        return [self._sql.decode(cols, r) for r in self._cur.fetchall()]

    def insert_reminder(self, values: Mapping[str, Any]) -> int | None:
        self._cur.execute(self._sql.insert_reminder, self._sql.encode(values))
        row = self._cur.fetchone()
        return int(row[0]) if row is not None else None

    def update_reminder(self, reminder_id: int, values: Mapping[str, Any]) -> None:
        params = self._sql.encode(values)
        params["_id"] = reminder_id
        self._cur.execute(self._sql.update_reminder(tuple(values)), params)

    def insert_outbox(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_outbox, self._sql.encode(values))

    def delete_engagement(self, engagement_id: int) -> dict[str, int]:
        deleted: dict[str, int] = {}
        for table, sql in self._sql.delete_engagement:
            self._cur.execute(sql, {"_id": engagement_id})
            deleted[table] = max(int(self._cur.rowcount), 0)
        return deleted
