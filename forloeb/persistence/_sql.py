"""``SqlStore``: the store on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import StaticPool

from ._audit import AuditStore, SqlAuditStore
from ._hotpath import SqlText
from ._outbox import OutboxReads, OutboxWrites
from ._query import where_equal
from ._tables import ALL_TABLES, engagement_tags, engagements, events, reminders
from .base import (
    EngagementFilter,
    ReadTransaction,
    ReminderFilter,
    Row,
    Store,
    StoreUnavailable,
    WriteConflict,
    WriteTransaction,
)

DEFAULT_URL = "sqlite:///forloeb.db"
MMAP_BYTES = 1 << 30  # address space, not memory: the OS pages it in on demand

# Built once: SQLAlchemy compiles each statement shape once and caches it.
_GET_ENGAGEMENT = select(engagements).where(engagements.c.id == bindparam("_id"))
_EVENTS_OF = select(events).where(events.c.engagement_id == bindparam("_id")).order_by(events.c.seq)
_GET_REMINDER = select(reminders).where(reminders.c.id == bindparam("_id"))
_SYNC_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_CONNECT_TIMEOUT = 10  # seconds, for servers (libpq's own default is to wait indefinitely)
# URL query options for a server's connection pool: name -> (type, smallest value).
_POOL_OPTIONS: dict[str, tuple[type[int] | type[float], float]] = {
    "pool_size": (int, 1),
    "max_overflow": (int, 0),
    "pool_timeout": (float, 0),
    "pool_recycle": (int, -1),
}


def _pool_options(query: Mapping[str, Any]) -> dict[str, Any]:
    """``?pool_size=10&pool_timeout=5`` on a server URL, checked."""
    out: dict[str, Any] = {}
    for name, (kind, least) in _POOL_OPTIONS.items():
        if name not in query:
            continue
        raw = query[name]
        try:
            value = kind(raw if isinstance(raw, str) else raw[-1])
        except ValueError:
            value = None
        if value is None or value < least:
            raise StoreUnavailable(f"{name} must be a number of at least {least:g}, not {raw!r}")
        out[name] = value
    return out


def safe_url(url: str | None) -> str:
    """The URL as it may be shown: the password hidden."""
    raw = normalize_url(url or DEFAULT_URL)
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def sqlite_file_missing(url: str | None) -> bool:
    """True for a SQLite file URL whose file does not exist (yet)."""
    try:
        parsed = make_url(normalize_url(url or DEFAULT_URL))
    except ArgumentError:
        return False
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not os.path.exists(parsed.database)


def normalize_url(url: str) -> str:
    """Accept a bare file path as a SQLite database."""
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


class SqlStore(Store):
    """SQLAlchemy Core store. Open with :meth:`open`."""

    def __init__(
        self, engine: Engine, url: str, *, pragmas: tuple[str, ...] | None = None, memory: bool = False
    ) -> None:
        self._engine = engine
        # SQLite files: each thread writes on its own connection (see _own_connection).
        self._pragmas = pragmas
        self._memory = memory
        self._local = threading.local()
        self._own: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._own_lock = threading.Lock()
        self.url = url
        self.dialect = engine.dialect.name
        self._sql = SqlText(self.dialect)
        # The write path raises the driver's own errors, not SQLAlchemy's.
        self._dbapi: Any = engine.dialect.loaded_dbapi
        self._conflict_errors: tuple[type[BaseException], ...] = (self._dbapi.IntegrityError,)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        pool_size: int | None = None,
        connect_timeout: float | None = None,
    ) -> SqlStore:
        raw = normalize_url(url or DEFAULT_URL)
        try:
            parsed = make_url(raw)
            parsed.get_dialect()  # an unknown scheme or a missing driver fails here
        except (ArgumentError, ImportError) as exc:
            raise StoreUnavailable(f"not a usable database URL ({exc})") from exc
        kwargs: dict[str, Any] = {}
        pragmas: tuple[str, ...] | None = None
        memory = False
        if parsed.get_backend_name() == "sqlite":
            # Our own options, not driver arguments: taken off the URL.
            pragmas = _sqlite_pragmas(parsed.query)
            parsed = parsed.difference_update_query(["synchronous", "wal_autocheckpoint"])
            memory = parsed.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"timeout": connect_timeout or 30.0}
            if memory:
                # One shared connection, or every checkout would see a new empty db.
                kwargs["poolclass"] = StaticPool
                kwargs["connect_args"]["check_same_thread"] = False
            engine = create_engine(parsed, **kwargs)
            _configure_sqlite(engine, pragmas, wal=not memory)
        else:
            # Pool options are SQLAlchemy's, not the driver's: taken off the URL,
            # so that FORLOEB_DB alone can carry every connection setting.
            # Arguments given to open() win over the URL.
            pool = _pool_options(parsed.query)
            parsed = parsed.difference_update_query(list(_POOL_OPTIONS))
            if pool_size is not None:
                pool["pool_size"] = pool_size
            kwargs.update(pool)
            if connect_timeout is not None:
                kwargs["connect_args"] = {"connect_timeout": max(1, round(connect_timeout))}
            elif "connect_timeout" not in parsed.query:
                # libpq waits for the OS (minutes) on an unreachable host.
                kwargs["connect_args"] = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}
            engine = create_engine(parsed, **kwargs)
            _ping_idle_connections(engine)
        store = cls(engine, parsed.render_as_string(hide_password=True), pragmas=pragmas, memory=memory)
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            engine.dispose()
            raise StoreUnavailable(_first_line(exc.orig)) from exc
        return store

    @contextmanager
    def read(self) -> Iterator[ReadTransaction]:
        try:
            conn = self._engine.connect()
        except OperationalError as exc:
            raise StoreUnavailable(_first_line(exc.orig)) from exc
        try:
            with conn, conn.begin():
                yield _ReadTransaction(conn)
        except DBAPIError as exc:
            # SQLAlchemy recognised a lost connection (and dropped it from the pool).
            if exc.connection_invalidated:
                raise StoreUnavailable(_first_line(exc.orig)) from exc
            raise

    def _own_connection(self) -> Any:
        """This thread's own SQLite write connection (opened on first use).

        A pool checkout and check-in costs ~25 µs, a sixth of a fire; SQLite
        connections are cheap and writers serialise on the file lock anyway,
        so each thread keeps one. It is closed when the thread ends (its
        thread-local holder is dropped) or when the store closes, so threads
        that come and go (a server's request threads) do not pile up open
        files. Not after a fork: the child opens its own.
        """
        holder: _ThreadConnection | None = getattr(self._local, "holder", None)
        if holder is None or holder.pid != os.getpid():
            cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
            cparams["check_same_thread"] = False  # closed by whichever thread drops it
            conn = self._dbapi.connect(*cargs, **cparams)
            assert self._pragmas is not None
            _sqlite_setup(conn, self._pragmas, wal=True)
            holder = _ThreadConnection(conn)
            self._local.holder = holder
            with self._own_lock:
                self._own.add(holder)
        return holder.conn

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        try:
            pooled = None if self._pragmas is not None and not self._memory else self._engine.raw_connection()
        except OperationalError as exc:
            raise StoreUnavailable(_first_line(exc.orig)) from exc
        except self._dbapi.OperationalError as exc:
            # raw_connection() lets the driver's own error through when a
            # reconnect (after a failed pre-ping) fails.
            raise StoreUnavailable(_first_line(exc)) from exc
        try:
            driver = self._own_connection() if pooled is None else pooled.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            if self.dialect == "sqlite":
                # Take the write lock up front: a deferred transaction that
                # reads and then writes can fail with SQLITE_BUSY without
                # waiting for the busy timeout.
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _WriteTransaction(cursor, self._sql)
                driver.commit()
            except BaseException:
                driver.rollback()
                raise
        except self._conflict_errors as exc:
            raise WriteConflict(str(exc)) from exc
        except self._dbapi.OperationalError as exc:
            if self.dialect == "postgresql":
                sqlstate = getattr(exc, "sqlstate", None)
                if sqlstate in ("40001", "40P01"):  # serialization failure, deadlock: retryable
                    raise WriteConflict(str(exc)) from exc
                if _server_gone(sqlstate) and pooled is not None:
                    # Not back into the pool: the next checkout opens a new connection.
                    pooled.invalidate(exc)
                    pooled = None
                    raise StoreUnavailable(_first_line(exc)) from exc
            raise
        finally:
            if pooled is not None:
                pooled.close()

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

    def audit(self) -> AuditStore:
        return SqlAuditStore(self._engine)

    @property
    def sa_engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and tools that need raw access."""
        return self._engine

    def close(self) -> None:
        with self._own_lock:
            for holder in list(self._own):
                holder.close()
            self._own.clear()
        self._engine.dispose()


class _ThreadConnection:
    """Holds one thread's SQLite write connection and closes it when dropped.

    sqlite3 connections cannot be weakly referenced; this holder can, so the
    store tracks live holders in a WeakSet while the thread-local owns them.
    A holder inherited across fork() belongs to the parent: never closed here.
    """

    __slots__ = ("__weakref__", "conn", "pid")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pid = os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid():
            self.conn.close()

    def __del__(self) -> None:
        # At interpreter exit the driver may be gone already.
        with contextlib.suppress(Exception):
            self.close()


IDLE_PING_SECONDS = 5.0


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled server connection before use, but only one that sat idle.

    ``pool_pre_ping`` pings on every checkout: ~300 µs, a third of a fire on
    PostgreSQL here. A connection in steady use has just proved itself; one
    idle for a while may have been cut (server restart, failover, a firewall's
    idle timeout), so that one is pinged, and replaced if dead (SQLAlchemy's
    documented checkout-event recipe). A connection cut within the idle window
    fails its command with ``StoreUnavailable`` and is dropped from the pool.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_con: Any, record: Any) -> None:
        if record is not None:
            record.info["forloeb_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_con: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("forloeb_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or used a moment ago
        try:
            cur = dbapi_con.cursor()
            cur.execute("SELECT 1")
            cur.close()
            dbapi_con.rollback()
        except Exception as exc:
            # The pool discards this connection and checks out a new one.
            raise DisconnectionError(str(exc)) from exc


def _first_line(exc: BaseException | None) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _server_gone(sqlstate: str | None) -> bool:
    """A PostgreSQL error that means the server or the connection is gone.

    No SQLSTATE: the client lost the connection; class 08: connection
    exceptions; 57P01-57P03: the server is shutting down or starting up.
    """
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _sqlite_pragmas(query: Mapping[str, Any]) -> tuple[str, ...]:
    """The PRAGMAs the URL asks for: ``synchronous`` (default FULL) and
    ``wal_autocheckpoint`` (pages; SQLite's default 1000; 0 leaves
    checkpointing to the operator, e.g. a periodic ``PRAGMA wal_checkpoint``)."""
    sync = str(query.get("synchronous", "FULL")).upper()
    if sync not in _SYNC_LEVELS:
        raise StoreUnavailable(f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
    pragmas = [f"synchronous={sync}"]
    if "wal_autocheckpoint" in query:
        value = str(query["wal_autocheckpoint"])
        if not value.isdigit():
            raise StoreUnavailable("wal_autocheckpoint must be a number of pages (0 or more)")
        pragmas.append(f"wal_autocheckpoint={int(value)}")
    return tuple(pragmas)


def _sqlite_setup(dbapi_con: Any, pragmas: tuple[str, ...], *, wal: bool) -> None:
    # We issue BEGIN ourselves (SqlStore.write, and the "begin" hook), not pysqlite.
    dbapi_con.isolation_level = None
    cur = dbapi_con.cursor()
    if wal:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    for pragma in pragmas:
        cur.execute(f"PRAGMA {pragma}")
    # Read pages through a memory map: a page the OS already caches costs a
    # memory access instead of a read() call on large databases.
    cur.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cur.close()


def _configure_sqlite(engine: Engine, pragmas: tuple[str, ...], *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        _sqlite_setup(dbapi_con, pragmas, wal=wal)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # SQLAlchemy connections read (and migrate): a deferred BEGIN gives
        # reads one snapshot. Writes begin IMMEDIATE on the driver (SqlStore.write).
        conn.exec_driver_sql("BEGIN")


class _ReadTransaction(OutboxReads, ReadTransaction):
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
        if where.due_before is not None:
            stmt = stmt.where(c.stage_due_at <= where.due_before)
        stmt = stmt.order_by(c.id).offset(where.offset)
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


class _WriteTransaction(OutboxWrites, WriteTransaction):
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
        self._cur.execute(self._sql.insert_engagement, self._sql.encode(values))
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

    def insert_event(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_event, self._sql.encode(values))

    def insert_idempotency(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_idempotency, self._sql.encode(values))

    def insert_access(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._sql.insert_access, self._sql.encode(values))

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
