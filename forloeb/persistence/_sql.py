"""``SqlStore``: the store on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.pool import StaticPool

from . import _pg
from ._audit import SqlAuditStore
from ._faults import VALUE_ERRORS, Faults, StoreRejected, first_line
from ._hotpath import SqlText
from ._sqlite import (
    SQLITE_OPTIONS,
    ThreadConnection,
    checkpoint_truncate,
    configure_sqlite,
    create_private,
    sqlite_path,
    sqlite_pragmas,
    sqlite_setup,
)
from ._tables import ALL_TABLES
from ._transactions import SqlReadTransaction, SqlWriteTransaction
from .base import (
    AuditStore,
    ReadTransaction,
    Store,
    StoreFault,
    StoreUnavailable,
    WriteConflict,
    WriteTransaction,
)

DEFAULT_URL = "sqlite:///forloeb.db"
DEFAULT_CONNECT_TIMEOUT = 10  # seconds, for servers (libpq's own default is to wait indefinitely)
# SQLite: how long a writer (and a reader) waits for another writer's lock
# before the command fails with StoreBusy (``connect_timeout`` overrides it).
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds
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


# Query parameters of a database URL whose value is a secret: libpq takes the
# password (and the client key's) there too, and no value of these is shown.
SECRET_QUERY = frozenset({"password", "passwd", "pwd", "sslpassword", "token", "secret", "key"})


def shown_url(parsed: URL) -> str:
    """``parsed`` as it may be shown: the user's password and secret query values as ***."""
    secret = {k: "***" for k in parsed.query if k.lower() in SECRET_QUERY}
    if not secret:
        return parsed.render_as_string(hide_password=True)
    # Rendered percent-encoded; shown as the *** of the user part's password.
    return parsed.update_query_dict(secret).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def safe_url(url: str | None) -> str:
    """The URL as it may be shown: the password hidden (also one given as ``?password=``)."""
    raw = normalize_url(url or DEFAULT_URL)
    try:
        return shown_url(make_url(raw))
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        return "<unparseable URL>"


def sqlite_file_missing(url: str | None) -> bool:
    """True for a SQLite file URL whose file does not exist (yet)."""
    try:
        parsed = make_url(normalize_url(url or DEFAULT_URL))
    except (ArgumentError, ValueError):
        return False
    path = sqlite_path(parsed)
    return path is not None and not os.path.exists(path)


def normalize_url(url: str) -> str:
    """Accept a bare file path as a SQLite database."""
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


