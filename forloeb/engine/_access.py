"""Who may see which engagements: the one place the rule is written.

Auditors and supervisors see every engagement. A worker sees the engagements
of their teams (``Actor.teams``), those assigned to them, and those not yet
routed to any team (a referral nobody has taken is everyone's to pick up). The rule applies
to everything that reads engagement data for someone in bulk or hands it on:
audit queries and timelines, the access-log listing, handover exports and
the resident's access-request export. (Commands on one engagement keep their
own role checks per trigger; see ``Engine._role_for``.)

``visibility`` gives the same rule as a filter the store turns into SQL, so
a worker's audit query never loads rows it may not return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..persistence import Visibility
from ._definition import AUDITOR, SUPERVISOR, WORKER
from ._errors import InvalidData, PermissionDenied
from ._types import Actor

SEES_ALL: frozenset[str] = frozenset({AUDITOR, SUPERVISOR})
# Roles that may query the audit trail (workers: their teams' engagements only).
AUDIT_READERS: frozenset[str] = frozenset({AUDITOR, SUPERVISOR, WORKER})
# Roles that may verify the chain, write checkpoints and read the access log:
# these are about everyone's work, not one team's.
AUDIT_OFFICERS: frozenset[str] = frozenset({AUDITOR, SUPERVISOR})
# The role an entry records when an actor holds several that may act.
_PREFERENCE = (SUPERVISOR, WORKER, AUDITOR)


def acting_role(actor: Actor, allowed: Iterable[str], action: str) -> str:
    """The role ``actor`` acts in for ``action``, or PermissionDenied."""
    if not isinstance(actor, Actor) or not isinstance(actor.id, str) or not actor.id.strip():
        raise InvalidData("an actor with an id is required", detail_da="en aktør med id er påkrævet")
    allowed = frozenset(allowed)
    for role in _PREFERENCE:
        if role in allowed and role in actor.roles:
            return role
    raise PermissionDenied(actor.id, actor.roles, action, allowed)


def sees_all(actor: Actor) -> bool:
    return bool(SEES_ALL & actor.roles)


def can_see(actor: Actor, engagement: Mapping[str, Any]) -> bool:
    """True when ``actor`` may see the engagement (a row or ``Engagement.to_dict()``)."""
    if sees_all(actor):
        return True
    if WORKER not in actor.roles:
        return False
    team = engagement.get("team")
    return team is None or team in actor.teams or engagement.get("assignee") == actor.id


def visibility(actor: Actor) -> Visibility:
    """``can_see`` as a filter for the store."""
    if sees_all(actor):
        return Visibility(all=True)
    if WORKER not in actor.roles:
        return Visibility(all=False)
    return Visibility(all=False, teams=actor.teams, assignee=actor.id, unrouted=True)


def check_can_see(actor: Actor, engagement: Mapping[str, Any], action: str) -> None:
    """PermissionDenied unless ``actor`` may see the engagement."""
    if not can_see(actor, engagement):
        raise PermissionDenied(
            actor.id,
            actor.roles,
            f"{action} (forløb {engagement.get('id')})",
            ("auditor", "supervisor", f"team {engagement.get('team') or '-'}"),
        )


__all__ = [
    "AUDIT_OFFICERS",
    "AUDIT_READERS",
    "acting_role",
    "can_see",
    "check_can_see",
    "sees_all",
    "visibility",
]
