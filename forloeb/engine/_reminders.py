"""Reminders: the sweep that raises them up the escalation ladder, acknowledge and snooze.

A stage's :class:`Deadline` (with the embedding app's overrides, see
``with_deadlines``) makes the stage due; the sweep raises level 1 at the due
time and each level above it a delay later, writing the reminder row, its
event and its outbox messages in one transaction (DESIGN invariant 4);
``_dispatch`` delivers them. ``Engine.sweep``, ``Engine.acknowledge_reminder``,
``Engine.snooze_reminder`` and ``Engine.reminders`` call in here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..persistence import ReminderFilter, Row, WriteConflict
from ._checks import MAX_TEXT, check_note, positive_int
from ._definition import STAFF, Deadline, WorkflowDefinition
from ._errors import ConcurrencyError, DefinitionError, InvalidData, ReminderNotFound, UnknownWorkflow
from ._kernel import Kernel, snapshot
from ._machine import CompiledWorkflow
from ._register import SYSTEM, SYSTEM_ROLE
from ._types import Actor, Event, Reminder

# Per workflow, per stage: the deadline that replaces the definition's (None: no deadline).
DeadlineOverrides = Mapping[str, Mapping[str, Deadline | None]]

# Who the log names for what the sweep does: no person acted. The register's
# reserved system actor: a caller naming its id is refused; only the
# background jobs hand it over (and whoever holds this object in-process).
SYSTEM_ACTOR = SYSTEM
_LEVEL_NAMES_DA = {1: "Påmindelse", 2: "Eskalering til leder", 3: "Eskalering til teamleder"}


def sweep(
    kernel: Kernel,
    now: datetime | None,
    *,
    batch: int,
    should_stop: Callable[[], bool] | None = None,
    actor: Actor = SYSTEM,
) -> list[Reminder]:
    """:meth:`Engine.sweep`: every reminder due at ``now``, each engagement in its own transaction.

    Safe to run on any number of processes and nodes at once: each
    engagement is handled in its own write transaction that locks the row,
    re-checks that it is still due, and inserts the reminder on its unique
    key (engagement, stage entry, level) with ``ON CONFLICT DO NOTHING``; the
    event and the outbox message go in the same transaction. A sweep that did
    not run for a while raises every level that became due, each once. The
    candidates come from a range scan of the indexed ``next_reminder_at``
    (when the next level is due; ``stage_due_at``, the stage's own due time,
    is never moved by the sweep), so the cost follows the number due.

    ``actor``: the system actor (the scheduler), a supervisor or an admin;
    ``now`` not ahead of the real clock (``Kernel.background``). The events
    name the system actor whoever asked. ``should_stop`` is asked between
    engagements (a scheduler shutting down): what is left is due at the next
    sweep, on this node or another."""
    positive_int("batch", batch)
    now = kernel.background(actor, now, "sweep")
    raised: list[Reminder] = []
    after: tuple[datetime, int] | None = None
    while True:
        with kernel.read() as rtx:
            due = rtx.due_engagements(now, batch, after)
        for engagement_id, _ in due:
            if should_stop is not None and should_stop():
                return raised
            raised.extend(sweep_one(kernel, engagement_id, now))
        if len(due) < batch:
            return raised
        # Keyset paging: a row skipped (locked by another sweeper, or
        # changed meanwhile) is not fetched again by this sweep.
        after = (due[-1][1], due[-1][0])


def sweep_one(kernel: Kernel, engagement_id: int, now: datetime) -> list[Reminder]:
    """The levels due at ``now`` on one engagement, raised in one transaction (none if it
    changed since the query, is locked, or another sweeper got there first)."""

    raised: list[Reminder] = []
    emitted: list[Event] = []
    try:
        with kernel.write() as tx:
            row = tx.lock_engagement_if_free(engagement_id)
            # Changed since the query (moved on, paused, reminded by
            # another sweeper) or held by another transaction: not ours.
            due = row["next_reminder_at"] if row is not None else None
            if row is None or due is None or due > now:
                return []
            compiled = kernel.registry.find(row["workflow"], row["workflow_version"])
            if compiled is None:
                # A workflow this process does not know: leave it for one that does.
                return []
            state = row["state"]
            deadline = compiled.stages[state].deadline
            if compiled.kind_of[state] != "active" or deadline is None or row["stage_due_at"] is None:
                # Nothing to remind of (e.g. a deadline removed by an override):
                # take it off the sweep; scheduling data, not an event. The
                # stage's due time stays what it was set to on entry.
                tx.update_engagement(row["id"], row["version"], {"next_reminder_at": None})
                return []
            epoch: datetime = row["reminder_epoch"] or row["stage_entered_at"]
            done = {r["level"]: r for r in tx.reminders_of_entry(row["id"], epoch)}
            plan, next_due = _ladder(kernel, row, deadline, done, now)
            version, head = row["version"], row["head_hash"]
            values: dict[str, Any] = {}
            for level, role, due_at in plan:
                recipient = _recipient(kernel, row, role)
                reminder: dict[str, Any] = {
                    "engagement_id": row["id"],
                    "stage": state,
                    "stage_entered_at": epoch,
                    "level": level,
                    "recipient_role": role,
                    "recipient": recipient,
                    "raised_at": now,
                    "due_at": due_at,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "snoozed_until": None,
                    "snooze_reason": None,
                }
                reminder_id = tx.insert_reminder(reminder)
                if reminder_id is None:
                    # Another sweeper raised it first: undo anything of ours.
                    raise _LostRace
                reminder["id"] = reminder_id
                version += 1
                event = kernel.append(
                    tx,
                    engagement_id=row["id"],
                    seq=version,
                    prev_hash=head,
                    type="reminder",
                    trigger=None,
                    from_state=state,
                    to_state=state,
                    actor=SYSTEM,
                    role=SYSTEM_ROLE,
                    payload={
                        "reminder_id": reminder_id,
                        "level": level,
                        "recipient_role": role,
                        "recipient": recipient,
                        "due_at": due_at.isoformat(),
                    },
                    at=now,
                )
                head = event.hash
                for channel, to in _targets(kernel, row, reminder):
                    tx.insert_outbox(_message(kernel, compiled, row, reminder, now, channel, to))
                raised.append(_reminder(reminder))
                emitted.append(event)
            if deadline.rearm and plan:
                # A periodic review: the next period starts when this one's
                # review was due. After a long gap, one reminder, not a burst.
                review_due = plan[0][2]
                values["reminder_epoch"] = review_due
                next_due = kernel.calendar.due(review_due, deadline)
                if next_due <= now:
                    next_due = kernel.calendar.due(now, deadline)
                # The review reminder re-arms the stage: a new due time.
                values["stage_due_at"] = next_due
            # The next level's due time, or None: the ladder is done (the
            # stage stays overdue, but nothing more is raised for it).
            values["next_reminder_at"] = next_due
            if plan:
                values.update(version=version, head_hash=head, updated_at=now)
            if not tx.update_engagement(row["id"], row["version"], values):
                raise _LostRace
    except (_LostRace, WriteConflict):
        return []
    if emitted:
        engagement = snapshot({**row, **values})
        for event in emitted:
            kernel.after_commit(engagement, event)
    return raised


def _ladder(
    kernel: Kernel, row: Row, deadline: Deadline, done: Mapping[int, Row], now: datetime
) -> tuple[list[tuple[int, str, datetime]], datetime | None]:
    """The levels due at ``now`` and not yet raised, and when the next one is due.

    Level 1 is due at the stage's due time; each level above it a delay
    after the level below was due, but never before that level's snooze
    ends. None as the next due time: the ladder is done.
    """
    plan: list[tuple[int, str, datetime]] = []
    prev_due: datetime | None = None
    prev_snooze: datetime | None = None
    for level, role, escalation in deadline.levels:
        if level in done:
            prev_due, prev_snooze = done[level]["due_at"], done[level]["snoozed_until"]
            continue
        if escalation is None or prev_due is None:
            due: datetime = row["stage_due_at"]
        else:
            due = kernel.calendar.due(prev_due, escalation.delay)
            if prev_snooze is not None and prev_snooze > due:
                due = prev_snooze
        if due > now:
            return plan, due
        plan.append((level, role, due))
        prev_due, prev_snooze = due, None
    return plan, None


def _recipient(kernel: Kernel, row: Row, role: str) -> str | None:
    if role == "assignee":
        return row["assignee"]  # type: ignore[no-any-return]
    if role == "supervisor":
        return row["supervisor"]  # type: ignore[no-any-return]
    return kernel.team_leads.get(row["team"]) if row["team"] else None


def default_channel(kernel: Kernel) -> str:
    # Without a notifier for the reminder channel (no configuration yet)
    # reminders go to the log rather than into the dead letters.
    return kernel.channel if kernel.channel in kernel.router.notifiers else "log"


def _targets(kernel: Kernel, row: Row, reminder: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(channel, recipient) of each outbox message for a reminder: one per
    matching route (each its own message id, so each is delivered and
    retried on its own), else the reminder channel to the reminder's recipient."""
    found: list[tuple[str, str | None]] = list(
        kernel.router.targets(
            team=row["team"],
            workflow=row["workflow"],
            level=reminder["level"],
            recipient_role=reminder["recipient_role"],
            recipient=reminder["recipient"],
        )
    )
    return found or [(default_channel(kernel), reminder["recipient"])]


