"""The staff register and the access log's chains, in the SQL store.

Mixed into the read and write transactions (like ``_outbox.py``): a command
resolves its actor inside its own write transaction, on the driver's cursor
(one indexed SELECT, a few microseconds), and an access-log entry is chained
in the transaction that writes it: the chain's head row is locked (``FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already admits one
writer), the entries inserted with their seq and hash, the head moved on.

The hashes are the engine's business (they may be keyed): here they are
values like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, select

from ._hotpath import SqlText
from ._tables import access_log, events, staff
from .base import Row

STAFF_COLUMNS: tuple[str, ...] = tuple(c.name for c in staff.c)
EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in events.c)
_JSON_COLUMNS = ("roles", "teams")
GENESIS = "0" * 64


class RegisterSql:
    """The statements for one dialect (built once per dialect)."""

    def __init__(self, dialect: str) -> None:
        p: Callable[[str], str] = (lambda n: f":{n}") if dialect == "sqlite" else (lambda n: f"%({n})s")
        lock = " FOR UPDATE" if dialect != "sqlite" else ""
        cols = ", ".join(STAFF_COLUMNS)
        self.get_staff = f"SELECT {cols} FROM staff WHERE id = {p('_id')}"
        self.by_login = f"SELECT {cols} FROM staff WHERE login = {p('login')}"
        self.all_staff = f"SELECT {cols} FROM staff ORDER BY id"
        self.get_staff_locked = self.get_staff + lock
        self.insert_staff = f"INSERT INTO staff ({cols}) VALUES ({', '.join(p(c) for c in STAFF_COLUMNS)})"
        self.lock_chain = f"SELECT seq, head FROM access_chains WHERE name = {p('name')}{lock}"
        self.insert_chain = (
            f"INSERT INTO access_chains (name, seq, head) VALUES ({p('name')}, 0, {p('head')}) "
            "ON CONFLICT (name) DO NOTHING"
        )
        self.move_chain = (
            f"UPDATE access_chains SET seq = {p('seq')}, head = {p('head')} WHERE name = {p('name')}"
        )
        self.legacy = "SELECT seq FROM access_chains WHERE name = 'legacy'"
        # The purge of a chain: its entries through a seq (a prefix of the chain).
        self.prefix_end = (
            f"SELECT seq, hash FROM access_log WHERE chain = {p('chain')} AND seq < COALESCE(("
            f"SELECT MIN(seq) FROM access_log WHERE chain = {p('chain')} AND occurred_at >= {p('before')}"
            f"), {p('big')}) ORDER BY seq DESC LIMIT 1"
        )
        self.count_through = (
            f"SELECT COUNT(*) FROM access_log WHERE chain = {p('chain')} AND seq <= {p('seq')}"
        )
        self.delete_through = f"DELETE FROM access_log WHERE chain = {p('chain')} AND seq <= {p('seq')}"
        # Entries from before the chain: kept by the retention of their class.
        self.legacy_old = (
            f"FROM access_log WHERE seq IS NULL AND id <= {p('legacy')} AND occurred_at < {p('before')} "
            f"AND (action IN ('delete', 'purge_access_log')) = {p('lasting')}"
        )
        # What the database keeps about itself (the "settings" table).
        self.get_setting = f"SELECT value FROM settings WHERE name = {p('name')}"
        self.insert_setting = (
            f"INSERT INTO settings (name, value, set_at) VALUES ({p('name')}, {p('value')}, {p('set_at')}) "
            "ON CONFLICT (name) DO NOTHING"
        )
        self.first_event = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY id LIMIT 1"
        self.consent_events = (
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE engagement_id = {p('_id')} "
            "AND type IN ('consent_given', 'consent_withdrawn') ORDER BY seq"
        )
        self._p = p
        self._updates: dict[tuple[str, ...], str] = {}

    def update_staff(self, keys: tuple[str, ...]) -> str:
        sql = self._updates.get(keys)
        if sql is None:
            sets = ", ".join(f"{k} = {self._p(k)}" for k in keys)
            sql = self._updates[keys] = f"UPDATE staff SET {sets} WHERE id = {self._p('_id')}"
        return sql


_BY_DIALECT: dict[str, RegisterSql] = {}


def _statements(dialect: str) -> RegisterSql:
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = RegisterSql(dialect)
    return found


class RegisterWrites:
    """Register and chain steps of a write transaction (mixed into ``SqlWriteTransaction``)."""

    _cur: Any
    _sql: SqlText

    @property
    def _reg(self) -> RegisterSql:
        return _statements(self._sql.dialect)

    def _encode_staff(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for key in _JSON_COLUMNS:
            if key in out:
                # Encoded as any JSON column is (the codec goes by column name).
                out[key] = self._sql.encode({"criteria": sorted(out[key])})["criteria"]
        if "active" in out and self._sql.dialect == "sqlite":
            out["active"] = 1 if out["active"] else 0
        return self._sql.encode(out)

    def _decode_staff(self, row: tuple[Any, ...]) -> Row:
        decoded = self._sql.decode(STAFF_COLUMNS, row)
        for key in _JSON_COLUMNS:
            value = decoded[key]
            decoded[key] = self._sql.decode(("criteria",), (value,))["criteria"]
        decoded["active"] = bool(decoded["active"])
        return decoded

    def get_staff(self, staff_id: str) -> Row | None:
        self._cur.execute(self._reg.get_staff, {"_id": staff_id})
        row = self._cur.fetchone()
        return self._decode_staff(row) if row is not None else None

    def get_staff_by_login(self, login: str) -> Row | None:
        self._cur.execute(self._reg.by_login, {"login": login})
        row = self._cur.fetchone()
        return self._decode_staff(row) if row is not None else None

    def list_staff(self) -> list[Row]:
        self._cur.execute(self._reg.all_staff)
        return [self._decode_staff(r) for r in self._cur.fetchall()]

    def lock_staff(self, staff_id: str) -> Row | None:
        self._cur.execute(self._reg.get_staff_locked, {"_id": staff_id})
        row = self._cur.fetchone()
        return self._decode_staff(row) if row is not None else None

    def insert_staff(self, values: Mapping[str, Any]) -> None:
        self._cur.execute(self._reg.insert_staff, self._encode_staff(values))

    def update_staff(self, staff_id: str, values: Mapping[str, Any]) -> None:
        params = self._encode_staff(values)
        params["_id"] = staff_id
        self._cur.execute(self._reg.update_staff(tuple(values)), params)

    def setting(self, name: str) -> Any | None:
        self._cur.execute(self._reg.get_setting, {"name": name})
        row = self._cur.fetchone()
        return self._sql.decode(("criteria",), (row[0],))["criteria"] if row is not None else None

    def put_setting(self, name: str, value: Any, at: datetime) -> None:
        """Record ``name`` unless it is recorded already (the first writer decides)."""
        params = {
            "name": name,
            "value": self._sql.encode({"criteria": value})["criteria"],
            "set_at": self._sql.encode({"occurred_at": at})["occurred_at"],
        }
        self._cur.execute(self._reg.insert_setting, params)

    def first_event(self) -> Row | None:
        self._cur.execute(self._reg.first_event)
        row = self._cur.fetchone()
        return self._sql.decode(EVENT_COLUMNS, row) if row is not None else None

    def consent_events(self, engagement_id: int) -> list[Row]:
        self._cur.execute(self._reg.consent_events, {"_id": engagement_id})
        return [self._sql.decode(EVENT_COLUMNS, r) for r in self._cur.fetchall()]

    def lock_access_chain(self, chain: str) -> tuple[int, str]:
        reg = self._reg
        self._cur.execute(reg.lock_chain, {"name": chain})
        row = self._cur.fetchone()
        if row is None:
            # A new database, or one emptied by hand: the chain starts at genesis.
            self._cur.execute(reg.insert_chain, {"name": chain, "head": GENESIS})
            self._cur.execute(reg.lock_chain, {"name": chain})
            row = self._cur.fetchone()
        return int(row[0]), str(row[1])

    def move_access_chain(self, chain: str, seq: int, head: str) -> None:
        self._cur.execute(self._reg.move_chain, {"name": chain, "seq": seq, "head": head})

    def access_prefix(self, chain: str, before: datetime) -> tuple[int, str] | None:
        params = {
            "chain": chain,
            "before": self._sql.encode({"occurred_at": before})["occurred_at"],
            "big": 2**62,
        }
        self._cur.execute(self._reg.prefix_end, params)
        row = self._cur.fetchone()
        return (int(row[0]), str(row[1])) if row is not None else None

    def count_access_through(self, chain: str, seq: int) -> int:
        self._cur.execute(self._reg.count_through, {"chain": chain, "seq": seq})
        return int(self._cur.fetchone()[0])

    def delete_access_through(self, chain: str, seq: int) -> int:
        self._cur.execute(self._reg.delete_through, {"chain": chain, "seq": seq})
        return max(int(self._cur.rowcount), 0)

    def purge_legacy_access(self, before: datetime, lasting: bool, dry_run: bool) -> int:
        self._cur.execute(self._reg.legacy)
        row = self._cur.fetchone()
        params = {
            "legacy": int(row[0]) if row is not None else 0,
            "before": self._sql.encode({"occurred_at": before})["occurred_at"],
            "lasting": lasting,
        }
        if dry_run:
            self._cur.execute("SELECT COUNT(*) " + self._reg.legacy_old, params)
            return int(self._cur.fetchone()[0])
        self._cur.execute("DELETE " + self._reg.legacy_old, params)
        return max(int(self._cur.rowcount), 0)


class RegisterReads:
    """Register queries of a read transaction (mixed into ``SqlReadTransaction``)."""

    _conn: Connection

    def get_staff(self, staff_id: str) -> Row | None:
        row = self._conn.execute(select(staff).where(staff.c.id == staff_id)).first()
        return cast(Row, dict(row._mapping)) if row is not None else None

    def get_staff_by_login(self, login: str) -> Row | None:
        row = self._conn.execute(select(staff).where(staff.c.login == login)).first()
        return cast(Row, dict(row._mapping)) if row is not None else None

    def list_staff(self) -> list[Row]:
        return [cast(Row, dict(r._mapping)) for r in self._conn.execute(select(staff).order_by(staff.c.id))]


__all__ = ["GENESIS", "STAFF_COLUMNS", "RegisterReads", "RegisterWrites", "access_log"]
