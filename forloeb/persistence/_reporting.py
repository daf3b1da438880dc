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
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, case, func, or_, select, type_coerce

from ._audit import visibility_clause
from ._tables import engagements, events
from ._types import JSONData
from .base import Row, Visibility

_BATCH = 5000


class ReportReads:
    _conn: Connection

    def report_events(
        self,
        until: datetime,
        *,
        payload_types: Collection[str],
        payload_states: Collection[str],
    ) -> Iterator[Row]:
        """Every event before ``until`` by engagement then seq, streamed; the payload
        only of events of ``payload_types`` and of transitions from or to one of
        ``payload_states`` (None for the others)."""
        ev = events.c
        wanted = or_(
            ev.type.in_(sorted(payload_types)),
            ev.to_state.in_(sorted(payload_states)),
            ev.from_state.in_(sorted(payload_states)),
        )
        payload = type_coerce(case((wanted, ev.payload), else_=None), JSONData).label("payload")
        stmt = (
            select(ev.engagement_id, ev.seq, ev.type, ev.trigger, ev.from_state, ev.to_state, ev.actor)
            .add_columns(ev.occurred_at, payload, engagements.c.workflow)
            .join(engagements, engagements.c.id == ev.engagement_id)
            .where(ev.occurred_at < until)
            .order_by(ev.engagement_id, ev.seq)
        )
        result = self._conn.execution_options(yield_per=_BATCH).execute(stmt)
        for r in result:
            yield cast(Row, r._mapping)

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