def _message(
    kernel: Kernel,
    compiled: CompiledWorkflow,
    row: Row,
    reminder: Mapping[str, Any],
    now: datetime,
    channel: str | None = None,
    recipient: str | None = None,
) -> dict[str, Any]:
    """The outbox row for a reminder (Danish: the staff's language)."""

    level = reminder["level"]
    stage = compiled.stages[row["state"]].labels.da
    # No subject reference (L4): a message leaves forloeb (a mailbox, a log
    # channel, another system) and outlives an erasure; the engagement's number
    # says nothing outside forloeb and is never reused.
    title = f"{_LEVEL_NAMES_DA.get(level, f'Niveau {level}')}: forløb {row['id']}"
    message_id = str(uuid.uuid4())
    return {
        "message_id": message_id,
        "reminder_id": reminder["id"],
        "channel": channel or kernel.channel,
        "recipient": recipient,
        "subject": title[:MAX_TEXT],
        "body": (
            f"Forløb {row['id']} har stået i fasen »{stage}« siden "
            f"{row['stage_entered_at']:%d.%m.%Y}; fristen var "
            f"{reminder['due_at']:%d.%m.%Y %H:%M} UTC."
        ),
        "payload": {
            "message_id": message_id,
            "engagement_id": row["id"],
            "reminder_id": reminder["id"],
            "stage": row["state"],
            "level": level,
            "recipient_role": reminder["recipient_role"],
            "due_at": reminder["due_at"].isoformat(),
        },
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "delivered_at": None,
    }


