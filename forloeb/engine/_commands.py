"""The commands that move an engagement or record on it: start, fire, notes,
details, activities, and the triggers available now.

Each builds a ``work`` function for :meth:`Kernel.run` (one transaction: lock
the row, check version, role and guards, run the trigger on the workflow's
shared ``transitions`` machine, append the event, write the row). The deadline
arithmetic of entering, pausing and resuming a stage is the pure function
:func:`stage_entry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..persistence import Row, WriteTransaction
from ._answers import FIELDS_RECORD, activity_asks, check, chosen_outcome, required_missing
from ._calendar import BusinessCalendar
from ._chain import GENESIS, ROW_HASH, row_hash
from ._checks import check_data, check_note, check_subject, check_tags, check_text
from ._consent import check_receiver, handover_view
from ._definition import RETURN_TO_PAUSED, STAFF, Stage, Transition
from ._errors import GuardFailed, InvalidData, PermissionDenied, TransitionNotAllowed, UnknownTrigger
from ._kernel import Kernel, check_version, fingerprint
from ._legal import as_text as basis_as_text
from ._legal import normalise as normalise_basis
from ._machine import Carrier, CompiledWorkflow, MachineError
from ._types import Actor, Engagement, Event, TriggerOption

ACTIVITY = "record_activity"


def start(
    kernel: Kernel,
    workflow: str,
    subject: str,
    source: str,
    actor: Actor,
    data: Mapping[str, Any] | None,
    assignee: str | None,
    supervisor: str | None,
    team: str | None,
    tags: Iterable[str],
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.start`."""
    compiled = kernel.registry.compiled(workflow)
    definition = compiled.definition
    role = kernel.role_for(actor, STAFF, f"start {workflow}")
    payload_data = basis_as_text(check_data(data))
    sources = [c.key for c in definition.referral_sources]
    subject = subject.strip() if isinstance(subject, str) else subject
    missing = [k for k, v in (("subject", subject), ("source", source)) if not v]
    if missing:
        raise GuardFailed(None, definition.initial, "start", missing=missing, labels=compiled.labels)
    if source not in sources:
        raise GuardFailed(
            None, definition.initial, "start", invalid=[("source", source, sources)], labels=compiled.labels
        )
    check_subject(subject)
    for name, value in (("assignee", assignee), ("supervisor", supervisor), ("team", team)):
        if value is not None:
            check_text(name, value)
    tag_list = check_tags(tags)
    payload_data = check(
        compiled.start_asks,
        payload_data,
        partners=partners_of(kernel, compiled),
        engagement_id=None,
        state=definition.initial,
        trigger="start",
        labels=compiled.labels,
    )
    payload_data = check_choices(kernel, compiled, payload_data, None, "start")
    digest = fingerprint(
        "start", actor, workflow, subject, source, payload_data, assignee, supervisor, team, tag_list
    )

    now = kernel.clock()
    stage = definition.stage(definition.initial)
    due = kernel.calendar.due(now, stage.deadline) if stage.deadline else None
    # The engagement's own fields (a group's contact person …) are kept apart
    # from the first stage's answers.
    field_keys = {q.key for q in definition.fields}
    answers = {k: v for k, v in payload_data.items() if k not in field_keys}
    record: dict[str, Any] = {definition.initial: {**answers, "source": source}}
    if field_keys & payload_data.keys():
        record[FIELDS_RECORD] = {k: v for k, v in payload_data.items() if k in field_keys}
    started_payload = {
        "subject": subject,
        "source": source,
        "assignee": assignee,
        "supervisor": supervisor,
        "team": team,
        "tags": tag_list,
        "data": payload_data,
    }

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        inserted: dict[str, Any] = {
            "workflow": workflow,
            "workflow_version": definition.version,
            "state": definition.initial,
            "paused_from": None,
            "closed_from": None,
            "cycle": 1,
            "subject": subject,
            "source": source,
            "assignee": assignee,
            "supervisor": supervisor,
            "team": team,
            "tags": tag_list,
            "data": record,
            "version": 1,
            "head_hash": GENESIS,
            "created_at": now,
            "updated_at": now,
            "stage_entered_at": now,
            "stage_due_at": due,
            "due_remaining_s": None,
            "reminder_epoch": None,
            # Level 1 is due at the stage's due time.
            "next_reminder_at": due,
            "outcome": None,
        }
        engagement_id = tx.insert_engagement(inserted)
        tx.insert_tags(engagement_id, tag_list)
        event = kernel.append(
            tx,
            engagement_id=engagement_id,
            seq=1,
            prev_hash=GENESIS,
            type="started",
            trigger="start",
            from_state=None,
            to_state=definition.initial,
            actor=actor,
            role=role,
            payload={**started_payload, ROW_HASH: row_hash(inserted)},
            at=now,
        )
        tx.update_engagement(engagement_id, 1, {"head_hash": event.hash})
        row = tx.lock_engagement(engagement_id)
        assert row is not None
        return row, event

    return kernel.run(work, idempotency_key, digest)


