"""SQLite specifics: the URL's own options (PRAGMAs), connection setup, and
the per-thread write connection's holder."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

from .base import StoreUnavailable

MMAP_BYTES = 1 << 30  # address space, not memory: the OS pages it in on demand
_SYNC_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_path(parsed: URL) -> str | None:
    """The file a SQLite URL names (None for memory or another backend).

    With ``?uri=true`` the database is a URI filename (``file:path?mode=ro``,
    SQLite's way to open a file read-only): its path is what lies between
    ``file:`` and the query.
    """
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = parsed.database
    if str(parsed.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
        if parsed.query.get("mode") == "memory" or database in ("", ":memory:"):
            return None
    return database


class ThreadConnection:
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


# Our own SQLite URL options (PRAGMAs), taken off the URL before the driver sees it.
SQLITE_OPTIONS = ("synchronous", "wal_autocheckpoint", "max_page_count")


def sqlite_pragmas(query: Mapping[str, Any]) -> tuple[str, ...]:
    """The PRAGMAs the URL asks for: ``synchronous`` (default FULL),
    ``wal_autocheckpoint`` (pages; SQLite's default 1000; 0 leaves
    checkpointing to the operator, e.g. a periodic ``PRAGMA wal_checkpoint``)
    and ``max_page_count`` (pages: a size limit for the database; a write
    that needs more fails with StoreFull, as on a full disk)."""
    sync = str(query.get("synchronous", "FULL")).upper()
    if sync not in _SYNC_LEVELS:
        raise StoreUnavailable(f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
    pragmas = [f"synchronous={sync}"]
    for name, least in (("wal_autocheckpoint", 0), ("max_page_count", 1)):
        if name in query:
            value = str(query[name])
            if not value.isdigit() or int(value) < least:
                raise StoreUnavailable(f"{name} must be a number of pages ({least} or more)")
            pragmas.append(f"{name}={int(value)}")
    return tuple(pragmas)


def sqlite_setup(dbapi_con: Any, pragmas: tuple[str, ...], *, wal: bool) -> None:
    # We issue BEGIN ourselves (SqlStore.write, and the "begin" hook), not pysqlite.
    dbapi_con.isolation_level = None
    cur = dbapi_con.cursor()
    if wal:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Deleted content is overwritten with zeros, not left in free pages (an
    # erasure must not leave the text on disk). SQLite's default is off unless
    # the library was built with SQLITE_SECURE_DELETE; set it on every connection.
    cur.execute("PRAGMA secure_delete=ON")
    for pragma in pragmas:
        cur.execute(f"PRAGMA {pragma}")
    # Read pages through a memory map: a page the OS already caches costs a
    # memory access instead of a read() call on large databases.
    cur.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cur.close()


def create_private(path: str) -> None:
    """Create the database file ``path`` readable and writable by its owner only
    (0600), unless it exists: SQLite then opens it, and its -wal and -shm files
    take the database file's permissions. Personal data; the umask is not asked."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a folder that does not exist or cannot be written: SQLite says so when it opens
    os.close(fd)


def checkpoint_truncate(conn: Any) -> bool:
    """Copy the WAL into the database and truncate it to zero bytes (what an erasure
    needs: the WAL still holds the pages as they were before the delete). False
    when a reader kept the checkpoint from finishing within the busy timeout."""
    cur = conn.cursor()
    try:
        busy, _log_pages, _done = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        cur.close()
    return not busy


def configure_sqlite(engine: Engine, pragmas: tuple[str, ...], *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        sqlite_setup(dbapi_con, pragmas, wal=wal)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # SQLAlchemy connections read (and migrate): a deferred BEGIN gives
        # reads one snapshot. Writes begin IMMEDIATE on the driver (SqlStore.write).
        conn.exec_driver_sql("BEGIN")