class SqlStore(Store):
    """SQLAlchemy Core store. Open with :meth:`open`."""

    def __init__(
        self,
        engine: Engine,
        url: str,
        *,
        pragmas: tuple[str, ...] | None = None,
        memory: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        path: str | None = None,
        watchdog: _pg.Watchdog | None = None,
    ) -> None:
        self._engine = engine
        # SQLite files: each thread writes on its own connection (see _own_connection).
        self._pragmas = pragmas
        self._memory = memory
        # The reads' pool gets it from create_engine; the own write connections
        # are made here and must be given it too.
        self._busy_timeout = busy_timeout
        # PostgreSQL: cuts a connection whose unit of work gets no answer in time.
        self._watchdog = watchdog
        self._local = threading.local()
        self._own: weakref.WeakSet[ThreadConnection] = weakref.WeakSet()
        self._own_lock = threading.Lock()
        self.url = url
        self.dialect = engine.dialect.name
        self._sql = SqlText(self.dialect)
        # The write path raises the driver's own errors, not SQLAlchemy's.
        self._dbapi: Any = engine.dialect.loaded_dbapi
        self._conflict_errors: tuple[type[BaseException], ...] = (self._dbapi.IntegrityError,)
        self._faults = Faults(self.dialect, self._dbapi, path)

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
        except (ArgumentError, ValueError) as exc:
            # Not the exception's text: it may repeat the URL, password and all.
            raise StoreUnavailable("not a usable database URL (it cannot be parsed)") from exc
        try:
            parsed.get_dialect()  # an unknown scheme or a missing driver fails here
        except (ArgumentError, ImportError) as exc:
            unknown = f"unknown database or driver {parsed.drivername!r}"
            raise StoreUnavailable(f"not a usable database URL: {unknown}") from exc
        kwargs: dict[str, Any] = {}
        pragmas: tuple[str, ...] | None = None
        memory = False
        busy_timeout = connect_timeout or DEFAULT_BUSY_TIMEOUT
        path: str | None = None
        watchdog: _pg.Watchdog | None = None
        if parsed.get_backend_name() == "sqlite":
            # Our own options, not driver arguments: taken off the URL.
            pragmas = sqlite_pragmas(parsed.query)
            parsed = parsed.difference_update_query(list(SQLITE_OPTIONS))
            path = sqlite_path(parsed)
            memory = path is None
            if path is not None and str(parsed.query.get("uri", "")).lower() not in ("true", "1"):
                # Owner-only before SQLite creates it (a URI filename keeps its own modes).
                create_private(path)
            kwargs["connect_args"] = {"timeout": busy_timeout}
            if memory:
                # One shared connection, or every checkout would see a new empty db.
                kwargs["poolclass"] = StaticPool
                kwargs["connect_args"]["check_same_thread"] = False
            engine = create_engine(parsed, **kwargs)
            configure_sqlite(engine, pragmas, wal=not memory)
        else:
            # Pool options are SQLAlchemy's, not the driver's: taken off the URL,
            # so that FORLOEB_DB alone can carry every connection setting.
            # Arguments given to open() win over the URL.
            pool = _pool_options(parsed.query)
            statement_timeout = _pg.statement_timeout(parsed.query)
            parsed = parsed.difference_update_query([*_POOL_OPTIONS, *_pg.OWN_OPTIONS])
            if pool_size is not None:
                pool["pool_size"] = pool_size
            kwargs.update(pool)
            # Statement timeout, keepalives, tcp_user_timeout (see _pg.py).
            connect_args = _pg.connect_args(parsed.query, statement_timeout)
            if connect_timeout is not None:
                connect_args["connect_timeout"] = max(1, round(connect_timeout))
            elif "connect_timeout" not in parsed.query:
                # libpq waits for the OS (minutes) on an unreachable host.
                connect_args["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
            kwargs["connect_args"] = connect_args
            engine = create_engine(parsed, **kwargs)
            deadline = _pg.client_deadline(statement_timeout)
            watchdog = _pg.Watchdog(deadline) if deadline is not None else None
            _ping_idle_connections(engine, watchdog)
        store = cls(
            engine,
            shown_url(parsed),
            pragmas=pragmas,
            memory=memory,
            busy_timeout=busy_timeout,
            path=path,
            watchdog=watchdog,
        )
        try:
            # A read-only place fails here already (a WAL reader must create
            # the -shm file): StoreReadOnly, not "cannot connect".
            with store._faults.translated(), engine.connect():
                pass
        except StoreFault:
            store.close()
            raise
        except DBAPIError as exc:
            store.close()
            raise StoreUnavailable(first_line(exc.orig)) from exc
        return store

    @contextmanager
    def read(self) -> Iterator[ReadTransaction]:
        # A locked, full or read-only database, or a server gone, is a
        # StoreFault here as on the write path (see _faults.py).
        with self._faults.translated():
            conn = self._engine.connect()
            with conn, self._watching(conn), conn.begin():
                yield SqlReadTransaction(conn)

    def _watching(self, conn: Connection) -> AbstractContextManager[None]:
        """The watchdog on ``conn``'s socket for the block (PostgreSQL; nothing on SQLite)."""
        if self._watchdog is None:
            return contextlib.nullcontext()
        return self._watchdog.watching(_fileno(conn.connection.driver_connection))

    def _own_connection(self) -> Any:
        """This thread's own SQLite write connection (opened on first use).

        A pool checkout and check-in costs ~25 µs, a sixth of a fire; SQLite
        connections are cheap and writers serialise on the file lock anyway,
        so each thread keeps one. It is closed when the thread ends (its
        thread-local holder is dropped) or when the store closes, so threads
        that come and go (a server's request threads) do not pile up open
        files. Not after a fork: the child opens its own.
        """
        holder: ThreadConnection | None = getattr(self._local, "holder", None)
        if holder is None or holder.pid != os.getpid():
            cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
            cparams["check_same_thread"] = False  # closed by whichever thread drops it
            # create_connect_args reads the URL only: the busy timeout given to
            # create_engine (connect_args) is not in it, and sqlite3's default
            # is 5 s. Writers must wait as long as readers do.
            cparams["timeout"] = self._busy_timeout
            conn = self._dbapi.connect(*cargs, **cparams)
            assert self._pragmas is not None
            sqlite_setup(conn, self._pragmas, wal=True)
            holder = ThreadConnection(conn)
            self._local.holder = holder
            with self._own_lock:
                self._own.add(holder)
        return holder.conn

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        try:
            pooled = None if self._pragmas is not None and not self._memory else self._engine.raw_connection()
        except (DBAPIError, self._dbapi.Error) as exc:
            # raw_connection() lets the driver's own error through when a
            # reconnect (after a failed pre-ping) fails.
            fault = self._faults.of(exc)
            raise fault or StoreUnavailable(first_line(exc)) from exc
        token: int | None = None
        try:
            driver = self._own_connection() if pooled is None else pooled.driver_connection
            assert driver is not None
            fileno = _fileno(driver) if self._watchdog is not None else None
            if self._watchdog is not None and fileno is not None:
                token = self._watchdog.arm(fileno)
            cursor = driver.cursor()
            if self.dialect == "sqlite":
                # Take the write lock up front: a deferred transaction that
                # reads and then writes can fail with SQLITE_BUSY without
                # waiting for the busy timeout.
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield SqlWriteTransaction(cursor, self._sql)
                driver.commit()
            except BaseException:
                # All or nothing: a full disk, a read-only file or a lost
                # server leave no part of the command behind. (SQLite may
                # have rolled back already; then this is a no-op.)
                with contextlib.suppress(self._dbapi.Error):
                    driver.rollback()
                raise
        except self._conflict_errors as exc:
            raise WriteConflict(str(exc)) from exc
        except VALUE_ERRORS as exc:
            # A value the driver cannot bind (an int beyond 64 bits, undecodable
            # text): refused, and the transaction was rolled back above.
            raise StoreRejected(first_line(exc)) from exc
        except self._dbapi.Error as exc:
            sqlstate = getattr(exc, "sqlstate", None)
            if self.dialect == "postgresql" and sqlstate in ("40001", "40P01"):
                # Serialization failure, deadlock: retryable.
                raise WriteConflict(str(exc)) from exc
            fault = self._faults.of(exc)
            if token is not None and self._watchdog is not None and self._watchdog.disarm(token):
                # The watchdog cut it: say so, not "server closed the connection".
                fault = StoreUnavailable(self._watchdog.message)
            token = None
            if fault is None:
                raise
            if isinstance(fault, StoreUnavailable) and pooled is not None:
                # Not back into the pool: the next checkout opens a new connection.
                pooled.invalidate(exc)
                pooled = None
            raise fault from exc
        finally:
            if token is not None and self._watchdog is not None:
                self._watchdog.disarm(token)
            if pooled is not None:
                pooled.close()

    def schema_revision(self) -> str | None:
        with self._faults.translated(), self._engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self) -> None:
        from ._migrate import upgrade

        with self._faults.translated():
            upgrade(self._engine)

    def row_counts(self) -> dict[str, int]:
        with self._faults.translated(), self._engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in ALL_TABLES
            }

    def scrub(self) -> str | None:
        if self._memory:
            return None  # nothing on disk
        try:
            if self.dialect == "sqlite":
                if not checkpoint_truncate(self._own_connection()):
                    return "a reader kept the WAL checkpoint from finishing"
                return None
            tables = ", ".join(table for table, _ in self._sql.delete_engagement)
            with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # The rows' dead versions go, and their space is free for reuse
                # (the statement timeout applies: a huge table may need an operator's VACUUM).
                conn.exec_driver_sql(f"VACUUM {tables}")
            return None
        except (DBAPIError, self._dbapi.Error) as exc:
            return first_line(getattr(exc, "orig", None) or exc)

    def audit(self) -> AuditStore:
        return SqlAuditStore(self._engine, self._faults, self._watching)

    @property
    def sa_engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and tools that need raw access."""
        return self._engine

    def close(self) -> None:
        with self._own_lock:
            for holder in list(self._own):
                holder.close()
            self._own.clear()
        if self._watchdog is not None:
            self._watchdog.close()
        self._engine.dispose()


def _fileno(driver_connection: Any) -> int | None:
    """The socket of a server connection (psycopg's ``fileno()``); None if it has none."""
    fileno = getattr(driver_connection, "fileno", None)
    if fileno is None:
        return None
    try:
        return int(fileno())
    except Exception:  # a closed connection: nothing to watch, its use will fail anyway
        return None


IDLE_PING_SECONDS = 5.0


def _ping_idle_connections(engine: Engine, watchdog: _pg.Watchdog | None = None) -> None:
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
            # Under the watchdog: a ping into a network that stopped answering
            # would otherwise wait as long as the operating system does.
            with watchdog.watching(_fileno(dbapi_con)) if watchdog else contextlib.nullcontext():
                cur = dbapi_con.cursor()
                cur.execute("SELECT 1")
                cur.close()
                dbapi_con.rollback()
        except Exception as exc:
            # The pool discards this connection and checks out a new one.
            raise DisconnectionError(str(exc)) from exc
