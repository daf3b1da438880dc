"""Reads for caseload, intake and reports (issue 13), mixed into the read transaction.

The report is computed from the event log: :meth:`ReportReads.report_events`
streams the events up to a time in chain order (the unique
``(engagement_id, seq)`` index gives that order without a sort) and leaves
out the payloads the report never reads (a note's text, a stage's answers),
so that a year's report does not decode every note it passes. Caseload and
intake are about now: a GROUP BY and a filtered listing on the engagement
rows (the rows are what the events made them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, case, func, select

from ._audit import visibility_clause
from ._hotpath import sqlite_time, sqlite_time_in
from ._tables import engagements
from .base import Row, Visibility

_BATCH = 5000


class ReportReads:
    _conn: Connection

    def report_events(
        self,
        until: datetime,
        *,
        types: Collection[str],
        detail_states: Collection[str],
        since: datetime | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """The events of ``types`` before ``until`` by engagement then seq, streamed as
        plain tuples ``(engagement_id, type, from_state, to_state, occurred_at, workflow,
        source, a, b, c, d, e)``, the time as the database keeps it (compare it with
        :meth:`report_time`). ``since``: leave out the engagements that ended before it
        and have had no event since (nothing of theirs falls in a period from then).

        What a report reads of a payload is taken out by the database (``json_extract``,
        ``#>>``), as text, so no payload is decoded here: ``started``: a = team,
        b = assignee, c = tags (JSON), d = supervisor, e = data (JSON); a transition
        into or out of ``detail_states``: a = outcome, b = data.receiver, c =
        data.referred_to, d = data.level; ``self_help``: a = level; ``activity``:
        a = kind, b = with_whom (JSON); ``fields``: b = participants, c = volunteers,
        d = partners (JSON); ``reassigned``/``areas``/``reporting``: e = set (JSON).

        Hand-written SQL on the driver's cursor, without SQLAlchemy's per-row work: a
        year's report reads a million rows. On SQLite the time filter is kept off the
        time index (``+occurred_at``), so the scan follows the unique
        ``(engagement_id, seq)`` index in its order and never sorts.
        """
        sqlite = self._conn.dialect.name == "sqlite"
        values: list[Any] = []

        def bind(value: Any) -> str:
            values.append(value)
            return f"?{len(values)}" if sqlite else f"%(p{len(values)})s"

        def j(path: str) -> str:
            if sqlite:
                return f"json_extract(ev.payload, '$.{path}')"
            return f"(ev.payload #>> '{{{path.replace('.', ',')}}}')"

        cutoff = bind(self.report_time(until))
        kinds = ", ".join(bind(t) for t in sorted(types))
        states = ", ".join(bind(t) for t in sorted(detail_states)) or "NULL"
        detail = f"ev.type = 'transition' AND (ev.to_state IN ({states}) OR ev.from_state IN ({states}))"
        setting = "ev.type IN ('reassigned', 'areas', 'reporting')"
        columns = (
            f"CASE WHEN ev.type = 'started' THEN {j('team')} WHEN {detail} THEN {j('outcome')} "
            f"WHEN ev.type = 'self_help' THEN {j('level')} WHEN ev.type = 'activity' THEN {j('kind')} END",
            f"CASE WHEN ev.type = 'started' THEN {j('assignee')} WHEN {detail} THEN {j('data.receiver')} "
            f"WHEN ev.type = 'activity' THEN {j('with_whom')} "
            f"WHEN ev.type = 'fields' THEN {j('data.participants')} END",
            f"CASE WHEN ev.type = 'started' THEN {j('tags')} WHEN {detail} THEN {j('data.referred_to')} "
            f"WHEN ev.type = 'fields' THEN {j('data.volunteers')} END",
            f"CASE WHEN ev.type = 'started' THEN {j('supervisor')} WHEN {detail} THEN {j('data.level')} "
            f"WHEN ev.type = 'fields' THEN {j('data.partners')} END",
            f"CASE WHEN ev.type = 'started' THEN {j('data')} WHEN {setting} THEN {j('set')} END",
        )
        where = f"{'+' if sqlite else ''}ev.occurred_at < {cutoff} AND ev.type IN ({kinds})"
        if since is not None:
            where += (
                f" AND NOT (en.closed_from IS NOT NULL AND en.updated_at < {bind(self.report_time(since))})"
            )
        sql = (
            "SELECT ev.engagement_id, ev.type, ev.from_state, ev.to_state, ev.occurred_at, en.workflow, "
            f"en.source, {', '.join(columns)} "
            f"FROM events ev JOIN engagements en ON en.id = ev.engagement_id WHERE {where} "
            "ORDER BY ev.engagement_id, ev.seq"
        )
        params: Any = tuple(values) if sqlite else {f"p{i + 1}": v for i, v in enumerate(values)}
        dbapi = self._conn.connection.dbapi_connection
        assert dbapi is not None
        # A server-side cursor on PostgreSQL: a million rows are not held at once.
        cur = dbapi.cursor() if sqlite else dbapi.cursor(name="forloeb_report")
        try:
            cur.execute(sql, params)
            while rows := cur.fetchmany(_BATCH):
                yield from rows
        finally:
            cur.close()

    def report_time(self, value: datetime) -> Any:
        """``value`` as :meth:`report_events` gives times (they compare with each other)."""
        if self._conn.dialect.name == "sqlite":
            return sqlite_time(value)
        return value

    def report_datetime(self, value: Any) -> datetime:
        """A time of :meth:`report_events` as an aware datetime."""
        if isinstance(value, str):
            return sqlite_time_in(value)
        return cast(datetime, value).astimezone(UTC)

    def open_load(self, now: datetime, visibility: Visibility) -> list[Row]:
        """Per (assignee, team) of the engagements not in a final stage: how many,
        how many past their stage's due time, the oldest start and the oldest last event."""
        en = engagements.c
        stmt = (
            select(
                en.assignee,
                en.team,
                func.count().label("open"),
                func.sum(case((en.stage_due_at < now, 1), else_=0)).label("overdue"),
                func.min(en.created_at).label("oldest"),
                func.min(en.updated_at).label("quietest"),
            )
            .where(en.closed_from.is_(None))
            .group_by(en.assignee, en.team)
        )
        visible = visibility_clause(visibility)
        if visible is not None:
            stmt = stmt.where(visible)
        return [cast(Row, dict(r._mapping)) for r in self._conn.execute(stmt)]

    def unassigned(self, visibility: Visibility, team: str | None, limit: int | None) -> list[Row]:
        """Engagements nobody is assigned to and not in a final stage (the intake),
        oldest first."""
        en = engagements.c
        cond: list[Any] = [en.assignee.is_(None), en.closed_from.is_(None)]
        if team is not None:
            cond.append(en.team == team)
        stmt = select(engagements).where(and_(*cond)).order_by(en.created_at, en.id)
        visible = visibility_clause(visibility)
        if visible is not None:
            stmt = stmt.where(visible)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [cast(Row, dict(r._mapping)) for r in self._conn.execute(stmt)]

    def person_key_used(self, key: str) -> bool:
        """Whether any engagement carries the person key ``key``."""
        stmt = select(engagements.c.id).where(engagements.c.person_key == key).limit(1)
        return self._conn.execute(stmt).first() is not None


__all__ = ["ReportReads"]