def fire(
    kernel: Kernel,
    engagement_id: int,
    trigger: str,
    actor: Actor,
    data: Mapping[str, Any] | None,
    note: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.fire`."""
    given = basis_as_text(check_data(data))
    if note is not None:
        check_note(note)
    digest = fingerprint("fire", actor, engagement_id, trigger, given, note) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row = kernel.load(tx, engagement_id)
        compiled = kernel.registry.compiled(row["workflow"], row["workflow_version"])
        if trigger not in compiled.machine.events:
            definition = compiled.definition
            raise UnknownTrigger(definition.name, trigger, definition.triggers, labels=compiled.labels)
        check_version(row, expected_version)
        state = row["state"]
        role = kernel.role_for(
            actor, compiled.roles[trigger], trigger, compiled.labels.trigger(trigger, state)
        )
        asks = compiled.asks.get((trigger, state))
        # A trigger that does not lead from here is refused by the machine below.
        payload_data = (
            given
            if asks is None
            else check(
                asks,
                given,
                partners=partners_of(kernel, compiled),
                engagement_id=engagement_id,
                state=state,
                trigger=trigger,
                labels=compiled.labels,
            )
        )
        # The receiver checked, the legal basis structured, the chain's consents (H2, H4).
        payload_data, records, invalid = handover_view(
            tx, kernel.receivers, payload_data, row["data"], engagement_id, state
        )
        if invalid:
            raise GuardFailed(engagement_id, state, trigger, invalid=invalid, labels=compiled.labels)
        carrier = Carrier(
            state,
            row["paused_from"],
            row["closed_from"],
            guard_record(compiled, trigger, state, records, payload_data),
            payload_data,
            records,
        )
        _run_trigger(compiled, engagement_id, trigger, state, carrier)
        dest = carrier.state
        spec = compiled.spec(trigger, state)
        now = kernel.clock()
        cycle = row["cycle"] + 1 if spec.new_cycle else row["cycle"]
        new_records = _records_after(compiled, spec, state, dest, records, carrier, payload_data)
        kind = compiled.kind_of[dest]
        values: dict[str, Any] = {
            "state": dest,
            "cycle": cycle,
            "paused_from": state if kind == "paused" else None,
            "closed_from": state if kind == "final" else None,
            "updated_at": now,
        }
        if new_records is not records:
            values["data"] = new_records
        if dest != state or spec.new_cycle:
            values.update(stage_entry(compiled, spec, dest, row, now, kernel.calendar))
        payload: dict[str, Any] = {"data": payload_data}
        if note:
            payload["note"] = note
        if spec.new_cycle:
            payload["cycle"] = cycle
        outcome = chosen_outcome(spec, carrier.record)
        if outcome is not None:
            # The ending as a category that can be counted (its text is in the data),
            # on the event and on the row.
            payload["outcome"] = outcome
            values["outcome"] = outcome
        elif compiled.kind_of[state] == "final":
            values["outcome"] = None  # reopened: no result yet
        return kernel.commit_change(tx, row, values, actor, role, "transition", trigger, dest, payload, now)

    return kernel.run(work, idempotency_key, digest)


def _run_trigger(
    compiled: CompiledWorkflow, engagement_id: int, trigger: str, state: str, carrier: Carrier
) -> None:
    """Run the trigger on the shared machine; a refusal says exactly what is missing."""
    try:
        ok = compiled.trigger(trigger, carrier)
    except MachineError:
        raise TransitionNotAllowed(engagement_id, state, trigger, labels=compiled.labels) from None
    if not ok:
        if carrier.missing or carrier.invalid:
            raise GuardFailed(
                engagement_id,
                state,
                trigger,
                missing=carrier.missing,
                invalid=carrier.invalid,
                labels=compiled.labels,
            )
        raise TransitionNotAllowed(engagement_id, state, trigger, labels=compiled.labels)


def _records_after(
    compiled: CompiledWorkflow,
    spec: Transition,
    state: str,
    dest: str,
    records: dict[str, Any],
    carrier: Carrier,
    payload_data: dict[str, Any],
) -> dict[str, Any]:
    """The stage records after a fire: ``records`` itself when nothing changes (no copy)."""
    recorded = spec.record and bool(payload_data)
    if not recorded and not spec.new_cycle:
        return records
    new_records = dict(records)
    if recorded:
        new_records[state] = carrier.record
    if spec.new_cycle:
        # The new cycle starts with empty plans; the log keeps the old ones.
        active = compiled.definition.active_stages
        for key in active[active.index(dest) :]:
            new_records.pop(key, None)
    return new_records if new_records != records else records


def stage_entry(
    compiled: CompiledWorkflow,
    spec: Transition,
    dest: str,
    row: Row,
    now: datetime,
    calendar: BusinessCalendar,
) -> dict[str, Any]:
    """The deadline columns of entering ``dest`` at ``now`` (also reopen and begin anew).

    Pausing stops the clock (keeps the time left, leaves the sweep); resuming
    gives the time left back; entering any other stage starts its deadline.
    """
    values: dict[str, Any] = {"stage_entered_at": now, "reminder_epoch": None}
    remaining = row["due_remaining_s"]
    if compiled.kind_of[dest] == "paused":
        # Keep what was left of the stage's due time (none when overdue, so
        # the resumed stage is due at once).
        due = row["stage_due_at"]
        values["due_remaining_s"] = max((due - now).total_seconds(), 0.0) if due is not None else None
        values["stage_due_at"] = None
    elif spec.dest == RETURN_TO_PAUSED and remaining is not None:
        # Resume gives back the time that was left, as calendar time
        # (seconds), not re-counted in working days: exact, needs no
        # calendar, and at most shifts the due time by the weekends/holidays
        # within the remainder. The pause itself never counts.
        values["stage_due_at"] = now + timedelta(seconds=remaining)
        values["due_remaining_s"] = None
    else:
        deadline = compiled.stages[dest].deadline
        values["stage_due_at"] = calendar.due(now, deadline) if deadline else None
        values["due_remaining_s"] = None
    # A new stage entry starts the ladder: level 1 is due at the stage's due
    # time (none while paused, closed or without one).
    values["next_reminder_at"] = values["stage_due_at"]
    return values


def locked_for_staff(
    kernel: Kernel,
    tx: WriteTransaction,
    engagement_id: int,
    expected_version: int | None,
    actor: Actor,
    action: str,
) -> tuple[Row, CompiledWorkflow, str]:
    """What a staff command on one engagement starts with: the row locked, its
    workflow, the expected version checked, and the role ``actor`` acts in."""
    row = kernel.load(tx, engagement_id)
    compiled = kernel.registry.compiled(row["workflow"], row["workflow_version"])
    check_version(row, expected_version)
    return row, compiled, kernel.role_for(actor, STAFF, action)


def review(stage: Stage, now: datetime, calendar: BusinessCalendar) -> dict[str, Any]:
    """The deadline columns when work is recorded in a periodically reviewed stage
    (an activity, a self-help level): it counts as a review and starts a new review
    period, whose reminders are new rows. Nothing for any other stage."""
    if stage.deadline is None or not stage.deadline.rearm:
        return {}
    due = calendar.due(now, stage.deadline)
    return {"stage_due_at": due, "next_reminder_at": due, "reminder_epoch": now}


def add_note(
    kernel: Kernel,
    engagement_id: int,
    text: str,
    actor: Actor,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.add_note`."""
    check_note(text)
    if not text.strip():
        raise InvalidData("a note needs text", detail_da="et notat skal have tekst")
    digest = fingerprint("note", actor, engagement_id, text) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row = kernel.load(tx, engagement_id)
        check_version(row, expected_version)
        role = kernel.role_for(actor, STAFF, "note")
        now = kernel.clock()
        return kernel.commit_change(
            tx, row, {"updated_at": now}, actor, role, "note", None, row["state"], {"text": text}, now
        )

    return kernel.run(work, idempotency_key, digest)


def record_details(
    kernel: Kernel,
    engagement_id: int,
    data: Mapping[str, Any],
    actor: Actor,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.record_details`."""
    payload_data = basis_as_text(check_data(data))
    if not payload_data:
        raise InvalidData("nothing to record", detail_da="intet at registrere")
    digest = fingerprint("details", actor, engagement_id, payload_data) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row, compiled, role = locked_for_staff(
            kernel, tx, engagement_id, expected_version, actor, "record_details"
        )
        state = row["state"]
        if compiled.kind_of[state] != "active":
            raise TransitionNotAllowed(engagement_id, state, "record_details", labels=compiled.labels)
        answers = check(
            compiled.stage_asks[state],
            payload_data,
            partners=partners_of(kernel, compiled),
            engagement_id=engagement_id,
            state=state,
            trigger="record_details",
            labels=compiled.labels,
        )
        answers = check_choices(kernel, compiled, answers, engagement_id, "record_details", state)
        records = dict(row["data"])
        records[state] = {**records.get(state, {}), **answers}
        now = kernel.clock()
        return kernel.commit_change(
            tx,
            row,
            {"data": records, "updated_at": now},
            actor,
            role,
            "details",
            None,
            state,
            {"data": answers},
            now,
        )

    return kernel.run(work, idempotency_key, digest)


def record_activity(
    kernel: Kernel,
    engagement_id: int,
    kind: str,
    actor: Actor,
    description: str | None,
    data: Mapping[str, Any] | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.record_activity`."""
    payload_data = basis_as_text(check_data(data))
    if description is not None:
        check_note(description)
    digest = (
        fingerprint("activity", actor, engagement_id, kind, description, payload_data)
        if idempotency_key
        else ""
    )

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row, compiled, role = locked_for_staff(kernel, tx, engagement_id, expected_version, actor, ACTIVITY)
        state = row["state"]
        stage = compiled.stages[state]
        if "activities" not in stage.records:
            raise TransitionNotAllowed(engagement_id, state, ACTIVITY, labels=compiled.labels)
        if kind is None:
            raise GuardFailed(engagement_id, state, ACTIVITY, missing=["kind"], labels=compiled.labels)
        check_choices(kernel, compiled, {"kind": kind}, engagement_id, ACTIVITY, state)
        answers = payload_data
        activity_kind = compiled.definition.activity_kind(kind)
        if activity_kind is not None:
            # The method's fields of this kind: with whom, who does what, by when.
            answers = check(
                activity_asks(activity_kind, stage),
                payload_data,
                partners=partners_of(kernel, compiled),
                engagement_id=engagement_id,
                state=state,
                trigger=ACTIVITY,
                labels=compiled.labels,
            )
            missing = required_missing(activity_kind.fields, answers)
            if missing:
                raise GuardFailed(engagement_id, state, ACTIVITY, missing=missing, labels=compiled.labels)
        now = kernel.clock()
        # The checked kind and description win over same-named data keys.
        activity = {**answers, "kind": kind, "description": description}
        records = dict(row["data"])
        stage_record = dict(records.get(state, {}))
        stage_record["activities"] = [
            *stage_record.get("activities", []),
            {**activity, "at": now.isoformat(), "by": actor.id},
        ]
        records[state] = stage_record
        values: dict[str, Any] = {"data": records, "updated_at": now, **review(stage, now, kernel.calendar)}
        return kernel.commit_change(tx, row, values, actor, role, "activity", None, state, activity, now)

    return kernel.run(work, idempotency_key, digest)


def available_triggers(kernel: Kernel, engagement: Engagement, actor: Actor) -> list[TriggerOption]:
    """:meth:`Engine.available_triggers` for an engagement already read."""
    compiled = kernel.registry.compiled(engagement.workflow, engagement.workflow_version)
    state = engagement.state
    options: list[TriggerOption] = []
    for trigger in compiled.definition.triggers:
        if not compiled.leads_from(trigger, state):
            continue
        spec = compiled.spec(trigger, state)
        carrier = Carrier(
            state,
            engagement.paused_from,
            engagement.closed_from,
            guard_record(compiled, trigger, state, engagement.data, {}),
            {},
            engagement.data,
        )
        problem: Exception | None = None
        try:
            kernel.role_for(actor, spec.roles, trigger, spec.labels)
            _run_trigger(compiled, engagement.id, trigger, state, carrier)
        except (PermissionDenied, GuardFailed, TransitionNotAllowed) as exc:
            problem = exc
        dest = carrier.state if problem is None else (None if spec.dest.startswith("@") else spec.dest)
        options.append(
            TriggerOption(
                trigger=trigger,
                dest=dest,
                allowed=problem is None,
                requires=compiled.required[(trigger, state)],
                problem=problem,  # type: ignore[arg-type]
            )
        )
    return options


def guard_record(
    compiled: CompiledWorkflow,
    trigger: str,
    state: str,
    records: Mapping[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """What a trigger's guards look at: the stage's record completed with this
    fire's data, or for a transition that records nothing (pause, withdraw …)
    this fire's data alone, so a reason recorded for something else (the
    referral's "why") never counts as the reason to withdraw."""
    spec = compiled.specs.get((trigger, state))
    if spec is not None and not spec.record:
        return data
    return {**records.get(state, {}), **data}


def check_choices(
    kernel: Kernel,
    compiled: CompiledWorkflow,
    data: Mapping[str, Any],
    engagement_id: int | None,
    trigger: str,
    state: str | None = None,
) -> dict[str, Any]:
    """Values of choice keys must be among the definition's choices; a receiver in the
    register; a legal basis one of the structured choices. Returns ``data`` with the
    legal basis in its structured form."""
    invalid: list[tuple[str, object, Sequence[str]]] = [
        (k, v, allowed)
        for k, allowed in compiled.choice_keys.items()
        if (v := data.get(k)) is not None and v not in allowed
    ]
    if "receiver" in data:
        invalid += check_receiver(kernel.receivers, data["receiver"])
    data, bad = normalise_basis(data)
    invalid += bad
    if invalid:
        raise GuardFailed(
            engagement_id,
            state or compiled.definition.initial,
            trigger,
            invalid=invalid,
            labels=compiled.labels,
        )
    return data


def partners_of(kernel: Kernel, compiled: CompiledWorkflow) -> Callable[[], frozenset[str]]:
    """The register partner answers are checked against: the method's partners
    and the engine's receivers (which an installation may extend)."""

    def register() -> frozenset[str]:
        return frozenset(c.key for c in compiled.definition.partners) | frozenset(kernel.receivers)

    return register


__all__ = [
    "ACTIVITY",
    "add_note",
    "available_triggers",
    "check_choices",
    "fire",
    "guard_record",
    "partners_of",
    "record_activity",
    "record_details",
    "stage_entry",
    "start",
]
