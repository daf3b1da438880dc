"""Value objects handed to callers: frozen, typed, never ORM rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._errors import ForloebError
from ._i18n import DEFAULT_LANG, Lang


@dataclass(frozen=True)
class Actor:
    """Who acts, and in which roles ("worker", "supervisor", "auditor").

    ``teams``: the teams the actor works in; a worker sees the engagements of
    these teams and those assigned to them (``forloeb.engine._access``).
    """

    id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)

    def __init__(self, id: str, roles: Iterable[str] = (), teams: Iterable[str] = ()) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", frozenset((roles,) if isinstance(roles, str) else roles))
        object.__setattr__(self, "teams", frozenset((teams,) if isinstance(teams, str) else teams))

    @classmethod
    def worker(cls, id: str) -> Actor:
        return cls(id, ("worker",))

    @classmethod
    def supervisor(cls, id: str) -> Actor:
        return cls(id, ("supervisor",))

    @classmethod
    def auditor(cls, id: str) -> Actor:
        return cls(id, ("auditor",))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, kw_only=True)
class Engagement:
    """A snapshot of one engagement as committed."""

    id: int
    workflow: str
    workflow_version: int
    state: str
    paused_from: str | None
    closed_from: str | None
    cycle: int
    subject: str
    source: str
    assignee: str | None
    supervisor: str | None
    team: str | None
    tags: tuple[str, ...]
    data: Mapping[str, Any]
    version: int
    head_hash: str
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    # The current stage's due time (None: paused, closed, or no deadline).
    stage_due_at: datetime | None
    # When the next reminder or escalation is due (None: none is, e.g. every
    # level has been raised; the stage can still be overdue).
    next_reminder_at: datetime | None = None
    # How it ended, as the method's outcome category (None while it runs).
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings)."""
        return {
            "id": self.id,
            "workflow": self.workflow,
            "workflow_version": self.workflow_version,
            "state": self.state,
            "paused_from": self.paused_from,
            "closed_from": self.closed_from,
            "cycle": self.cycle,
            "subject": self.subject,
            "source": self.source,
            "assignee": self.assignee,
            "supervisor": self.supervisor,
            "team": self.team,
            "tags": list(self.tags),
            "data": self.data,
            "version": self.version,
            "head_hash": self.head_hash,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "stage_entered_at": _iso(self.stage_entered_at),
            "stage_due_at": _iso(self.stage_due_at),
            "next_reminder_at": _iso(self.next_reminder_at),
            "outcome": self.outcome,
        }


@dataclass(frozen=True, kw_only=True)
class Event:
    """One entry of an engagement's append-only event log."""

    engagement_id: int
    seq: int
    type: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str
    data: Mapping[str, Any]
    occurred_at: datetime
    prev_hash: str
    hash: str
    # The digest of the engagement row's decided columns after this event
    # (issue 12): stored in the hashed payload beside the data, kept apart
    # here so that ``data`` is what was given. None on events from before it.
    row_hash: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """The event of a stored ``events`` row (its ``payload`` is the event's data
        and, under "row_hash", the row digest: the hashed payload is both)."""
        payload = row["payload"]
        row_hash = payload.get("row_hash") if isinstance(payload, Mapping) else None
        if row_hash is not None:
            payload = {k: v for k, v in payload.items() if k != "row_hash"}
        return cls(
            engagement_id=row["engagement_id"],
            seq=row["seq"],
            type=row["type"],
            trigger=row["trigger"],
            from_state=row["from_state"],
            to_state=row["to_state"],
            actor=row["actor"],
            role=row["role"],
            data=payload,
            occurred_at=row["occurred_at"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            row_hash=row_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "seq": self.seq,
            "type": self.type,
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "actor": self.actor,
            "role": self.role,
            "data": self.data,
            "occurred_at": self.occurred_at.isoformat(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "row_hash": self.row_hash,
        }


@dataclass(frozen=True, kw_only=True)
class TriggerOption:
    """A trigger that leads somewhere from the current state, and whether it may fire now."""

    trigger: str
    dest: str | None
    allowed: bool
    requires: tuple[str, ...]
    problem: ForloebError | None = None

    def reason(self, lang: Lang = DEFAULT_LANG) -> str | None:
        """Why it is not allowed now, in ``lang``; None when allowed."""
        return self.problem.message(lang) if self.problem is not None else None

    def to_dict(self, lang: Lang = DEFAULT_LANG) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "dest": self.dest,
            "allowed": self.allowed,
            "requires": list(self.requires),
            "reason": self.reason(lang),
        }


@dataclass(frozen=True, kw_only=True)
class Reminder:
    """A reminder (level 1) or escalation (level 2, 3) raised for one stage entry.

    ``stage_entered_at`` identifies the stage entry (for a periodically
    reviewed stage, the review period); one row exists per (engagement,
    stage entry, level) however many sweepers run.
    """

    id: int
    engagement_id: int
    stage: str
    stage_entered_at: datetime
    level: int
    recipient_role: str
    recipient: str | None
    raised_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    snooze_reason: str | None = None

    @property
    def open(self) -> bool:
        """Not yet acknowledged (a snoozed reminder is still open)."""
        return self.acknowledged_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "engagement_id": self.engagement_id,
            "stage": self.stage,
            "stage_entered_at": _iso(self.stage_entered_at),
            "level": self.level,
            "recipient_role": self.recipient_role,
            "recipient": self.recipient,
            "raised_at": _iso(self.raised_at),
            "due_at": _iso(self.due_at),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "snoozed_until": _iso(self.snoozed_until),
            "snooze_reason": self.snooze_reason,
        }