def acknowledge(kernel: Kernel, reminder_id: int, *, actor: Actor) -> Reminder:
    """:meth:`Engine.acknowledge_reminder`: a receipt, which does not stop the ladder."""
    role = kernel.role_for(actor, STAFF, "acknowledge_reminder")

    def change(reminder: Row, now: datetime) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if reminder["acknowledged_at"] is not None:
            return None
        return {"acknowledged_at": now, "acknowledged_by": actor.id}, {}

    return _command(kernel, reminder_id, actor, role, "reminder_acknowledged", change)


def snooze(kernel: Kernel, reminder_id: int, *, until: datetime, reason: str, actor: Actor) -> Reminder:
    """:meth:`Engine.snooze_reminder`: hold back the next level until ``until``."""

    role = kernel.role_for(actor, STAFF, "snooze_reminder")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData("a snooze needs a reason", detail_da="en udsættelse kræver en begrundelse")
    check_note(reason)
    if not isinstance(until, datetime) or until.tzinfo is None:
        raise InvalidData(
            "until must be an aware datetime", detail_da="until skal være et tidspunkt med tidszone"
        )

    def change(reminder: Row, now: datetime) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if until <= now:
            raise InvalidData(
                "a snooze must end in the future", detail_da="en udsættelse skal slutte i fremtiden"
            )
        return {"snoozed_until": until.astimezone(UTC), "snooze_reason": reason}, {
            "until": until.astimezone(UTC).isoformat(),
            "reason": reason,
        }

    return _command(kernel, reminder_id, actor, role, "reminder_snoozed", change)


