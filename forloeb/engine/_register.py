"""The staff register's model: who may act, in which roles and teams.

Who may do what is data (DESIGN invariant 6). Every actor a caller names is
looked up in the register (the ``staff`` table) by the kernel before it reads
or writes anything (:meth:`Kernel.resolve`); what the caller says can only
*narrow* what the register grants:

* an unknown or deactivated id is refused (:class:`NotInRegister`);
* roles: the caller may name a subset of the entry's roles (act as a worker
  although also a supervisor); a role the entry lacks is refused;
* teams: the same, a subset of the entry's teams; none named: all of them.

Two actors are not ordinary entries:

* :data:`SYSTEM` — the background jobs (sweep, dispatch, digest). Only the
  engine's own job code can hand it over; a caller naming its id is refused
  like any unknown id (it is reserved, never registered).
* :class:`Impersonation` — an admin acting as someone else (the CLI's
  ``--as``): the register's roles and teams of the person acted for, and the
  admin's id recorded on every event (``impersonated_by`` in the payload) and
  access-log entry (``impersonator``) it causes.

Pure: no store, no kernel. ``resolved`` is what the kernel computes from an
actor and its register entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._checks import check_text
from ._definition import AUDITOR, SUPERVISOR, WORKER
from ._errors import InvalidData, PermissionDenied
from ._i18n import DEFAULT_LANG, Lang
from ._types import Actor

ADMIN = "admin"
# Every role an entry can hold. Admin manages the register (and may act as
# another person through impersonation); it grants no access to engagements.
STAFF_ROLES: tuple[str, ...] = (WORKER, SUPERVISOR, AUDITOR, ADMIN)
# person: a member of staff; service: an app or a job runner (an embedding
# application's own account, a cron user).
KINDS: tuple[str, ...] = ("person", "service")
SYSTEM_ID = "forloeb"  # what the sweep's events have always named
SYSTEM_ROLE = "system"
# Ids a caller may never register or name: the system actor's, and the word
# the CLI accepts for it (``--as system``).
RESERVED_IDS = frozenset({SYSTEM_ID, "system"})


class SystemActor(Actor):
    """The background jobs' actor (one instance, :data:`SYSTEM`)."""


SYSTEM = SystemActor(SYSTEM_ID, (SYSTEM_ROLE,))


@dataclass(frozen=True, init=False)
class Impersonation(Actor):
    """``by`` (an admin) acting as ``id``: the roles and teams are those of ``id``."""

    by: str = ""

    def __init__(self, id: str, by: str, roles: Iterable[str] = (), teams: Iterable[str] = ()) -> None:
        super().__init__(id, roles, teams)
        object.__setattr__(self, "by", by)


@dataclass(frozen=True, init=False)
class Resolved(Actor):
    """An actor as the register grants it: the kernel's own, never a caller's.

    ``impersonator``: the admin acting as this person, if any.
    """

    impersonator: str | None = None

    def __init__(
        self, id: str, roles: Iterable[str], teams: Iterable[str], impersonator: str | None = None
    ) -> None:
        super().__init__(id, roles, teams)
        object.__setattr__(self, "impersonator", impersonator)


