"""Storage for audit: event queries, chain scans and the access log.

Every filter is a bound parameter of a SQLAlchemy Core statement (never text
pasted into SQL), so a filter value that looks like SQL is only ever compared
as a value. Reads stream (``yield_per``) because a verify walks every event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from ._faults import Faults
from ._query import where_between, where_equal
from ._tables import access_chains, access_log, engagement_tags, engagements, events, settings
from .base import AccessQuery, AuditStore, EventQuery, Row, Visibility

# Rows fetched per round trip when streaming the event table.
_BATCH = 5000


def visibility_clause(vis: Visibility) -> ColumnElement[bool] | None:
    """The engagements ``vis`` lets a reader see, as a condition on ``engagements``
    (None: all of them)."""
    if vis.all:
        return None
    en = engagements.c
    allowed: list[ColumnElement[bool]] = [en.team.in_(sorted(vis.teams))] if vis.teams else []
    if vis.assignee is not None:
        allowed.append(en.assignee == vis.assignee)
    if vis.unrouted:
        allowed.append(en.team.is_(None))
    # Nobody to match: an impossible condition, not "no condition".
    return or_(*allowed) if allowed else en.id.is_(None)


class SqlAuditStore(AuditStore):
    def __init__(
        self,
        engine: Engine,
        faults: Faults,
        watching: Callable[[Connection], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._engine = engine
        self._faults = faults
        self._watching = watching

    @contextmanager
    def _connect(self, *, write: bool = False, watch: bool = True) -> Iterator[Connection]:
        """A connection (in a transaction to commit when ``write``), with driver
        faults raised as the store's and, on a server, the watchdog on it."""
        with self._faults.translated(), self._engine.connect() as conn:
            guard = self._watching(conn) if watch and self._watching else nullcontext()
            with guard:
                if write:
                    with conn.begin():
                        yield conn
                else:
                    yield conn

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
        visible = visibility_clause(where.visibility)
        if visible is not None:
            stmt = stmt.where(visible)
        if where.after is not None:
            at, last = where.after
            # A row-value comparison, not "a > x OR (a = x AND b > y)": both
            # backends turn it into a seek on the (actor, occurred_at, id) and
            # (occurred_at) indexes, so a later page costs what the first does.
            key = tuple_(ev.occurred_at, ev.id)
            after = tuple_(at, last)
            stmt = stmt.where(key < after if where.descending else key > after)
        order = (ev.occurred_at.desc(), ev.id.desc()) if where.descending else (ev.occurred_at, ev.id)
        stmt = stmt.order_by(*order)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        with self._connect() as conn:
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
        # Streamed for as long as a verify takes: no deadline (keepalives and
        # tcp_user_timeout still find a dead network).
        with self._connect(watch=False) as conn:
            result = conn.execution_options(yield_per=_BATCH).execute(stmt)
            for r in result:
                yield cast(Row, r._mapping)

    def heads(self, engagement_id: int | None = None) -> dict[int, tuple[int, str]]:
        en = engagements.c
        stmt = select(en.id, en.version, en.head_hash).order_by(en.id)
        if engagement_id is not None:
            stmt = stmt.where(en.id == engagement_id)
        with self._connect() as conn:
            return {int(r[0]): (int(r[1]), str(r[2])) for r in conn.execute(stmt)}

    def engagement_rows(self, ids: Sequence[int]) -> dict[int, Row]:
        if not ids:
            return {}
        stmt = select(engagements).where(engagements.c.id.in_(sorted(set(ids))))
        with self._connect() as conn:
            return {int(r.id): cast(Row, dict(r._mapping)) for r in conn.execute(stmt)}

    def insert_access(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        with self._connect(write=True) as conn:
            conn.execute(insert(access_log), [dict(r) for r in rows])

    def insert_access_page(self, entry: Mapping[str, Any], shown: Sequence[Mapping[str, Any]]) -> None:
        row = dict(entry)
        row.update(
            engagement_id=None,
            subject=None,
            shown=[{"id": int(e["id"]), "subject": e["subject"]} for e in shown],
        )
        with self._connect(write=True) as conn:
            conn.execute(insert(access_log), [row])

    def list_access(self, where: AccessQuery) -> list[Row]:
        c = access_log.c
        stmt = select(access_log)
        stmt = where_equal(stmt, ((c.actor, where.actor), (c.action, where.action)))
        # An entry is about a subject (or an engagement) when its own column
        # says so, or when it is a page that showed it.
        if where.subject is not None:
            stmt = stmt.where(or_(c.subject == where.subject, self._showed("subject", where.subject)))
        if where.engagement_id is not None:
            stmt = stmt.where(
                or_(c.engagement_id == where.engagement_id, self._showed("id", where.engagement_id))
            )
        stmt = where_between(stmt, c.occurred_at, where.since, where.until)
        if where.after is not None:
            at, last = where.after
            stmt = stmt.where(or_(c.occurred_at > at, and_(c.occurred_at == at, c.id > last)))
        stmt = stmt.order_by(c.occurred_at, c.id)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        with self._connect() as conn:
            return [cast(Row, dict(r._mapping)) for r in conn.execute(stmt)]

    def _showed(self, key: str, value: object) -> ColumnElement[bool]:
        """The page entry's ``shown`` list holds an engagement whose ``key`` is ``value``.

        Scans the page entries (an access request is rare; a page is one
        entry, so there are few): on PostgreSQL a containment test on the
        JSONB, on SQLite a ``json_each`` over the array.
        """
        shown = access_log.c.shown
        if self._engine.dialect.name == "postgresql":
            # The column is JSONB there (a variant type): coerce so that
            # contains() is JSONB's @>, not a string LIKE.
            return type_coerce(shown, JSONB()).contains([{key: value}])
        item = func.json_each(shown).table_valued("value").alias("item")
        match = func.json_extract(item.c.value, f"$.{key}") == value
        return and_(shown.is_not(None), exists(select(1).select_from(item).where(match)))

    def access_chain(self, chain: str) -> Iterator[Row]:
        c = access_log.c
        stmt = select(access_log).where(c.chain == chain).order_by(c.seq)
        with self._connect(watch=False) as conn:
            for r in conn.execution_options(yield_per=_BATCH).execute(stmt):
                yield cast(Row, dict(r._mapping))

    def setting(self, name: str) -> Any | None:
        with self._connect() as conn:
            return conn.execute(select(settings.c.value).where(settings.c.name == name)).scalar()

    def access_chain_heads(self) -> dict[str, tuple[int, str]]:
        with self._connect() as conn:
            rows = conn.execute(select(access_chains.c.name, access_chains.c.seq, access_chains.c.head))
            return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def unchained_access(self) -> list[Row]:
        c = access_log.c
        stmt = select(c.id, c.occurred_at, c.actor, c.action).where(c.seq.is_(None)).order_by(c.id)
        with self._connect() as conn:
            return [cast(Row, dict(r._mapping)) for r in conn.execute(stmt)]

    def purge_access(self, before: datetime) -> int:
        with self._connect(write=True) as conn:
            result = conn.execute(delete(access_log).where(access_log.c.occurred_at < before))
            return int(result.rowcount or 0)


__all__ = ["AccessQuery", "AuditStore", "EventQuery", "SqlAuditStore", "Visibility", "visibility_clause"]
