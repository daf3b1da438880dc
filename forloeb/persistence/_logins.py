"""Logins of the web console (issue 15) in the SQL store: the ``staff_passwords``
and ``web_sessions`` tables.

Mixed into the read and write transactions (like ``_tokens.py``). Reads (a
page view looking up its session, with the staff entry) go through
SQLAlchemy Core on statements built once; writes (a password set, a failed
attempt counted, a session opened, touched or ended) run on the write
transaction's cursor, so that the access-log entry recording them is chained
in the same transaction.

Hashes and digests are the engine's business: here they are values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, bindparam, select

from ._hotpath import SqlText
from ._tables import staff_passwords, web_sessions
from .base import Row

PASSWORD_COLUMNS: tuple[str, ...] = tuple(c.name for c in staff_passwords.c)
SESSION_COLUMNS: tuple[str, ...] = tuple(c.name for c in web_sessions.c)
_TIMES = frozenset(
    {"changed_at", "locked_until", "last_failure_at", "created_at", "last_seen_at", "expires_at"}
)
# What an update may set (the keys are the engine's, never a caller's; checked anyway).
_PASSWORD_UPDATES = frozenset(PASSWORD_COLUMNS) - {"staff_id"}
_SESSION_UPDATES = frozenset({"lang", "last_seen_at", "expires_at"})
# Built once: every page view of the console runs this lookup.
_GET_SESSION = select(web_sessions).where(web_sessions.c.id == bindparam("_id"))
_GET_PASSWORD = select(staff_passwords).where(staff_passwords.c.staff_id == bindparam("_id"))


class _LoginSql:
    def __init__(self, dialect: str) -> None:
        p: Callable[[str], str] = (lambda n: f":{n}") if dialect == "sqlite" else (lambda n: f"%({n})s")
        self._p = p
        lock = " FOR UPDATE" if dialect != "sqlite" else ""
        cols = ", ".join(PASSWORD_COLUMNS)
        # The row of a login's outcome, locked: two failures at once both count.
        self.lock_password = f"SELECT {cols} FROM staff_passwords WHERE staff_id = {p('_id')}{lock}"
        # A new password replaces the old and lifts a lockout; the last failure stays on record.
        self.put_password = (
            f"INSERT INTO staff_passwords ({cols}) VALUES ({', '.join(p(c) for c in PASSWORD_COLUMNS)}) "
            "ON CONFLICT (staff_id) DO UPDATE SET password_hash = excluded.password_hash, "
            "changed_at = excluded.changed_at, changed_by = excluded.changed_by, "
            "failed_count = 0, locked_until = NULL"
        )
        scols = ", ".join(SESSION_COLUMNS)
        self.insert_session = (
            f"INSERT INTO web_sessions ({scols}) VALUES ({', '.join(p(c) for c in SESSION_COLUMNS)})"
        )
        self.delete_session = f"DELETE FROM web_sessions WHERE id = {p('_id')} RETURNING staff_id"
        self.delete_expired = f"DELETE FROM web_sessions WHERE expires_at <= {p('now')}"

    def update(self, table: str, key: str, keys: tuple[str, ...]) -> str:
        sets = ", ".join(f"{k} = {self._p(k)}" for k in keys)
        return f"UPDATE {table} SET {sets} WHERE {key} = {self._p('_id')}"


_BY_DIALECT: dict[str, _LoginSql] = {}


def _statements(dialect: str) -> _LoginSql:
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = _LoginSql(dialect)
    return found


class LoginWrites:
    """Password and session steps of a write transaction (mixed into ``SqlWriteTransaction``)."""

    _cur: Any
    _sql: SqlText

    def _encode_login_times(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return self._sql.encode_times(values, _TIMES)

    def lock_staff_password(self, staff_id: str) -> Row | None:
        self._cur.execute(_statements(self._sql.dialect).lock_password, {"_id": staff_id})
        row = self._cur.fetchone()
        if row is None:
            return None
        return self._sql.decode_times(PASSWORD_COLUMNS, row, _TIMES)

    def put_staff_password(self, values: Mapping[str, Any]) -> None:
        params = {
            "changed_at": None,
            "changed_by": None,
            "failed_count": 0,
            "locked_until": None,
            "last_failure_at": None,
            **values,
        }
        self._cur.execute(_statements(self._sql.dialect).put_password, self._encode_login_times(params))

    def update_staff_password(self, staff_id: str, values: Mapping[str, Any]) -> None:
        keys = tuple(values)
        if not keys or not set(keys) <= _PASSWORD_UPDATES:
            raise ValueError(f"cannot update {keys!r} of a staff password")
        params = self._encode_login_times(values)
        params["_id"] = staff_id
        sql = _statements(self._sql.dialect).update("staff_passwords", "staff_id", keys)
        self._cur.execute(sql, params)

    def insert_web_session(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(_statements(self._sql.dialect).insert_session, self._encode_login_times(values))

    def update_web_session(self, session_id: str, values: Mapping[str, Any]) -> bool:
        keys = tuple(values)
        if not keys or not set(keys) <= _SESSION_UPDATES:
            raise ValueError(f"cannot update {keys!r} of a web session")
        params = self._encode_login_times(values)
        params["_id"] = session_id
        self._cur.execute(_statements(self._sql.dialect).update("web_sessions", "id", keys), params)
        return bool(self._cur.rowcount == 1)

    def delete_web_session(self, session_id: str) -> str | None:
        self._cur.execute(_statements(self._sql.dialect).delete_session, {"_id": session_id})
        row = self._cur.fetchone()
        return str(row[0]) if row is not None else None

    def delete_expired_web_sessions(self, now: datetime) -> int:
        params = self._encode_login_times({"expires_at": now})
        self._cur.execute(_statements(self._sql.dialect).delete_expired, {"now": params["expires_at"]})
        return max(int(self._cur.rowcount), 0)


class LoginReads:
    """Password and session queries of a read transaction (mixed into ``SqlReadTransaction``)."""

    _conn: Connection

    def get_staff_password(self, staff_id: str) -> Row | None:
        row = self._conn.execute(_GET_PASSWORD, {"_id": staff_id}).first()
        return cast(Row, dict(row._mapping)) if row is not None else None

    def get_web_session(self, session_id: str) -> Row | None:
        row = self._conn.execute(_GET_SESSION, {"_id": session_id}).first()
        return cast(Row, dict(row._mapping)) if row is not None else None


__all__ = ["PASSWORD_COLUMNS", "SESSION_COLUMNS", "LoginReads", "LoginWrites"]
