"""Driver errors that are not about the data, as the store's own exceptions.

A full disk, a locked or read-only SQLite file, a PostgreSQL server that is
gone or a statement that timed out are conditions an operator must act on,
not bugs: the store raises them as :class:`~.base.StoreFault` subclasses
(one line each, the driver's message kept as the text), for reads and writes
alike, so that the engine can report them in one line. Anything else (a
constraint the engine did not expect, a malformed database) stays the
driver's error, with its traceback, because it is one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from .base import StoreBusy, StoreFault, StoreFull, StoreReadOnly, StoreUnavailable


class StoreRejected(StoreFault):
    """A value the database cannot hold or compare: a whole number beyond its
    integer range (an id of 20 digits), a NUL character in text on PostgreSQL,
    text that is not valid Unicode (undecodable bytes from a command line).
    About the value, not the data's meaning: the engine refuses it in one line
    (``DatabaseRejected``), and nothing was written."""

    reason = "rejected"


# Raised by the drivers themselves, before the database sees the statement:
# sqlite3 cannot bind an int beyond 64 bits (OverflowError) nor a str with
# lone surrogates (UnicodeEncodeError).
VALUE_ERRORS: tuple[type[BaseException], ...] = (OverflowError, UnicodeEncodeError)

# SQLite's primary result codes (https://sqlite.org/rescode.html); an
# extended code carries its primary code in the low byte.
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14

# For drivers that give no code (sqlite3 before Python 3.11): the messages
# sqlite3_errstr() gives for the codes above.
_SQLITE_MESSAGES = (
    ("database is locked", SQLITE_BUSY),
    ("database table is locked", SQLITE_LOCKED),
    ("attempt to write a readonly database", SQLITE_READONLY),
    ("database or disk is full", SQLITE_FULL),
    ("unable to open database file", SQLITE_CANTOPEN),
    ("disk i/o error", SQLITE_IOERR),
)

# PostgreSQL SQLSTATEs that are about the server, not the data.
_PG_BUSY = frozenset(
    {
        "57014",  # query_canceled: the statement_timeout expired
        "55P03",  # lock_not_available: lock_timeout
        "53300",  # too_many_connections
    }
)
_PG_FULL = frozenset({"53100"})  # disk_full
_PG_READ_ONLY = frozenset({"25006"})  # read_only_sql_transaction: a hot standby
_PG_REJECTED = frozenset(
    {
        "22003",  # numeric_value_out_of_range: an id beyond integer
        "22P05",  # untranslatable_character: \u0000 in jsonb
        "22021",  # character_not_in_repertoire: NUL or invalid UTF-8 in text
    }
)
# psycopg refuses NUL in text on the client side, without a SQLSTATE.
_PG_NUL = "cannot contain nul"


def first_line(exc: BaseException | None) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def pg_server_gone(sqlstate: str | None) -> bool:
    """A PostgreSQL error that means the server or the connection is gone.

    No SQLSTATE: the client lost the connection (or gave up waiting for an
    answer); class 08: connection exceptions; 57P01-57P03: the server is
    shutting down or starting up.
    """
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    for message, primary in _SQLITE_MESSAGES:
        if message in text:
            return primary
    return None


def _read_only_place(path: str | None) -> bool:
    """Whether the database file, or the folder it is in, exists and may not be written.

    ``os.access`` asks the kernel, which also answers for a read-only mount
    (EROFS) even to root, who passes every permission check. A folder that
    does not exist is not a read-only place: the path is wrong.
    """
    if not path:
        return False
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        return False
    # WAL mode writes -wal and -shm files beside the database: the folder counts too.
    if not os.access(folder, os.W_OK):
        return True
    return os.path.exists(path) and not os.access(path, os.W_OK)


def sqlite_fault(exc: BaseException, path: str | None) -> StoreFault | None:
    """The store's exception for a sqlite3 error, or None when it is about the data."""
    code = _sqlite_code(exc)
    text = first_line(exc)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreBusy(text)
    if code == SQLITE_FULL:
        return StoreFull(text)
    if code == SQLITE_READONLY:
        return StoreReadOnly(text)
    if code == SQLITE_CANTOPEN:
        # A reader must create the -shm file beside a WAL database: on a
        # read-only place even a read fails to open.
        return StoreReadOnly(text) if _read_only_place(path) else StoreUnavailable(text)
    if code == SQLITE_IOERR:
        return StoreUnavailable(text)
    return None


def pg_fault(exc: BaseException, *, operational: bool) -> StoreFault | None:
    """The store's exception for a psycopg error, or None when it is about the data.

    ``operational``: the error is the driver's OperationalError (only then
    does a missing SQLSTATE mean a lost connection).
    """
    sqlstate: str | None = getattr(exc, "sqlstate", None)
    text = first_line(exc)
    if sqlstate in _PG_BUSY:
        return StoreBusy(text)
    if sqlstate in _PG_FULL:
        return StoreFull(text)
    if sqlstate in _PG_READ_ONLY:
        return StoreReadOnly(text)
    if sqlstate in _PG_REJECTED or (sqlstate is None and _PG_NUL in text.lower()):
        return StoreRejected(text)
    if operational and pg_server_gone(sqlstate):
        return StoreUnavailable(text)
    return None


class Faults:
    """Translates one store's driver errors (built once per store)."""

    def __init__(self, dialect: str, dbapi: object, path: str | None) -> None:
        self.dialect = dialect
        self.path = path
        self._error: type[BaseException] = getattr(dbapi, "Error", Exception)
        self._operational: type[BaseException] = getattr(dbapi, "OperationalError", Exception)
        self._caught: tuple[type[BaseException], ...] = (DBAPIError, self._error, *VALUE_ERRORS)

    def of(self, exc: BaseException) -> StoreFault | None:
        """The fault ``exc`` (a driver error, or SQLAlchemy's wrapper of one) stands for."""
        if isinstance(exc, StoreFault):
            return exc
        if isinstance(exc, VALUE_ERRORS):
            return StoreRejected(first_line(exc))
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        if orig is None or not isinstance(orig, self._error):
            return None
        if self.dialect == "sqlite":
            return sqlite_fault(orig, self.path)
        fault = pg_fault(orig, operational=isinstance(orig, self._operational))
        if fault is None and isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # SQLAlchemy recognised a lost connection (and dropped it from the pool).
            fault = StoreUnavailable(first_line(orig))
        return fault

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Re-raise a fault of the block as the store's exception (the driver's as its cause)."""
        try:
            yield
        except self._caught as exc:
            fault = self.of(exc)
            if fault is None:
                raise
            raise fault from exc