@dataclass(frozen=True, kw_only=True)
class StaffMember:
    """One entry of the register."""

    id: str
    display_name: str
    email: str | None = None
    roles: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    login: str | None = None  # the OS login name the CLI maps to this entry
    kind: str = "person"
    active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StaffMember:
        return cls(
            id=row["id"],
            display_name=row["display_name"],
            email=row["email"],
            roles=frozenset(row["roles"] or ()),
            teams=frozenset(row["teams"] or ()),
            login=row["login"],
            kind=row["kind"],
            active=bool(row["active"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "email": self.email,
            "roles": sorted(self.roles),
            "teams": sorted(self.teams),
            "login": self.login,
            "kind": self.kind,
            "active": self.active,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


class NotInRegister(PermissionDenied):
    """The actor is not an active entry of the staff register, or claims more than it grants."""

    def __init__(self, actor: str, reason: str, *, detail: str = "") -> None:
        # reason: "unknown", "inactive", "reserved", "roles", "teams", "not_admin", "login"
        self.reason = reason
        self.detail = detail
        super().__init__(actor, (), "act", ("staff register",))

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        da, en = _REASONS[self.reason]
        text = da if lang == "da" else en
        return text.format(actor=self.actor, detail=self.detail)


_REASONS: dict[str, tuple[str, str]] = {
    "unknown": (
        "{actor} findes ikke i personaleregistret; en administrator opretter med 'forloeb staff add'.",
        "{actor} is not in the staff register; an admin adds it with 'forloeb staff add'.",
    ),
    "login": (
        "Login-navnet {actor} hører ikke til nogen i personaleregistret; en administrator "
        "opretter det med 'forloeb staff add ID --login {actor}'.",
        "The login name {actor} belongs to nobody in the staff register; an admin adds it with "
        "'forloeb staff add ID --login {actor}'.",
    ),
    "inactive": (
        "{actor} er deaktiveret i personaleregistret.",
        "{actor} is deactivated in the staff register.",
    ),
    "reserved": (
        "{actor} er systemets egen aktør og kan kun bruges af baggrundsjobs (påmindelser, "
        "levering, oversigter).",
        "{actor} is the system's own actor, usable only by the background jobs (sweep, dispatch, digest).",
    ),
    "roles": (
        "{actor} har ikke rollen {detail} i personaleregistret; man kan handle med færre af "
        "sine roller, aldrig flere.",
        "{actor} does not hold the role {detail} in the staff register; one may act with fewer "
        "of one's roles, never more.",
    ),
    "teams": (
        "{actor} er ikke med i teamet {detail} i personaleregistret.",
        "{actor} is not in the team {detail} in the staff register.",
    ),
    "not_admin": (
        "{detail} er ikke administrator og kan ikke handle som {actor}.",
        "{detail} is not an admin and cannot act as {actor}.",
    ),
}


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    found = frozenset((roles,) if isinstance(roles, str) else roles)
    unknown = sorted(r for r in found if r not in STAFF_ROLES)
    if unknown:
        raise InvalidData(
            f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(STAFF_ROLES)}",
            detail_da=f"ukendt(e) rolle(r) {', '.join(unknown)}; roller er {', '.join(STAFF_ROLES)}",
        )
    return found


def check_teams(teams: Iterable[str]) -> frozenset[str]:
    found = frozenset((teams,) if isinstance(teams, str) else teams)
    for team in found:
        check_text("team", team)
    return frozenset(t.strip() for t in found)


def check_staff_id(staff_id: object) -> str:
    value = check_text("id", staff_id, name_da="id")
    if value.lower() in RESERVED_IDS:
        raise InvalidData(
            f"{value!r} is reserved for the system actor", detail_da=f"{value!r} er forbeholdt systemet"
        )
    return value


def resolved(actor: Actor, entry: StaffMember | None, impersonator: str | None = None) -> Resolved:
    """``actor`` as ``entry`` grants it, or NotInRegister."""
    if entry is None:
        raise NotInRegister(actor.id, "reserved" if actor.id.lower() in RESERVED_IDS else "unknown")
    if not entry.active:
        raise NotInRegister(actor.id, "inactive")
    roles = entry.roles
    if actor.roles:
        extra = sorted(actor.roles - entry.roles)
        if extra:
            raise NotInRegister(actor.id, "roles", detail=", ".join(extra))
        roles = actor.roles
    teams = entry.teams
    if actor.teams:
        extra = sorted(actor.teams - entry.teams)
        if extra:
            raise NotInRegister(actor.id, "teams", detail=", ".join(extra))
        teams = actor.teams
    return Resolved(entry.id, roles, teams, impersonator)


__all__ = [
    "ADMIN",
    "KINDS",
    "RESERVED_IDS",
    "STAFF_ROLES",
    "SYSTEM",
    "SYSTEM_ID",
    "SYSTEM_ROLE",
    "Impersonation",
    "NotInRegister",
    "Resolved",
    "StaffMember",
    "SystemActor",
    "check_roles",
    "check_staff_id",
    "check_teams",
    "resolved",
]
