"""Storage for audit: event queries, chain scans and the access log.

Every filter is a bound parameter of a SQLAlchemy Core statement (never text
pasted into SQL), so a filter value that looks like SQL is only ever compared
as a value. Reads stream (``yield_per``) because a verify walks every event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, and_, delete, insert, or_, select

from ._query import where_between, where_equal
from ._tables import access_log, engagement_tags, engagements, events
from .base import Row

# Rows fetched per round trip when streaming the event table.
_BATCH = 5000


@dataclass(frozen=True, kw_only=True)
class Visibility:
    """Which engagements a reader may see: all, or those of ``teams``, those
    assigned to ``assignee`` and (``unrouted``) those without a team. Built by the engine's one access rule
    (``forloeb.engine._access``); the store only turns it into SQL."""

    all: bool
    teams: frozenset[str] = frozenset()
    assignee: str | None = None
    unrouted: bool = False


@dataclass(frozen=True, kw_only=True)
class EventQuery:
    engagement_id: int | None = None
    workflow: str | None = None
    actor: str | None = None
    type: str | None = None
    trigger: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tag: str | None = None
    team: str | None = None
    visibility: Visibility = field(default_factory=lambda: Visibility(all=True))
    descending: bool = False
    # Keyset paging: (occurred_at, events.id) of the last row of the previous page.
    after: tuple[datetime, int] | None = None
    limit: int | None = None


@dataclass(frozen=True, kw_only=True)
class AccessQuery:
    subject: str | None = None
    actor: str | None = None
    engagement_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    # e.g. "delete": verify looks up the erasures since a checkpoint.
    action: str | None = None


class AuditStore(ABC):
    """What the audit part of the engine needs from storage."""

    @abstractmethod
    def query_events(self, where: EventQuery) -> list[Row]:
        """Events with their engagement's workflow, team and subject, in time order."""

    @abstractmethod
    def chain(self, engagement_id: int | None = None) -> Iterator[Row]:
        """Every event (of one engagement, or all) by engagement then seq, streamed."""

    @abstractmethod
    def heads(self, engagement_id: int | None = None) -> dict[int, tuple[int, str]]:
        """Engagement id -> (version, head_hash) as the engagements table holds them."""

    @abstractmethod
    def engagement_rows(self, ids: Sequence[int]) -> dict[int, Row]: ...

    @abstractmethod
    def insert_access(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append access-log entries in a transaction of their own."""

    @abstractmethod
    def list_access(self, where: AccessQuery) -> list[Row]: ...

    @abstractmethod
    def purge_access(self, before: datetime) -> int:
        """Delete access-log entries older than ``before``; the number deleted."""


class SqlAuditStore(AuditStore):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def query_events(self, where: EventQuery) -> list[Row]:
        ev, en = events.c, engagements.c
        stmt = select(
            events,
            en.workflow,
            en.team,
            en.subject,
            en.assignee,
        ).join(engagements, en.id == ev.engagement_id)
        stmt = where_equal(
            stmt,
            (
                (ev.engagement_id, where.engagement_id),
                (en.workflow, where.workflow),
                (ev.actor, where.actor),
                (ev.type, where.type),
                (ev.trigger, where.trigger),
                (ev.to_state, where.state),
                (en.team, where.team),
            ),
        )
        stmt = where_between(stmt, ev.occurred_at, where.since, where.until)
        if where.tag is not None:
            tagged = select(engagement_tags.c.engagement_id).where(engagement_tags.c.tag == where.tag)
            stmt = stmt.where(ev.engagement_id.in_(tagged))
        vis = where.visibility
        if not vis.all:
            allowed: list[ColumnElement[bool]] = [en.team.in_(sorted(vis.teams))] if vis.teams else []
            if vis.assignee is not None:
                allowed.append(en.assignee == vis.assignee)
            if vis.unrouted:
                allowed.append(en.team.is_(None))
            # Nobody to match: an impossible condition, not "no condition".
            stmt = stmt.where(or_(*allowed) if allowed else ev.id.is_(None))
        if where.after is not None:
            at, last = where.after
            if where.descending:
                stmt = stmt.where(or_(ev.occurred_at < at, and_(ev.occurred_at == at, ev.id < last)))
            else:
                stmt = stmt.where(or_(ev.occurred_at > at, and_(ev.occurred_at == at, ev.id > last)))
        order = (ev.occurred_at.desc(), ev.id.desc()) if where.descending else (ev.occurred_at, ev.id)
        stmt = stmt.order_by(*order)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        with self._engine.connect() as conn:
            return [cast(Row, dict(r._mapping)) for r in conn.execute(stmt)]

    def chain(self, engagement_id: int | None = None) -> Iterator[Row]:
        ev = events.c
        stmt = select(
            ev.engagement_id,
            ev.seq,
            ev.type,
            ev.trigger,
            ev.from_state,
            ev.to_state,
            ev.actor,
            ev.role,
            ev.payload,
            ev.occurred_at,
            ev.prev_hash,
            ev.hash,
        )
        if engagement_id is not None:
            stmt = stmt.where(ev.engagement_id == engagement_id)
        # The unique (engagement_id, seq) index gives this order without a sort.
        stmt = stmt.order_by(ev.engagement_id, ev.seq)
        with self._engine.connect() as conn:
            result = conn.execution_options(yield_per=_BATCH).execute(stmt)
            for r in result:
                yield cast(Row, r._mapping)

    def heads(self, engagement_id: int | None = None) -> dict[int, tuple[int, str]]:
        en = engagements.c
        stmt = select(en.id, en.version, en.head_hash).order_by(en.id)
        if engagement_id is not None:
            stmt = stmt.where(en.id == engagement_id)
        with self._engine.connect() as conn:
            return {int(r[0]): (int(r[1]), str(r[2])) for r in conn.execute(stmt)}

    def engagement_rows(self, ids: Sequence[int]) -> dict[int, Row]:
        if not ids:
            return {}
        stmt = select(engagements).where(engagements.c.id.in_(sorted(set(ids))))
        with self._engine.connect() as conn:
            return {int(r.id): cast(Row, dict(r._mapping)) for r in conn.execute(stmt)}

    def insert_access(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        with self._engine.begin() as conn:
            conn.execute(insert(access_log), [dict(r) for r in rows])

    def list_access(self, where: AccessQuery) -> list[Row]:
        c = access_log.c
        stmt = select(access_log)
        stmt = where_equal(
            stmt,
            (
                (c.subject, where.subject),
                (c.actor, where.actor),
                (c.engagement_id, where.engagement_id),
                (c.action, where.action),
            ),
        )
        stmt = where_between(stmt, c.occurred_at, where.since, where.until)
        stmt = stmt.order_by(c.occurred_at, c.id)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        with self._engine.connect() as conn:
            return [cast(Row, dict(r._mapping)) for r in conn.execute(stmt)]

    def purge_access(self, before: datetime) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(delete(access_log).where(access_log.c.occurred_at < before))
            return int(result.rowcount or 0)


__all__ = ["AccessQuery", "AuditStore", "EventQuery", "SqlAuditStore", "Visibility"]
