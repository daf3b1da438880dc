"""An engagement row as the value object callers get (:class:`Engagement`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..persistence import Row
from ._types import Engagement

_TIMES = ("created_at", "updated_at", "stage_entered_at", "stage_due_at", "next_reminder_at")


def snapshot(row: Row) -> Engagement:
    """The engagement of a stored row."""
    return Engagement(
        id=row["id"],
        workflow=row["workflow"],
        workflow_version=row["workflow_version"],
        state=row["state"],
        paused_from=row["paused_from"],
        closed_from=row["closed_from"],
        cycle=row["cycle"],
        subject=row["subject"],
        source=row["source"],
        assignee=row["assignee"],
        supervisor=row["supervisor"],
        team=row["team"],
        tags=tuple(row["tags"]),
        data=row["data"],
        version=row["version"],
        head_hash=row["head_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        stage_entered_at=row["stage_entered_at"],
        stage_due_at=row["stage_due_at"],
        # .get: a response stored for an idempotency key before the column existed.
        next_reminder_at=row.get("next_reminder_at"),
        outcome=row.get("outcome"),
    )


def snapshot_from_dict(d: Mapping[str, Any]) -> Engagement:
    """The engagement of a stored idempotent response (``Engagement.to_dict``)."""
    values = dict(d)
    for key in _TIMES:
        if values.get(key) is not None:
            values[key] = datetime.fromisoformat(values[key])
    return snapshot(values)


__all__ = ["snapshot", "snapshot_from_dict"]
