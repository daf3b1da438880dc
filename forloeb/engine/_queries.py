"""Reads of engagements: one, its history, a filtered list, and the replay of its log.

With an actor, every read is written to the access log (who, when, which
engagements, why) through :meth:`Kernel.log_access`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..persistence import EngagementFilter
from ._definition import WorkflowDefinition
from ._kernel import Kernel, snapshot
from ._types import Actor, Engagement, Event


def get(kernel: Kernel, engagement_id: int, *, actor: Actor | None, purpose: str | None) -> Engagement:
    """:meth:`Engine.get`."""
    with kernel.read() as tx:
        engagement = snapshot(kernel.load(tx, engagement_id))
    if actor is not None:
        kernel.log_access(actor, "read", engagements=[engagement.to_dict()], purpose=purpose)
    return engagement


def history(kernel: Kernel, engagement_id: int, *, actor: Actor | None, purpose: str | None) -> list[Event]:
    """:meth:`Engine.history`."""
    with kernel.read() as tx:
        row = kernel.load(tx, engagement_id)
        events = [Event.from_row(r) for r in tx.events(engagement_id)]
    if actor is not None:
        kernel.log_access(actor, "history", engagements=[row], purpose=purpose)
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
) -> list[Engagement]:
    """:meth:`Engine.list`."""
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
        limit=limit,
        offset=offset,
    )
    with kernel.read() as tx:
        found = [snapshot(r) for r in tx.list_engagements(where)]
    if actor is not None:
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
            )
            if v is not None
        }
        kernel.log_access(
            actor,
            "search",
            engagements=[{"id": e.id, "subject": e.subject} for e in found],
            criteria=criteria,
            purpose=purpose,
        )
    return found


def replay(definition: WorkflowDefinition, events: Sequence[Event]) -> dict[str, Any]:
    """Fold an event log into the engagement's state (the log is the truth)."""
    kind_of = {s.key: s.kind for s in definition.stages}
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
    return {"state": state, "cycle": cycle, "paused_from": paused_from, "closed_from": closed_from}
