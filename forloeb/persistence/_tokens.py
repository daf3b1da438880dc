"""API tokens (issue 14) in the SQL store: the ``api_tokens`` table.

Mixed into the read and write transactions (like ``_register.py``). Reads
(an HTTP request authenticating its bearer token) go through SQLAlchemy Core;
writes (create, revoke) run on the write transaction's cursor, so that the
access-log entry recording them is chained in the same transaction.

The digest of the secret is the engine's business: here it is a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Connection, bindparam, select

from ._hotpath import SqlText
from ._tables import api_tokens, staff
from .base import Row

TOKEN_COLUMNS: tuple[str, ...] = tuple(c.name for c in api_tokens.c)
_TIMES = ("created_at", "expires_at", "revoked_at")
# Built once: every authenticated HTTP request runs this lookup (with its staff
# entry's) in one read transaction.
_GET_TOKEN = select(api_tokens).where(api_tokens.c.id == bindparam("_id"))
_GET_STAFF = select(staff).where(staff.c.id == bindparam("_id"))


class _TokenSql:
    def __init__(self, dialect: str) -> None:
        p: Callable[[str], str] = (lambda n: f":{n}") if dialect == "sqlite" else (lambda n: f"%({n})s")
        cols = ", ".join(TOKEN_COLUMNS)
        lock = " FOR UPDATE" if dialect != "sqlite" else ""
        self.get_locked = f"SELECT {cols} FROM api_tokens WHERE id = {p('_id')}{lock}"
        self.insert = f"INSERT INTO api_tokens ({cols}) VALUES ({', '.join(p(c) for c in TOKEN_COLUMNS)})"
        self.revoke = (
            f"UPDATE api_tokens SET revoked_at = {p('revoked_at')}, revoked_by = {p('revoked_by')} "
            f"WHERE id = {p('_id')}"
        )


_BY_DIALECT: dict[str, _TokenSql] = {}


def _statements(dialect: str) -> _TokenSql:
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = _TokenSql(dialect)
    return found


class TokenWrites:
    """Token steps of a write transaction (mixed into ``SqlWriteTransaction``)."""

    _cur: Any
    _sql: SqlText

    def _encode_times(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return self._sql.encode_times(values, _TIMES)

    def lock_api_token(self, token_id: str) -> Row | None:
        self._cur.execute(_statements(self._sql.dialect).get_locked, {"_id": token_id})
        row = self._cur.fetchone()
        if row is None:
            return None
        return self._sql.decode_times(TOKEN_COLUMNS, row, _TIMES)

    def insert_api_token(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(_statements(self._sql.dialect).insert, self._encode_times(values))

    def revoke_api_token(self, token_id: str, values: Mapping[str, Any]) -> None:
        params = self._encode_times(values)
        params["_id"] = token_id
        self._cur.execute(_statements(self._sql.dialect).revoke, params)


class TokenReads:
    """Token queries of a read transaction (mixed into ``SqlReadTransaction``)."""

    _conn: Connection

    def get_api_token(self, token_id: str) -> Row | None:
        row = self._conn.execute(_GET_TOKEN, {"_id": token_id}).first()
        return cast(Row, dict(row._mapping)) if row is not None else None

    def get_api_token_staff(self, staff_id: str) -> Row | None:
        """The staff entry of a token (as ``get_staff``, on a statement built once)."""
        row = self._conn.execute(_GET_STAFF, {"_id": staff_id}).first()
        return cast(Row, dict(row._mapping)) if row is not None else None

    def list_api_tokens(self, staff_id: str | None = None) -> list[Row]:
        stmt = select(api_tokens)
        if staff_id is not None:
            stmt = stmt.where(api_tokens.c.staff_id == staff_id)
        rows = self._conn.execute(stmt.order_by(api_tokens.c.created_at, api_tokens.c.id))
        return [cast(Row, dict(r._mapping)) for r in rows]


__all__ = ["TOKEN_COLUMNS", "TokenReads", "TokenWrites"]
