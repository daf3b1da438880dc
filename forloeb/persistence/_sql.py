"""``SqlStore``: the store on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from ._tables import ALL_TABLES, engagement_tags, engagements, events, idempotency_keys
from .base import EngagementFilter, Row, Store, StoreUnavailable, Transaction, WriteConflict

DEFAULT_URL = "sqlite:///forloeb.db"
_SYNC_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")



def normalize_url(url: str) -> str:
    """Accept a bare file path as a SQLite database."""
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


class SqlStore(Store):
    """SQLAlchemy Core store. Open with :meth:`open`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url
        self.dialect = engine.dialect.name

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        pool_size: int | None = None,
        connect_timeout: float | None = None,
    ) -> SqlStore:
        raw = normalize_url(url or DEFAULT_URL)
        parsed = make_url(raw)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            # Our own option, not a driver argument: take it off the URL.
            sync = str(parsed.query.get("synchronous", "FULL")).upper()
            if sync not in _SYNC_LEVELS:
                raise StoreUnavailable(f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
            parsed = parsed.difference_update_query(["synchronous"])
            memory = parsed.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"timeout": connect_timeout or 30.0}
            if memory:
                # One shared connection, or every checkout would see a new empty db.
                kwargs["poolclass"] = StaticPool
                kwargs["connect_args"]["check_same_thread"] = False
            engine = create_engine(parsed, **kwargs)
            _configure_sqlite(engine, sync, wal=not memory)
        else:
            if pool_size is not None:
                kwargs["pool_size"] = pool_size
            if connect_timeout is not None:
                kwargs["connect_args"] = {"connect_timeout": int(connect_timeout)}
            kwargs["pool_pre_ping"] = True
            engine = create_engine(parsed, **kwargs)
        store = cls(engine, parsed.render_as_string(hide_password=True))
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            engine.dispose()
            raise StoreUnavailable(str(exc.orig).strip().splitlines()[0]) from exc
        return store

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Transaction]:
        with self._engine.connect() as conn:
            if not write:
                conn = conn.execution_options(forloeb_read=True)
            try:
                with conn.begin():
                    yield _SqlTransaction(conn, self.dialect)
            except IntegrityError as exc:
                raise WriteConflict(str(exc.orig)) from exc
            except OperationalError as exc:
                if self.dialect == "postgresql" and _is_pg_serialization(exc):
                    raise WriteConflict(str(exc.orig)) from exc
                raise

    def schema_revision(self) -> str | None:
        with self._engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self) -> None:
        from ._migrate import upgrade

        upgrade(self._engine)

    def row_counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in ALL_TABLES
            }

    @property
    def sa_engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and tools that need raw access."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()


def _is_pg_serialization(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40001", "40P01")


def _configure_sqlite(engine: Engine, synchronous: str, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's implicit BEGIN is
        # deferred, and a deferred reader that later writes can fail with
        # SQLITE_BUSY without waiting. BEGIN IMMEDIATE takes the write lock up front.
        dbapi_con.isolation_level = None
        cur = dbapi_con.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("forloeb_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class _SqlTransaction(Transaction):
    def __init__(self, conn: Connection, dialect: str) -> None:
        self._conn = conn
        self._dialect = dialect

    def get_engagement(self, engagement_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(engagements).where(engagements.c.id == engagement_id)
        if lock and self._dialect != "sqlite":
            # SQLite's BEGIN IMMEDIATE already excludes other writers.
            stmt = stmt.with_for_update()
        row = self._conn.execute(stmt).first()
        return row._mapping if row is not None else None

    def insert_engagement(self, values: Mapping[str, Any]) -> int:
        result = self._conn.execute(insert(engagements).values(**values))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def update_engagement(
        self, engagement_id: int, expected_version: int, values: Mapping[str, Any]
    ) -> bool:
        result = self._conn.execute(
            update(engagements)
            .where(engagements.c.id == engagement_id, engagements.c.version == expected_version)
            .values(**values)
        )
        return result.rowcount == 1

    def insert_tags(self, engagement_id: int, tags: Sequence[str]) -> None:
        if tags:
            self._conn.execute(
                insert(engagement_tags),
                [{"engagement_id": engagement_id, "tag": t} for t in tags],
            )

    def insert_event(self, values: Mapping[str, Any]) -> None:
        self._conn.execute(insert(events).values(**values))

    def events(self, engagement_id: int) -> list[Row]:
        rows = self._conn.execute(
            select(events).where(events.c.engagement_id == engagement_id).order_by(events.c.seq)
        )
        return [r._mapping for r in rows]

    def list_engagements(self, where: EngagementFilter) -> list[Row]:
        c = engagements.c
        stmt = select(engagements)
        for column, value in (
            (c.workflow, where.workflow),
            (c.state, where.state),
            (c.assignee, where.assignee),
            (c.supervisor, where.supervisor),
            (c.team, where.team),
            (c.subject, where.subject),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if where.tag is not None:
            stmt = stmt.where(
                c.id.in_(select(engagement_tags.c.engagement_id).where(engagement_tags.c.tag == where.tag))
            )
        if where.due_before is not None:
            stmt = stmt.where(c.stage_due_at <= where.due_before)
        stmt = stmt.order_by(c.id).offset(where.offset)
        if where.limit is not None:
            stmt = stmt.limit(where.limit)
        return [r._mapping for r in self._conn.execute(stmt)]

    def get_idempotency(self, key: str) -> Row | None:
        row = self._conn.execute(
            select(idempotency_keys).where(idempotency_keys.c.key == key)
        ).first()
        return row._mapping if row is not None else None

    def insert_idempotency(self, values: Mapping[str, Any]) -> None:
        self._conn.execute(insert(idempotency_keys).values(**values))