def _command(
    kernel: Kernel,
    reminder_id: int,
    actor: Actor,
    role: str,
    type: str,
    change: Callable[[Row, datetime], tuple[dict[str, Any], dict[str, Any]] | None],
) -> Reminder:
    """Change a reminder row and log it on its engagement, in one transaction."""

    if isinstance(reminder_id, bool) or not isinstance(reminder_id, int):
        raise ReminderNotFound(reminder_id)
    try:
        with kernel.write() as tx:
            reminder = tx.get_reminder(reminder_id)
            if reminder is None:
                raise ReminderNotFound(reminder_id)
            row = kernel.load(tx, reminder["engagement_id"])
            now = kernel.clock()
            changed = change(reminder, now)
            if changed is None:
                return _reminder(reminder)
            reminder_values, extra = changed
            tx.update_reminder(reminder_id, reminder_values)
            values: dict[str, Any] = {"updated_at": now}
            until = reminder_values.get("snoozed_until")
            epoch = row["reminder_epoch"] or row["stage_entered_at"]
            if (
                until is not None
                and row["next_reminder_at"] is not None
                and reminder["stage_entered_at"] == epoch
                and reminder["level"] == max(r["level"] for r in tx.reminders_of_entry(row["id"], epoch))
            ):
                # The next level is the one this snooze holds back (the
                # stage's own due time does not move).
                values["next_reminder_at"] = max(row["next_reminder_at"], until)
            payload = {"reminder_id": reminder_id, "level": reminder["level"], **extra}
            new_row, event = kernel.commit_change(
                tx, row, values, actor, role, type, None, row["state"], payload, now
            )
    except WriteConflict as exc:
        raise ConcurrencyError(None, None, None) from exc
    kernel.after_commit(snapshot(new_row), event)
    return _reminder({**reminder, **reminder_values})


def query(
    kernel: Kernel,
    supervisor: str | None,
    assignee: str | None,
    engagement_id: int | None,
    open_only: bool,
) -> list[Reminder]:
    """:meth:`Engine.reminders`: by id, filtered in the store."""
    where = ReminderFilter(
        supervisor=supervisor, assignee=assignee, engagement_id=engagement_id, open_only=open_only
    )
    with kernel.read() as tx:
        return [_reminder(r) for r in tx.list_reminders(where)]


class _LostRace(Exception):
    """Another sweeper got there first: roll back and move on."""


def with_deadlines(
    workflows: Sequence[WorkflowDefinition], overrides: DeadlineOverrides
) -> list[WorkflowDefinition]:
    """The definitions with the embedding app's deadlines put in (before compiling)."""
    by_name = {d.name for d in workflows}
    for name in overrides:
        if name not in by_name:
            raise UnknownWorkflow(name, by_name)
    result: list[WorkflowDefinition] = []
    for definition in workflows:
        stages_over = overrides.get(definition.name)
        if not stages_over:
            result.append(definition)
            continue
        keys = {s.key: s for s in definition.stages}
        for key, deadline in stages_over.items():
            if key not in keys:
                raise DefinitionError(definition.name, f"deadline for unknown stage {key!r}")
            if deadline is not None and keys[key].kind != "active":
                raise DefinitionError(definition.name, f"only active stages have deadlines, not {key!r}")
            if deadline is not None and not isinstance(deadline, Deadline):
                raise DefinitionError(definition.name, f"the deadline of {key!r} must be a Deadline")
        stages = tuple(
            replace(s, deadline=stages_over[s.key]) if s.key in stages_over else s for s in definition.stages
        )
        result.append(replace(definition, stages=stages))
    return result


def _reminder(row: Row) -> Reminder:
    return Reminder(
        id=row["id"],
        engagement_id=row["engagement_id"],
        stage=row["stage"],
        stage_entered_at=row["stage_entered_at"],
        level=row["level"],
        recipient_role=row["recipient_role"],
        recipient=row["recipient"],
        raised_at=row["raised_at"],
        due_at=row["due_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        snoozed_until=row["snoozed_until"],
        snooze_reason=row["snooze_reason"],
    )
