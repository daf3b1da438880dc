"""Reads of engagements: one, its history, a filtered list, and the replay of its log.

With an actor (always, through the Engine API), the actor is resolved in the
staff register, may read only what the one visibility rule lets it see (a
refusal is logged), and every read is written to the access log (who, when,
which engagements, why) through :meth:`Kernel.log_access`. Without one the
read is the engine's own (a feature that reads to do its work).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from ..persistence import EngagementFilter
from ._access import visibility
from ._definition import WorkflowDefinition
from ._errors import InvalidData
from ._kernel import Kernel, snapshot
from ._types import Actor, Engagement, Event


def get(
    kernel: Kernel,
    engagement_id: int,
    *,
    actor: Actor | None,
    purpose: str | None,
    action: str = "read",
) -> Engagement:
    """:meth:`Engine.get` (``action``: what the access log calls this read)."""
    acting = kernel.resolve(actor) if actor is not None else None
    with kernel.read() as tx:
        row = kernel.load(tx, engagement_id)
    if acting is not None:
        kernel.check_visible(acting, row, action)
        kernel.log_access(acting, action, engagements=[row], purpose=purpose)
    return snapshot(row)


def history(kernel: Kernel, engagement_id: int, *, actor: Actor | None, purpose: str | None) -> list[Event]:
    """:meth:`Engine.history`."""
    acting = kernel.resolve(actor) if actor is not None else None
    with kernel.read() as tx:
        row = kernel.load(tx, engagement_id)
        events = [Event.from_row(r) for r in tx.events(engagement_id)]
    if acting is not None:
        kernel.check_visible(acting, row, "history")
        kernel.log_access(acting, "history", engagements=[row], purpose=purpose)
    return events


def list_engagements(
    kernel: Kernel,
    workflow: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    supervisor: str | None = None,
    team: str | None = None,
    tag: str | None = None,
    subject: str | None = None,
    stale: bool = False,
    limit: int | None = None,
    offset: int = 0,
    actor: Actor | None = None,
    purpose: str | None = None,
    cursor: str | None = None,
) -> EngagementPage:
    """:meth:`Engine.list`: with an actor, only what it may see, and ONE access-log
    entry naming every engagement shown (a page costs one row, and a resident's
    access request still finds it)."""
    acting = kernel.resolve(actor) if actor is not None else None
    if workflow is not None:
        kernel.registry.compiled(workflow)
    where = EngagementFilter(
        workflow=workflow,
        state=state,
        assignee=assignee,
        supervisor=supervisor,
        team=team,
        tag=tag,
        subject=subject,
        due_before=kernel.clock() if stale else None,
        # One more than asked: whether a next page exists, without a count.
        limit=limit + 1 if limit is not None else None,
        offset=offset,
        visibility=visibility(acting) if acting is not None else None,
        # The order an index serves: by id, or a stale list by its due time.
        order="due" if stale else "id",
        **_after(cursor, stale),
    )
    with kernel.read() as tx:
        rows = tx.list_engagements(where)
    more = limit is not None and len(rows) > limit
    found = EngagementPage(snapshot(r) for r in rows[:limit])
    if more:
        last = found[-1]
        # A stale listing only holds engagements with a due time (the index's order).
        due = last.stage_due_at.isoformat() if last.stage_due_at is not None else ""
        found.next_cursor = _cursor(["due", due, last.id] if stale else ["id", last.id])
    if acting is not None:
        criteria: dict[str, Any] = {
            k: v
            for k, v in (
                ("workflow", workflow),
                ("state", state),
                ("assignee", assignee),
                ("supervisor", supervisor),
                ("team", team),
                ("tag", tag),
                ("subject", subject),
                ("stale", stale or None),
                ("limit", limit),
                ("offset", offset or None),
                ("cursor", cursor),
            )
            if v is not None
        }
        kernel.log_access(
            acting,
            "search",
            engagements=[{"id": e.id, "subject": e.subject} for e in found],
            criteria=criteria,
            purpose=purpose,
            page=True,
        )
    return found


class EngagementPage(list[Engagement]):
    """A page of engagements (a plain list) and the cursor of the next page:
    pass ``next_cursor`` as ``cursor`` with the same filters; None on the last page."""

    next_cursor: str | None = None

    def __init__(self, items: Iterable[Engagement] = ()) -> None:
        super().__init__(items)
        self.next_cursor = None


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _after(cursor: str | None, stale: bool) -> dict[str, Any]:
    """The keyset start of the page after ``cursor`` (from a listing with the same order)."""
    if cursor is None:
        return {}
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if stale and key[0] == "due" and len(key) == 3 and isinstance(key[2], int):
            due = datetime.fromisoformat(key[1])
            if due.tzinfo is not None:
                return {"after_due": (due, key[2])}
        if not stale and key[0] == "id" and len(key) == 2 and type(key[1]) is int:
            return {"after_id": key[1]}
    except (ValueError, TypeError, IndexError, binascii.Error):
        pass
    raise InvalidData(
        "not a cursor from an earlier page of this listing",
        detail_da="ikke en gyldig cursor fra en tidligere side af denne liste",
    )


def replay(
    definition: WorkflowDefinition,
    events: Sequence[Event],
    versions: Callable[[int], WorkflowDefinition | None] | None = None,
) -> dict[str, Any]:
    """Fold an event log into the engagement's state (the log is the truth).

    ``definition`` is the engagement's method at its current version. A log
    with migration events began on another version: ``versions`` looks a
    version up (None when unknown), so each event is read with the stages of
    the version it was written under.
    """
    migrations = [e for e in events if e.type == "migration"]
    current = definition
    if migrations and versions is not None:
        current = versions(int(migrations[0].data["from_version"])) or definition
    kind_of = {s.key: s.kind for s in current.stages}
    state: str | None = None
    cycle = 1
    paused_from: str | None = None
    closed_from: str | None = None
    for e in events:
        if e.type == "started":
            state = e.to_state
        elif e.type == "transition":
            assert state is not None
            assert e.to_state is not None
            paused_from = state if kind_of[e.to_state] == "paused" else None
            closed_from = state if kind_of[e.to_state] == "final" else None
            cycle = int(e.data.get("cycle", cycle))
            state = e.to_state
        elif e.type == "migration":
            # Another version: the stage through the map, and where it was paused from.
            state = e.to_state
            paused_from = e.data.get("paused_from")
            closed_from = None
            moved_to = versions(int(e.data["to_version"])) if versions is not None else None
            kind_of = {s.key: s.kind for s in (moved_to or definition).stages}
    return {"state": state, "cycle": cycle, "paused_from": paused_from, "closed_from": closed_from}


def replay_engagement(kernel: Kernel, engagement_id: int) -> dict[str, Any]:
    """:meth:`Engine.replay`: the engagement's own log, read with the versions it went through."""
    with kernel.read() as tx:
        row = kernel.load(tx, engagement_id)
        events = [Event.from_row(r) for r in tx.events(engagement_id)]
    name = row["workflow"]
    definition = kernel.registry.compiled(name, row["workflow_version"]).definition

    def versions(version: int) -> WorkflowDefinition | None:
        found = kernel.registry.find(name, version)
        return found.definition if found is not None else None

    return replay(definition, events, versions)
