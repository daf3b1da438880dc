"""``engine.staff``: the staff register — who may act, in which roles and teams.

Admins manage it (add, update, deactivate, list, show); every change is an
entry of the access log's long-kept ``records`` chain (who changed whom,
what, when), so the roles an event was written in can be traced for as long
as the event is kept. Entries are never deleted: events and access-log
entries keep naming them; a person who leaves is deactivated.

A new database has an empty register, in which nobody can act. Bootstrapping
puts its first entries in (``bootstrap``: only while the register is empty;
``forloeb init`` registers the first admin, ``forloeb demo`` its staff).

``actor_for_login`` maps an operating-system login (the CLI's identity) to
the actor it may act as: itself; as someone else only when it is an admin
(impersonation, recorded as such); as the system actor only for the
background jobs.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from ..persistence import WriteConflict
from ._access import BACKGROUND
from ._checks import check_text
from ._errors import InvalidData
from ._kernel import Kernel
from ._register import (
    ADMIN,
    KINDS,
    RESERVED_IDS,
    SYSTEM,
    SYSTEM_ROLE,
    Impersonation,
    NotInRegister,
    StaffMember,
    check_roles,
    check_staff_id,
    check_teams,
)
from ._types import Actor

MANAGERS = frozenset({ADMIN})


class Staff:
    """Bound to one engine: ``engine.staff``."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel

    @property
    def system(self) -> Actor:
        """The background jobs' actor (sweep, dispatch, digest); nobody else's."""
        return SYSTEM

    # -- reading --------------------------------------------------------------------

    def list(self, admin: Actor) -> list[StaffMember]:
        """Every entry, by id (deactivated ones too). Admins only."""
        self._kernel.role_for(admin, MANAGERS, "list the staff register")
        with self._kernel.read() as tx:
            return [StaffMember.from_row(r) for r in tx.list_staff()]

    def show(self, admin: Actor, staff_id: str) -> StaffMember:
        """One entry. Admins only."""
        self._kernel.role_for(admin, MANAGERS, "show a staff member")
        return self._get(staff_id)

    def authorize_jobs(self, actor: Actor) -> str:
        """The role in which ``actor`` may run the background jobs (sweep, dispatch,
        digest: the system actor, a supervisor or an admin), or PermissionDenied."""
        return self._kernel.role_for(actor, BACKGROUND, "run the background jobs")

    def resolve(self, actor: Actor) -> Actor:
        """``actor`` as the register grants it (roles, teams, an impersonator), or
        NotInRegister: what every command does first, asked on its own."""
        return self._kernel.resolve(actor)

    def _get(self, staff_id: str) -> StaffMember:
        entry = self._kernel.staff_entry(check_text("id", staff_id))
        if entry is None:
            raise InvalidData(f"no staff member {staff_id!r}", detail_da=f"ingen medarbejder {staff_id!r}")
        return entry

    # -- changing ---------------------------------------------------------------------

    def add(
        self,
        admin: Actor,
        staff_id: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] = (),
        teams: Iterable[str] = (),
        login: str | None = None,
        kind: str = "person",
    ) -> StaffMember:
        """Register a member of staff (or a service account: ``kind="service"``). Admins only."""
        role = self._kernel.role_for(admin, MANAGERS, "add a staff member")
        values = _values(
            id=check_staff_id(staff_id),
            display_name=display_name or staff_id,
            email=email,
            roles=roles,
            teams=teams,
            login=login,
            kind=kind,
        )
        now = self._kernel.clock()
        values.update(active=True, created_at=now, updated_at=now)
        with self._kernel.write() as tx:
            if tx.get_staff(values["id"]) is not None:
                raise InvalidData(
                    f"{values['id']!r} is already in the register (update it instead)",
                    detail_da=f"{values['id']!r} findes allerede i registret (ret det i stedet)",
                )
            self._insert(tx, values)
            self._record(admin, role, "staff_add", values)
        return StaffMember.from_row(values)

    def update(
        self,
        admin: Actor,
        staff_id: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] | None = None,
        teams: Iterable[str] | None = None,
        login: str | None = None,
        kind: str | None = None,
        active: bool | None = None,
    ) -> StaffMember:
        """Change an entry: what is given replaces what is there (``email=""`` and
        ``login=""`` clear them). Admins only; the last active admin keeps the role."""
        role = self._kernel.role_for(admin, MANAGERS, "update a staff member")
        given: dict[str, Any] = {
            k: v
            for k, v in (
                ("display_name", display_name),
                ("email", email),
                ("roles", roles),
                ("teams", teams),
                ("login", login),
                ("kind", kind),
            )
            if v is not None
        }
        changes = _values(**given)
        if active is not None:
            changes["active"] = bool(active)
        if not changes:
            raise InvalidData("nothing to change", detail_da="intet at ændre")
        return self._change(admin, role, staff_id, changes, "staff_update")

    def deactivate(self, admin: Actor, staff_id: str, *, reason: str | None = None) -> StaffMember:
        """Deactivate an entry: it can no longer act or read (its history stays). Admins only."""
        role = self._kernel.role_for(admin, MANAGERS, "deactivate a staff member")
        changes: dict[str, Any] = {"active": False}
        if reason is not None:
            changes["reason"] = check_text("reason", reason, limit=1000, name_da="begrundelse")
        return self._change(admin, role, staff_id, changes, "staff_deactivate")

    def _change(
        self, admin: Actor, role: str, staff_id: str, changes: dict[str, Any], action: str
    ) -> StaffMember:
        staff_id = check_text("id", staff_id)
        reason = changes.pop("reason", None)
        now = self._kernel.clock()
        with self._kernel.write() as tx:
            # Resolved now, as the admin was when acting (an admin may deactivate
            # themselves while another admin remains): the record names them.
            self._kernel.resolve(admin)
            before = tx.lock_staff(staff_id)
            if before is None:
                raise InvalidData(
                    f"no staff member {staff_id!r}", detail_da=f"ingen medarbejder {staff_id!r}"
                )
            after = {**before, **changes, "updated_at": now}
            if _is_admin(before) and not _is_admin(after):
                self._keep_an_admin(tx, staff_id)
            if changes.get("login") and changes["login"] != before["login"]:
                self._login_free(tx, changes["login"])
            try:
                tx.update_staff(staff_id, {**changes, "updated_at": now})
            except WriteConflict as exc:  # pragma: no cover - checked above
                raise InvalidData(str(exc), detail_da=f"skrivekonflikt: {exc}") from exc
            self._record(admin, role, action, {"id": staff_id, **changes}, reason=reason)
        return StaffMember.from_row(after)

    def _keep_an_admin(self, tx: Any, leaving: str) -> None:
        others = [r for r in self._admins(tx) if r["id"] != leaving]
        if not others:
            raise InvalidData(
                "the last active admin cannot lose the role: add another admin first",
                detail_da="den sidste aktive administrator kan ikke miste rollen: opret en anden først",
            )

    def _admins(self, tx: Any) -> builtins.list[Mapping[str, Any]]:
        return [r for r in tx.list_staff() if _is_admin(r)]

    def _login_free(self, tx: Any, login: str) -> None:
        holder = tx.get_staff_by_login(login)
        if holder is not None:
            raise InvalidData(
                f"the login {login!r} belongs to {holder['id']!r} already",
                detail_da=f"login-navnet {login!r} tilhører allerede {holder['id']!r}",
            )

    def _insert(self, tx: Any, values: Mapping[str, Any]) -> None:
        if values.get("login"):
            self._login_free(tx, values["login"])
        tx.insert_staff(values)

    def _record(
        self, admin: Actor, role: str, action: str, values: Mapping[str, Any], reason: str | None = None
    ) -> None:
        criteria = {
            k: (sorted(v) if isinstance(v, frozenset | set | list | tuple) else v)
            for k, v in values.items()
            if k not in ("created_at", "updated_at")
        }
        self._kernel.log_access(admin, action, criteria=criteria, purpose=reason, role=role)

    # -- bootstrapping and the CLI's identity ----------------------------------------------

    def bootstrap(self, members: Iterable[StaffMember]) -> builtins.list[StaffMember]:
        """Put the first entries into an EMPTY register (a new database): what
        ``forloeb init`` (the first admin) and ``forloeb demo`` (its staff) do.
        One of them must be an admin, or nobody could manage the register.
        Returns the entries added: none when the register has entries already."""
        members = list(members)
        if not any(ADMIN in m.roles and m.active for m in members):
            raise InvalidData(
                "the first entries of the register need an active admin",
                detail_da="registrets første poster skal have en aktiv administrator",
            )
        rows = []
        now = self._kernel.clock()
        for m in members:
            values = _values(
                id=check_staff_id(m.id),
                display_name=m.display_name or m.id,
                email=m.email,
                roles=m.roles,
                teams=m.teams,
                login=m.login,
                kind=m.kind,
            )
            values.update(active=m.active, created_at=now, updated_at=now)
            rows.append(values)
        with self._kernel.read() as rtx:
            if rtx.list_staff():
                return []  # the common case, without taking the write lock
        with self._kernel.write() as tx:
            if tx.list_staff():
                return []
            for values in rows:
                tx.insert_staff(values)
                self._record(SYSTEM, SYSTEM_ROLE, "staff_add", {**values, "bootstrap": True})
        return [StaffMember.from_row(v) for v in rows]

    def actor_for_login(
        self,
        login: str,
        *,
        acting_as: str | None = None,
        roles: Iterable[str] = (),
        teams: Iterable[str] = (),
        system_job: bool = False,
    ) -> Actor:
        """The actor an operating-system login acts as (the CLI's identity).

        Without ``acting_as``: the register entry whose login name is ``login``,
        in ``roles`` (a subset of its own; none: all of them). With it: an
        admin acts as that person (an impersonation, recorded on everything it
        causes); anyone registered may name the system actor (``"system"``)
        for a background job (``system_job``). Otherwise NotInRegister.
        """
        login = check_text("login", login)
        with self._kernel.read() as tx:
            row = tx.get_staff_by_login(login)
        entry = StaffMember.from_row(row) if row is not None else None
        if entry is None or not entry.active:
            reason = "login" if entry is None else "inactive"
            self._kernel.refused(Actor(login), "log in", reason=reason)
            raise NotInRegister(login if entry is None else entry.id, reason)
        if acting_as is None or acting_as == entry.id:
            actor: Actor = Actor(entry.id, roles, teams)
        elif acting_as.lower() in RESERVED_IDS:
            if not system_job:
                self._kernel.refused(Actor(entry.id), "act as the system", reason="reserved")
                raise NotInRegister(acting_as, "reserved")
            return SYSTEM
        else:
            actor = Impersonation(acting_as, entry.id, roles, teams)
        self._kernel.resolve(actor)  # refused now, with the register's reason, if at all
        return actor


def _is_admin(row: Mapping[str, Any]) -> bool:
    return bool(row["active"]) and ADMIN in (row["roles"] or ())


def _values(**given: Any) -> dict[str, Any]:
    """Checked register values (only those given)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key == "id":
            out[key] = value
        elif key == "display_name":
            out[key] = check_text("display_name", value, name_da="navn")
        elif key == "email":
            out[key] = _email(value)
        elif key == "roles":
            out[key] = sorted(check_roles(value))
        elif key == "teams":
            out[key] = sorted(check_teams(value))
        elif key == "login":
            out[key] = check_text("login", value) if value else None
        elif key == "kind":
            if value not in KINDS:
                raise InvalidData(
                    f"kind must be one of {', '.join(KINDS)}", detail_da=f"art skal være {', '.join(KINDS)}"
                )
            out[key] = value
    return out


def _email(value: str | None) -> str | None:
    if not value:
        return None
    value = check_text("email", value, limit=320, name_da="e-mail")
    if "@" not in value or " " in value:
        raise InvalidData(
            f"{value!r} is not an e-mail address", detail_da=f"{value!r} er ikke en e-mailadresse"
        )
    return value


__all__ = ["MANAGERS", "Staff", "StaffMember"]
