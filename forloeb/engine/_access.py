"""Who may see which engagements: the one place the rule is written.

Auditors and supervisors see every engagement. A worker sees the engagements
of their teams (the register's ``teams``), those assigned to them, and those
not yet routed to any team (a referral nobody has taken is everyone's to pick
up: the intake). An admin manages the staff register and sees no engagement
by being an admin.

The kernel applies the rule to every read and every write (``Kernel.check_visible``,
``Kernel.role_for``, ``Kernel.commit_change``) with the actor as the register
grants it, never as a caller describes it. ``visibility`` gives the same
rule as a filter the store turns into SQL, so that a worker's listing or
audit query never loads rows it may not return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..persistence import Visibility
from ._definition import AUDITOR, SUPERVISOR, WORKER
from ._register import ADMIN
from ._types import Actor

# The system actor (the sweep) works on every engagement.
SEES_ALL: frozenset[str] = frozenset({AUDITOR, SUPERVISOR, "system"})
# Roles that may query the audit trail (workers: what they may see only).
AUDIT_READERS: frozenset[str] = frozenset({AUDITOR, SUPERVISOR, WORKER})
# Roles that may verify the chains, write checkpoints and read the access log:
# these are about everyone's work, not one team's.
AUDIT_OFFICERS: frozenset[str] = frozenset({AUDITOR, SUPERVISOR})
# Roles that may delete from the access log (its purge): an auditor reads the
# log and may not shorten it (H6).
ACCESS_LOG_PURGERS: frozenset[str] = frozenset({SUPERVISOR, ADMIN})
# Roles that may run the background work by hand (sweep, dispatch, digest),
# besides the system actor (M6).
BACKGROUND: frozenset[str] = frozenset({SUPERVISOR, ADMIN, "system"})


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


__all__ = [
    "ACCESS_LOG_PURGERS",
    "AUDIT_OFFICERS",
    "AUDIT_READERS",
    "BACKGROUND",
    "SEES_ALL",
    "can_see",
    "sees_all",
    "visibility",
]
