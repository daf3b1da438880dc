"""The ``Engine`` facade: the one object embedding apps talk to.

Every command is one transaction (DESIGN invariant 1): load and lock the
engagement, check role and guards, run the trigger on the workflow's shared
``transitions`` machine, write the new state with a version check, append the
event with its hash, store the idempotency key, commit. Logging and
subscribers run after the commit, never inside it.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import structlog

from ..persistence import (
    SCHEMA_HEAD,
    EngagementFilter,
    ReadTransaction,
    Row,
    SqlStore,
    Store,
    StoreUnavailable,
    WriteConflict,
    WriteTransaction,
    safe_url,
    sqlite_file_missing,
)
from . import _consent, _erasure, _handover, _reminders
from ._audit import Audit
from ._calendar import BusinessCalendar, WorkingDayCalendar
from ._chain import GENESIS, event_hash
from ._checks import check_aware, positive_int
from ._definition import RETURN_TO_PAUSED, STAFF, Deadline, Label, Labels, WorkflowDefinition
from ._dispatch import DEFAULT_OUTBOX_RETENTION_DAYS, DispatchResult, OutboxMessage, RetryPolicy
from ._dispatch import dispatch as _dispatch
from ._dispatch import purge_outbox as _purge_outbox
from ._dispatch import send_digests as _send_digests
from ._errors import (
    ConcurrencyError,
    DatabaseUnavailable,
    EngagementNotFound,
    GuardFailed,
    IdempotencyConflict,
    InvalidData,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
    is_newer_revision,
)
from ._machine import Carrier, CompiledWorkflow, MachineError, compile_workflow
from ._types import Actor, Engagement, Event, Reminder, TriggerOption
from .notifiers import Route, Router

Clock = Callable[[], datetime]
# Per workflow, per stage: the deadline that replaces the definition's (None: no deadline).
DeadlineOverrides = Mapping[str, Mapping[str, Deadline | None]]
Subscriber = Callable[[Engagement, Event], None]

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_TEXT = 200  # subject, assignee, team … (column widths)
MAX_TAG = 100
DEFAULT_WORKFLOWS = "forloeb.workflows:BUILTIN"
# The role an event records when an actor holds several that may act.
_ROLE_PREFERENCE = ("supervisor", "worker")
ACTIVITY = "record_activity"
REMINDER_CHANNEL = "email"

# A Danish CPR number (DDMMYY-NNNN): the subject must be a reference, never
# the personal identity number itself (data minimisation, GDPR art. 5).
_CPR = re.compile(r"^\s*[0-3]\d[01]\d\d\d-?\d{4}\s*$")

_log = structlog.get_logger("forloeb")
_T = TypeVar("_T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _load_workflows(spec: str) -> list[WorkflowDefinition]:
    module, _, attr = spec.partition(":")
    return list(getattr(importlib.import_module(module), attr))


def _audit_key_from_env() -> bytes | None:
    value = os.environ.get("FORLOEB_AUDIT_KEY")
    return value.encode() if value else None


class Engine:
    """Drives engagements through their workflows. Thread-safe; share one per process."""

    def __init__(
        self,
        store: Store,
        *,
        workflows: Iterable[WorkflowDefinition],
        audit_key: bytes | str | None = None,
        clock: Clock | None = None,
        calendar: BusinessCalendar | None = None,
        deadlines: DeadlineOverrides | None = None,
        team_leads: Mapping[str, str] | None = None,
        reminder_channel: str = REMINDER_CHANNEL,
        router: Router | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        # Where outbox messages go (see ``dispatch``); replaceable at any time.
        self.router: Router = router if router is not None else default_router()
        self.retry_policy = retry_policy or RetryPolicy()
        self._scheduler: Any = None
        self._scheduler_lock = threading.Lock()
        # team -> the team lead who receives level-3 escalations.
        self._team_leads: dict[str, str] = dict(team_leads or {})
        self._channel = reminder_channel
        self._key = audit_key.encode() if isinstance(audit_key, str) else audit_key
        self._clock: Clock = clock or _utcnow
        self.calendar: BusinessCalendar = calendar or WorkingDayCalendar()
        self._workflows: dict[str, dict[int, CompiledWorkflow]] = {}
        self._latest: dict[str, int] = {}
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._sub_lock = threading.Lock()
        workflows = list(workflows)
        if deadlines:
            workflows = _reminders.with_deadlines(workflows, deadlines)
        for definition in workflows:
            self.register(definition)

    # -- opening and closing ---------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        audit_key: bytes | str | None = None,
        clock: Clock | None = None,
        calendar: BusinessCalendar | None = None,
        workflows: Iterable[WorkflowDefinition] | None = None,
        deadlines: DeadlineOverrides | None = None,
        team_leads: Mapping[str, str] | None = None,
        router: Router | None = None,
        migrate: bool = False,
        pool_size: int | None = None,
        connect_timeout: float | None = None,
    ) -> Engine:
        """Open the database at ``url`` (default ``FORLOEB_DB`` or ``./forloeb.db``).

        ``migrate=True`` creates or upgrades the schema first (what ``forloeb
        init`` does); otherwise a database at an older schema is refused with
        :class:`SchemaOutOfDate`. ``audit_key`` (default ``FORLOEB_AUDIT_KEY``)
        makes the event hash chain an HMAC. ``workflows`` defaults to the two
        built-in methods. ``deadlines`` overrides stage deadlines per workflow
        and stage, e.g. ``{"individual_course": {"first_contact": Deadline(amount=3)}}``;
        ``team_leads`` maps a team to the lead who gets level-3 escalations;
        ``router`` delivers the outbox (default: the log only).
        """
        url = url or os.environ.get("FORLOEB_DB") or None
        if not migrate and sqlite_file_missing(url):
            # Opening would create an empty file (a typo in --db leaves litter).
            raise SchemaOutOfDate(None, SCHEMA_HEAD)
        try:
            store = SqlStore.open(url, pool_size=pool_size, connect_timeout=connect_timeout)
        except StoreUnavailable as exc:
            raise DatabaseUnavailable(safe_url(url), str(exc)) from exc
        try:
            if migrate:
                before = store.schema_revision()
                if is_newer_revision(before, SCHEMA_HEAD):
                    raise SchemaOutOfDate(before, SCHEMA_HEAD)
                store.upgrade()
            current = store.schema_revision()
            if current != SCHEMA_HEAD:
                raise SchemaOutOfDate(current, SCHEMA_HEAD)
            return cls(
                store,
                workflows=workflows if workflows is not None else _load_workflows(DEFAULT_WORKFLOWS),
                audit_key=audit_key if audit_key is not None else _audit_key_from_env(),
                clock=clock,
                calendar=calendar,
                deadlines=deadlines,
                team_leads=team_leads,
                router=router,
            )
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self.stop_scheduler()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- workflows ---------------------------------------------------------------

    def register(self, definition: WorkflowDefinition) -> None:
        """Add a workflow definition (checked now; DefinitionError on a mistake)."""
        compiled = compile_workflow(definition)
        self._workflows.setdefault(definition.name, {})[definition.version] = compiled
        self._latest[definition.name] = max(self._latest.get(definition.name, 0), definition.version)

    def workflow(self, name: str, version: int | None = None) -> WorkflowDefinition:
        return self._compiled(name, version).definition

    @property
    def workflow_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._workflows))

    def _compiled(self, name: str, version: int | None = None) -> CompiledWorkflow:
        versions = self._workflows.get(name)
        if versions is None:
            raise UnknownWorkflow(name, self._workflows)
        try:
            return versions[version if version is not None else self._latest[name]]
        except KeyError:
            raise UnknownWorkflow(f"{name} v{version}", self._workflows) from None

    # -- subscribers -------------------------------------------------------------

    def subscribe(
        self, callback: Subscriber, *, event_types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback(engagement, event)`` after each commit; returns an unsubscribe function.

        Callbacks run in the committing thread after the transaction is
        durable. An exception in a callback is logged and does not undo or
        fail the command that already committed.
        """
        entry = (callback, frozenset(event_types) if event_types is not None else None)
        with self._sub_lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._sub_lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def _after_commit(self, engagement: Engagement, event: Event) -> None:
        if event.type in ("transition", "started"):
            _log.info(
                event.type,
                engagement_id=engagement.id,
                workflow=engagement.workflow,
                from_state=event.from_state,
                to_state=event.to_state,
                trigger=event.trigger,
                actor=event.actor,
                version=engagement.version,
            )
        for callback, types in tuple(self._subscribers):
            if types is None or event.type in types:
                try:
                    callback(engagement, event)
                except Exception:
                    _log.exception("subscriber_failed", engagement_id=engagement.id, seq=event.seq)

    # -- commands ----------------------------------------------------------------

    def start(
        self,
        workflow: str,
        *,
        subject: str,
        source: str,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        assignee: str | None = None,
        supervisor: str | None = None,
        team: str | None = None,
        tags: Iterable[str] = (),
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Open an engagement at its first stage (a referral) and return it."""
        compiled = self._compiled(workflow)
        definition = compiled.definition
        role = self._role_for(actor, STAFF, f"start {workflow}")
        payload_data = _check_data(data)
        sources = [c.key for c in definition.referral_sources]
        subject = subject.strip() if isinstance(subject, str) else subject
        missing = [k for k, v in (("subject", subject), ("source", source)) if not v]
        if missing:
            raise GuardFailed(None, definition.initial, "start", missing=missing, labels=compiled.labels)
        if source not in sources:
            raise GuardFailed(
                None,
                definition.initial,
                "start",
                invalid=[("source", source, sources)],
                labels=compiled.labels,
            )
        _check_text("subject", subject)
        if _CPR.match(subject):
            raise InvalidData(
                "the subject must be a case reference, not a CPR number",
                detail_da="borgerreferencen skal være en sagsreference, ikke et CPR-nummer",
            )
        for name, value in (("assignee", assignee), ("supervisor", supervisor), ("team", team)):
            if value is not None:
                _check_text(name, value)
        tag_list = _check_tags(tags)
        self._check_choices(compiled, payload_data, None, "start")
        fingerprint = _fingerprint(
            "start", actor, workflow, subject, source, payload_data, assignee, supervisor, team, tag_list
        )

        now = self._clock()
        stage = definition.stage(definition.initial)
        due = self.calendar.due(now, stage.deadline) if stage.deadline else None
        record = {definition.initial: {**payload_data, "source": source}}
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
            engagement_id = tx.insert_engagement(
                {
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
                }
            )
            tx.insert_tags(engagement_id, tag_list)
            event = self._append(
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
                payload=started_payload,
                at=now,
            )
            tx.update_engagement(engagement_id, 1, {"head_hash": event.hash})
            row = tx.lock_engagement(engagement_id)
            assert row is not None
            return row, event

        return self._run(work, idempotency_key, fingerprint)

    def fire(
        self,
        engagement_id: int,
        trigger: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        note: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Fire ``trigger`` on the engagement; returns the engagement as committed."""
        payload_data = _check_data(data)
        if note is not None:
            _check_note(note)
        fingerprint = (
            _fingerprint("fire", actor, engagement_id, trigger, payload_data, note) if idempotency_key else ""
        )

        def work(tx: WriteTransaction) -> tuple[Row, Event]:
            row = self._load(tx, engagement_id)
            compiled = self._compiled(row["workflow"], row["workflow_version"])
            definition = compiled.definition
            if trigger not in compiled.machine.events:
                raise UnknownTrigger(definition.name, trigger, definition.triggers, labels=compiled.labels)
            _check_version(row, expected_version)
            state = row["state"]
            role = self._role_for(
                actor, compiled.roles[trigger], trigger, compiled.labels.trigger(trigger, state)
            )
            if "receiver" in payload_data:
                self._check_receiver(
                    payload_data["receiver"], engagement_id, trigger, state, labels=compiled.labels
                )
            records: dict[str, Any] = row["data"]
            carrier = Carrier(
                state,
                row["paused_from"],
                row["closed_from"],
                _guard_record(compiled, trigger, state, records, payload_data),
                payload_data,
                records,
            )
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
            dest = carrier.state
            spec = compiled.spec(trigger, state)
            now = self._clock()
            kind_of = compiled.kind_of
            cycle = row["cycle"] + 1 if spec.new_cycle else row["cycle"]
            new_records = dict(records)
            if spec.record and payload_data:
                new_records[state] = carrier.record
            if spec.new_cycle:
                # The new cycle starts with empty plans; the log keeps the old ones.
                for key in definition.active_stages[definition.active_stages.index(dest) :]:
                    new_records.pop(key, None)
            values: dict[str, Any] = {
                "state": dest,
                "cycle": cycle,
                "paused_from": state if kind_of[dest] == "paused" else None,
                "closed_from": state if kind_of[dest] == "final" else None,
                "updated_at": now,
            }
            if new_records != records:
                values["data"] = new_records
            if dest != state or spec.new_cycle:
                # Only values of the one UPDATE change here: no extra query on a fire.
                deadline = compiled.stages[dest].deadline
                values["stage_entered_at"] = now
                values["reminder_epoch"] = None
                remaining = row["due_remaining_s"]
                if kind_of[dest] == "paused":
                    # The clock stops: keep what was left of the stage's due
                    # time (none when overdue, so the resumed stage is due at
                    # once) and leave the sweep.
                    due = row["stage_due_at"]
                    values["due_remaining_s"] = (
                        max((due - now).total_seconds(), 0.0) if due is not None else None
                    )
                    values["stage_due_at"] = None
                elif spec.dest == RETURN_TO_PAUSED and remaining is not None:
                    # Resume gives back the time that was left, as calendar
                    # time (seconds), not re-counted in working days: exact,
                    # needs no calendar, and at most shifts the due time by
                    # the weekends/holidays within the remainder. The pause
                    # itself never counts, however many holidays it spans.
                    values["stage_due_at"] = now + timedelta(seconds=remaining)
                    values["due_remaining_s"] = None
                else:
                    # Entering a stage (also reopen and begin anew): a fresh deadline.
                    values["stage_due_at"] = self.calendar.due(now, deadline) if deadline else None
                    values["due_remaining_s"] = None
                # A new stage entry starts the ladder: level 1 is due at the
                # stage's due time (none while paused, closed or without one).
                values["next_reminder_at"] = values["stage_due_at"]
            payload: dict[str, Any] = {"data": payload_data}
            if note:
                payload["note"] = note
            if spec.new_cycle:
                payload["cycle"] = cycle
            return self._commit_change(
                tx, row, values, actor, role, "transition", trigger, dest, payload, now
            )

        return self._run(work, idempotency_key, fingerprint)

    def add_note(
        self,
        engagement_id: int,
        text: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Append a dated running note (notatpligt); allowed in every stage, also after closing."""
        _check_note(text)
        if not text.strip():
            raise InvalidData("a note needs text", detail_da="et notat skal have tekst")
        fingerprint = _fingerprint("note", actor, engagement_id, text) if idempotency_key else ""

        def work(tx: WriteTransaction) -> tuple[Row, Event]:
            row = self._load(tx, engagement_id)
            _check_version(row, expected_version)
            role = self._role_for(actor, STAFF, "note")
            now = self._clock()
            return self._commit_change(
                tx, row, {"updated_at": now}, actor, role, "note", None, row["state"], {"text": text}, now
            )

        return self._run(work, idempotency_key, fingerprint)

    def record_details(
        self,
        engagement_id: int,
        data: Mapping[str, Any],
        *,
        actor: Actor,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Record items of the current stage (focus, goals, plan …) without moving on."""
        payload_data = _check_data(data)
        if not payload_data:
            raise InvalidData("nothing to record", detail_da="intet at registrere")
        fingerprint = _fingerprint("details", actor, engagement_id, payload_data) if idempotency_key else ""

        def work(tx: WriteTransaction) -> tuple[Row, Event]:
            row = self._load(tx, engagement_id)
            compiled = self._compiled(row["workflow"], row["workflow_version"])
            _check_version(row, expected_version)
            role = self._role_for(actor, STAFF, "record_details")
            state = row["state"]
            if compiled.kind_of[state] != "active":
                raise TransitionNotAllowed(engagement_id, state, "record_details", labels=compiled.labels)
            self._check_choices(compiled, payload_data, engagement_id, "record_details", state)
            records = dict(row["data"])
            records[state] = {**records.get(state, {}), **payload_data}
            now = self._clock()
            return self._commit_change(
                tx,
                row,
                {"data": records, "updated_at": now},
                actor,
                role,
                "details",
                None,
                state,
                {"data": payload_data},
                now,
            )

        return self._run(work, idempotency_key, fingerprint)

    def record_activity(
        self,
        engagement_id: int,
        kind: str,
        *,
        actor: Actor,
        description: str | None = None,
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Record an activity of the action stage: investigate, wonder, gather_knowledge,
        collaborate or agreement (the method's five kinds)."""
        payload_data = _check_data(data)
        if description is not None:
            _check_note(description)
        fingerprint = (
            _fingerprint("activity", actor, engagement_id, kind, description, payload_data)
            if idempotency_key
            else ""
        )

        def work(tx: WriteTransaction) -> tuple[Row, Event]:
            row = self._load(tx, engagement_id)
            compiled = self._compiled(row["workflow"], row["workflow_version"])
            _check_version(row, expected_version)
            role = self._role_for(actor, STAFF, ACTIVITY)
            state = row["state"]
            stage = compiled.stages[state]
            if "activities" not in stage.records:
                raise TransitionNotAllowed(engagement_id, state, ACTIVITY, labels=compiled.labels)
            if kind is None:
                raise GuardFailed(engagement_id, state, ACTIVITY, missing=["kind"], labels=compiled.labels)
            self._check_choices(compiled, {"kind": kind}, engagement_id, ACTIVITY, state)
            now = self._clock()
            # The checked kind and description win over same-named data keys.
            activity = {**payload_data, "kind": kind, "description": description}
            records = dict(row["data"])
            stage_record = dict(records.get(state, {}))
            stage_record["activities"] = [
                *stage_record.get("activities", []),
                {**activity, "at": now.isoformat(), "by": actor.id},
            ]
            records[state] = stage_record
            values: dict[str, Any] = {"data": records, "updated_at": now}
            if stage.deadline and stage.deadline.rearm:
                # A periodically reviewed stage: activity counts as a review,
                # and starts a new review period (its reminders are new rows).
                values["stage_due_at"] = self.calendar.due(now, stage.deadline)
                values["next_reminder_at"] = values["stage_due_at"]
                values["reminder_epoch"] = now
            return self._commit_change(tx, row, values, actor, role, "activity", None, state, activity, now)

        return self._run(work, idempotency_key, fingerprint)

    # -- reminders (logic in _reminders) -------------------------------------------

    def sweep(self, now: datetime | None = None, *, batch: int = 500) -> builtins.list[Reminder]:
        """Raise every reminder and escalation that is due at ``now``; return those raised.

        Safe to run on any number of processes and nodes at once: each
        engagement is handled in its own write transaction that locks the row,
        re-checks that it is still due, and inserts the reminder on its unique
        key (engagement, stage entry, level) with ``ON CONFLICT DO NOTHING``;
        the event and the outbox message go in the same transaction. A sweep
        that did not run for a while raises every level that became due, each
        once. The candidates come from a range scan of the indexed
        ``next_reminder_at`` (when the next level is due; ``stage_due_at``,
        the stage's own due time, is never moved by the sweep), so the cost
        follows the number due.
        """
        return _reminders.sweep(self, now, batch=batch)

    def acknowledge_reminder(self, reminder_id: int, *, actor: Actor) -> Reminder:
        """Record that ``actor`` has seen the reminder (who and when), with an event.

        A receipt: it does not stop the escalation ladder (only leaving the
        stage, or a snooze with a reason, does that). Acknowledging twice
        keeps the first acknowledgement and writes nothing.
        """
        return _reminders.acknowledge(self, reminder_id, actor=actor)

    def snooze_reminder(self, reminder_id: int, *, until: datetime, reason: str, actor: Actor) -> Reminder:
        """Hold the next escalation of this reminder until ``until``, for ``reason``.

        Precisely: snoozing level *k* until *T* makes level *k*+1 of the same
        stage entry due at the later of its scheduled time and *T*. Level *k*
        itself is not sent again, and levels already raised are not taken
        back. A later snooze replaces an earlier one.
        """
        return _reminders.snooze(self, reminder_id, until=until, reason=reason, actor=actor)

    def reminders(
        self,
        *,
        supervisor: str | None = None,
        assignee: str | None = None,
        engagement_id: int | None = None,
        open_only: bool = False,
    ) -> builtins.list[Reminder]:
        """Reminders by id: of engagements with this supervisor / assignee; ``open_only``:
        not acknowledged."""
        return _reminders.query(
            self, supervisor=supervisor, assignee=assignee, engagement_id=engagement_id, open_only=open_only
        )

    # -- delivery and scheduling (logic in _dispatch, _scheduler) ------------------

    def dispatch(self, now: datetime | None = None, *, batch: int = 100) -> DispatchResult:
        """Deliver the outbox messages due at ``now`` through :attr:`router`.

        Safe on any number of threads, processes and nodes at once: rows are
        claimed with a lease in a short transaction, sent outside any
        transaction, and the outcome recorded in another (see ``_dispatch``).
        A delivered message is never sent again; a failed one is retried with
        exponential backoff until :attr:`retry_policy` gives up (dead).
        """
        check_aware(now)
        positive_int("batch", batch)
        return _dispatch(self.store, self.router, self._clock, now=now, batch=batch, policy=self.retry_policy)

    def send_digests(self, now: datetime | None = None) -> builtins.list[str]:
        """Put one digest per supervisor into the outbox: their open reminders.

        At most once per supervisor per (Danish) day: the message id is
        derived from recipient and day and the insert does nothing on a
        conflict, so a second call, or another node, adds nothing. Returns
        the message ids inserted now.
        """
        return _send_digests(self, now)

    def outbox(self, *, status: str | None = None, limit: int | None = None) -> builtins.list[OutboxMessage]:
        """Outbox messages by id; ``status="dead"``: those that could not be delivered."""
        if status is not None and status not in ("pending", "delivered", "dead"):
            raise InvalidData(f"status must be pending, delivered or dead, not {status!r}")
        with self._read() as tx:
            return [OutboxMessage.from_row(r) for r in tx.list_outbox(status, limit)]

    def outbox_attempts(self, outbox_id: int) -> builtins.list[dict[str, Any]]:
        """The delivery attempts of one outbox message (attempt, at, outcome, error)."""
        with self._read() as tx:
            return [dict(r) for r in tx.outbox_attempts(outbox_id)]

    def purge_outbox(
        self,
        *,
        older_than_days: int = DEFAULT_OUTBOX_RETENTION_DAYS,
        now: datetime | None = None,
        actor: Actor,
        dry_run: bool = False,
    ) -> int:
        """Delete the delivered and dead outbox messages created more than
        ``older_than_days`` days before ``now`` (default: the clock), with their
        delivery attempts; pending messages are never deleted. Supervisors only.

        Runs in batches of a few hundred messages, each its own short write
        transaction. Returns the number of messages deleted; ``dry_run``: the
        number that would be, writing nothing.
        """
        return _purge_outbox(self, older_than_days=older_than_days, now=now, actor=actor, dry_run=dry_run)

    def start_scheduler(
        self,
        *,
        sweep_every: float = 60,
        dispatch_every: float = 15,
        digest_at: str | None = None,
    ) -> None:
        """Run sweep, dispatch (and the daily digest at ``digest_at``, "HH:MM"
        Danish time) in a background thread of this process.

        Each process keeps its own in-memory jobs (APScheduler job stores must
        never be shared); running it on several nodes is safe because the work
        itself is (row locks, unique keys, leases).
        """
        from ._scheduler import build_scheduler

        with self._scheduler_lock:
            if self._scheduler is not None:
                raise InvalidData("the scheduler is already running")
            scheduler = build_scheduler(
                self,
                background=True,
                sweep_every=sweep_every,
                dispatch_every=dispatch_every,
                digest_at=digest_at,
            )
            scheduler.start()
            self._scheduler = scheduler

    def stop_scheduler(self, wait: bool = True) -> None:
        """Stop the background scheduler; ``wait``: let a job in flight finish."""
        with self._scheduler_lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)

    # -- audit, consent and handover (logic in _audit, _consent, _handover) --------

    # The register of receiving actors a handover may go to (key -> da/en
    # label). Replace it per engine: ``engine.receivers = {...}``.
    receivers: Mapping[str, Label] = _consent.DEFAULT_RECEIVERS

    @property
    def audit(self) -> Audit:
        """Audit queries, chain verification, checkpoints and the access log."""
        audit: Audit | None = self.__dict__.get("_audit")
        if audit is None:  # built on first use; two racing threads build two equal ones
            audit = self.__dict__["_audit"] = Audit(self)
        return audit

    def give_consent(
        self,
        engagement_id: int,
        *,
        actor: Actor,
        information: Iterable[str] | str,
        to: Iterable[str] | str,
        purpose: str,
        given_on: Any = None,
        how: str = "written",
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Record the resident's consent to share ``information`` (handover sections,
        or "all") with receivers ``to`` for ``purpose``, given on ``given_on``
        (a date, default today) ``how`` ("written" or "oral"). An event on the chain."""
        return _consent.give(
            self,
            engagement_id,
            actor=actor,
            information=information,
            to=to,
            purpose=purpose,
            given_on=given_on,
            how=how,
            idempotency_key=idempotency_key,
        )

    def withdraw_consent(
        self,
        engagement_id: int,
        consent_id: int,
        *,
        actor: Actor,
        withdrawn_on: Any = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Record that consent ``consent_id`` was withdrawn (from ``withdrawn_on``, default today)."""
        return _consent.withdraw(
            self,
            engagement_id,
            consent_id,
            actor=actor,
            withdrawn_on=withdrawn_on,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def consents(
        self, engagement_id: int, *, actor: Actor | None = None, purpose: str | None = None
    ) -> builtins.list[_consent.Consent]:
        """The consents recorded on the engagement, oldest first (withdrawn ones included)."""
        return _consent.consents_of(self.get(engagement_id, actor=actor, purpose=purpose).data)

    def export_handover(
        self,
        engagement_id: int,
        *,
        actor: Actor,
        format: _handover.Format = "md",
        lang: Any = "da",
        receiver: str | None = None,
        purpose: str | None = None,
    ) -> _handover.HandoverPackage:
        """Build the handover package (Markdown or JSON) from the event log, limited
        to what the legal basis or consent allows; the export is recorded as an
        event and an access-log entry."""
        return _handover.export(
            self, engagement_id, actor=actor, format=format, lang=lang, receiver=receiver, purpose=purpose
        )

    # -- erasure and retention (logic in _erasure) ----------------------------------

    def erase(
        self, engagement_id: int, *, actor: Actor, reason: str, purpose: str | None = None
    ) -> _erasure.ErasureReceipt:
        """Delete the engagement and everything that belongs to it, for real (GDPR art. 17).

        Supervisors only; ``reason`` is required. One transaction deletes the
        engagement, its events, tags, idempotency keys, reminders and their
        outbox messages, and writes an access-log entry (action ``delete``,
        the subject reference, the actor, ``reason`` as its purpose; ``purpose``,
        if given, in its criteria). The engagement's earlier access-log entries
        stay: the access log has its own retention.
        """
        return _erasure.erase(self, engagement_id, actor=actor, reason=reason, purpose=purpose)

    def purge_closed(
        self,
        *,
        older_than_years: int = _erasure.DEFAULT_RETENTION_YEARS,
        now: datetime | None = None,
        actor: Actor,
        dry_run: bool = False,
    ) -> builtins.list[_erasure.ErasureReceipt]:
        """Erase every engagement in a final stage whose last event is older than
        ``older_than_years`` (KL: 5 years after the case is closed), each in its
        own transaction with its access-log entry; ``dry_run``: list them only.

        The closing date is ``updated_at``, the time of the engagement's last
        event: the transition into the final stage, or a note or export made
        after closing, which keeps the case in use and restarts the period.
        """
        return _erasure.purge_closed(
            self, older_than_years=older_than_years, now=now, actor=actor, dry_run=dry_run
        )

    # -- queries -----------------------------------------------------------------

    def get(
        self, engagement_id: int, *, actor: Actor | None = None, purpose: str | None = None
    ) -> Engagement:
        """The engagement as committed. With ``actor`` the read is access-logged
        (who, when, which engagement, ``purpose``); the CLI always passes it."""
        with self._read() as tx:
            engagement = _snapshot(self._load(tx, engagement_id))
        if actor is not None:
            self.audit.log_access(actor, "read", engagements=[engagement.to_dict()], purpose=purpose)
        return engagement

    def history(
        self, engagement_id: int, *, actor: Actor | None = None, purpose: str | None = None
    ) -> list[Event]:
        """The event log, by seq. With ``actor`` the read is access-logged."""
        with self._read() as tx:
            row = self._load(tx, engagement_id)
            events = [Event.from_row(r) for r in tx.events(engagement_id)]
        if actor is not None:
            self.audit.log_access(actor, "history", engagements=[row], purpose=purpose)
        return events

    def list(
        self,
        *,
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
        """Engagements matching every filter given, by id. ``stale``: past their stage's due time.

        With ``actor`` the search is access-logged: the criteria, and each
        engagement shown (a list shows personal data of everyone in it)."""
        if workflow is not None:
            self._compiled(workflow)
        where = EngagementFilter(
            workflow=workflow,
            state=state,
            assignee=assignee,
            supervisor=supervisor,
            team=team,
            tag=tag,
            subject=subject,
            due_before=self._clock() if stale else None,
            limit=limit,
            offset=offset,
        )
        with self._read() as tx:
            found = [_snapshot(r) for r in tx.list_engagements(where)]
        if actor is not None:
            criteria = {
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
            self.audit.log_access(
                actor,
                "search",
                engagements=[{"id": e.id, "subject": e.subject} for e in found],
                criteria=criteria,
                purpose=purpose,
            )
        return found

    def available_triggers(self, engagement_id: int, actor: Actor) -> builtins.list[TriggerOption]:
        """Triggers that lead somewhere from the current state, each with whether
        ``actor`` may fire it now without further data and, if not, why."""
        engagement = self.get(engagement_id)
        compiled = self._compiled(engagement.workflow, engagement.workflow_version)
        definition = compiled.definition
        options: list[TriggerOption] = []
        for trigger in definition.triggers:
            if not compiled.leads_from(trigger, engagement.state):
                continue
            spec = compiled.spec(trigger, engagement.state)
            carrier = Carrier(
                engagement.state,
                engagement.paused_from,
                engagement.closed_from,
                _guard_record(compiled, trigger, engagement.state, engagement.data, {}),
                {},
                engagement.data,
            )
            problem: Exception | None = None
            try:
                self._role_for(actor, spec.roles, trigger, spec.labels)
                if not compiled.trigger(trigger, carrier):
                    problem = (
                        GuardFailed(
                            engagement_id,
                            engagement.state,
                            trigger,
                            missing=carrier.missing,
                            invalid=carrier.invalid,
                            labels=compiled.labels,
                        )
                        if carrier.missing or carrier.invalid
                        else TransitionNotAllowed(
                            engagement_id, engagement.state, trigger, labels=compiled.labels
                        )
                    )
            except PermissionDenied as exc:
                problem = exc
            dest = carrier.state if problem is None else (None if spec.dest.startswith("@") else spec.dest)
            options.append(
                TriggerOption(
                    trigger=trigger,
                    dest=dest,
                    allowed=problem is None,
                    requires=spec.requires,
                    problem=problem,  # type: ignore[arg-type]
                )
            )
        return options

    def replay(self, engagement_id: int) -> dict[str, Any]:
        """The state, cycle and return stages obtained by replaying the event log."""
        events = self.history(engagement_id)
        engagement = self.get(engagement_id)
        return replay(self.workflow(engagement.workflow, engagement.workflow_version), events)

    def row_counts(self) -> dict[str, int]:
        return self.store.row_counts()

    # -- internals ---------------------------------------------------------------

    def _read(self) -> AbstractContextManager[ReadTransaction]:
        return _available(self.store.url, self.store.read())

    def _run(
        self,
        work: Callable[[WriteTransaction], tuple[Row, Event]],
        idempotency_key: str | None,
        fingerprint: str,
    ) -> Engagement:
        """Run ``work`` in one write transaction, honouring the idempotency key."""
        if idempotency_key is not None:
            _check_text("idempotency_key", idempotency_key)
        for attempt in (1, 2):
            try:
                with _available(self.store.url, self.store.write()) as tx:
                    if idempotency_key is not None:
                        earlier = tx.get_idempotency(idempotency_key)
                        if earlier is not None:
                            if earlier["fingerprint"] != fingerprint:
                                raise IdempotencyConflict(idempotency_key)
                            return _snapshot_from_dict(earlier["response"])
                    row, event = work(tx)
                    engagement = _snapshot(row)
                    if idempotency_key is not None:
                        tx.insert_idempotency(
                            {
                                "key": idempotency_key,
                                "engagement_id": engagement.id,
                                "fingerprint": fingerprint,
                                "response": _jsonable(engagement),
                                "created_at": event.occurred_at,
                            }
                        )
            except WriteConflict as exc:
                # A concurrent writer with the same idempotency key (or on the
                # same row) won: the second attempt finds its result or the
                # new version and reports that.
                if attempt == 2:
                    raise ConcurrencyError(None, None, None) from exc
                continue
            self._after_commit(engagement, event)
            return engagement
        raise AssertionError("unreachable")  # pragma: no cover

    def _load(self, tx: ReadTransaction | WriteTransaction, engagement_id: int) -> Row:
        """The engagement's row (locked, in a write transaction) or EngagementNotFound."""
        if isinstance(engagement_id, bool) or not isinstance(engagement_id, int):
            raise EngagementNotFound(engagement_id)
        if isinstance(tx, WriteTransaction):
            row = tx.lock_engagement(engagement_id)
        else:
            row = tx.get_engagement(engagement_id)
        if row is None:
            raise EngagementNotFound(engagement_id)
        return row

    def _role_for(
        self, actor: Actor, allowed: frozenset[str], action: str, action_labels: Label | None = None
    ) -> str:
        """The role ``actor`` acts in (supervisor before worker), or PermissionDenied
        (naming ``action`` by ``action_labels`` when it is a trigger with a label)."""
        if not isinstance(actor, Actor):
            raise InvalidData("an actor with an id is required", detail_da="en aktør med id er påkrævet")
        _check_text("actor", actor.id)
        for role in _ROLE_PREFERENCE:
            if role in allowed and role in actor.roles:
                return role
        raise PermissionDenied(actor.id, actor.roles, action, allowed, action_labels=action_labels)

    def _check_choices(
        self,
        compiled: CompiledWorkflow,
        data: Mapping[str, Any],
        engagement_id: int | None,
        trigger: str,
        state: str | None = None,
    ) -> None:
        invalid = [
            (k, v, allowed)
            for k, allowed in compiled.choice_keys.items()
            if (v := data.get(k)) is not None and v not in allowed
        ]
        if "receiver" in data:
            invalid += _consent.check_receiver(self.receivers, data["receiver"])
        if invalid:
            raise GuardFailed(
                engagement_id,
                state or compiled.definition.initial,
                trigger,
                invalid=invalid,
                labels=compiled.labels,
            )

    def _check_receiver(
        self, value: object, engagement_id: int, trigger: str, state: str, *, labels: Labels | None = None
    ) -> None:
        """A handover's receiver must be in the register (``Engine.receivers``)."""
        invalid = _consent.check_receiver(self.receivers, value)
        if invalid:
            raise GuardFailed(engagement_id, state, trigger, invalid=invalid, labels=labels)

    def _commit_change(
        self,
        tx: WriteTransaction,
        row: Row,
        values: dict[str, Any],
        actor: Actor,
        role: str,
        type: str,
        trigger: str | None,
        to_state: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> tuple[Row, Event]:
        version = row["version"] + 1
        event = self._append(
            tx,
            engagement_id=row["id"],
            seq=version,
            prev_hash=row["head_hash"],
            type=type,
            trigger=trigger,
            from_state=row["state"],
            to_state=to_state,
            actor=actor,
            role=role,
            payload=payload,
            at=now,
        )
        values["version"] = version
        values["head_hash"] = event.hash
        if not tx.update_engagement(row["id"], row["version"], values):
            # Only reachable without a row lock (e.g. someone edited the table
            # directly): the version check still refuses to fork the log.
            raise ConcurrencyError(row["id"], row["version"], -1)
        return {**row, **values}, event

    def _append(
        self,
        tx: WriteTransaction,
        *,
        engagement_id: int,
        seq: int,
        prev_hash: str,
        type: str,
        trigger: str | None,
        from_state: str | None,
        to_state: str | None,
        actor: Actor,
        role: str,
        payload: Mapping[str, Any],
        at: datetime,
    ) -> Event:
        values: dict[str, Any] = {
            "engagement_id": engagement_id,
            "seq": seq,
            "type": type,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor.id,
            "role": role,
            "payload": payload,
            "occurred_at": at,
            "prev_hash": prev_hash,
        }
        values["hash"] = event_hash(values, self._key)
        tx.insert_event(values)
        return Event.from_row(values)


# -- helpers (module level: no engine state) ------------------------------------


def default_router() -> Router:
    """Everything to the log: what an engine without configuration delivers."""
    return Router([Route(channel="log")], {})


@contextmanager
def _available(url: str, transaction: AbstractContextManager[_T]) -> Iterator[_T]:
    """``transaction``, with a server gone mid-command reported as :class:`DatabaseUnavailable`
    (what ``Engine.open`` raises for a server it cannot reach), not as a driver error."""
    try:
        with transaction as tx:
            yield tx
    except StoreUnavailable as exc:
        raise DatabaseUnavailable(url, str(exc)) from exc


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


def _guard_record(
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


def _check_keys(value: Any) -> bool:
    """True when every object key, at any depth, is text (JSON would coerce others)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _check_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_check_keys(v) for v in value)
    return True


def _check_version(row: Row, expected: int | None) -> None:
    if expected is not None and row["version"] != expected:
        raise ConcurrencyError(row["id"], expected, row["version"])


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidData(f"{name} must be a non-empty text", detail_da=f"{name} skal være en tekst")
    if len(value) > MAX_TEXT:
        raise InvalidData(
            f"{name} is longer than {MAX_TEXT} characters",
            detail_da=f"{name} er længere end {MAX_TEXT} tegn",
        )


def _check_note(text: object) -> None:
    if not isinstance(text, str):
        raise InvalidData("a note must be text", detail_da="et notat skal være tekst")
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidData(
            f"text is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
            detail_da=f"teksten er større end {MAX_PAYLOAD_BYTES // 1024} KiB",
        )


def _check_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = (tags,)
    result: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG:
            raise InvalidData(
                f"tag {tag!r} must be a text of 1-{MAX_TAG} characters",
                detail_da=f"mærket {tag!r} skal være en tekst på 1-{MAX_TAG} tegn",
            )
        if tag not in result:
            result.append(tag)
    return result


def _check_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Data must be a JSON object with text keys, at most 64 KiB encoded."""
    if not data:
        if data is not None and not isinstance(data, Mapping):
            raise InvalidData(
                "data must be a mapping of keys to values", detail_da="data skal være nøgle/værdi-par"
            )
        return {}
    if not isinstance(data, Mapping):
        raise InvalidData(
            "data must be a mapping of keys to values", detail_da="data skal være nøgle/værdi-par"
        )
    try:
        encoded = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"data is not JSON: {exc}", detail_da=f"data er ikke JSON: {exc}") from None
    if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidData(
            f"data is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
            detail_da=f"data er større end {MAX_PAYLOAD_BYTES // 1024} KiB",
        )
    if not _check_keys(data):
        raise InvalidData("data keys must be text", detail_da="datanøgler skal være tekst")
    # A JSON round trip: what is hashed is exactly what is stored and read back.
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


def _fingerprint(command: str, actor: Actor, *parts: object) -> str:
    """A digest of a command and who gives it: a key replayed by someone else,
    or for another command, is refused instead of returning another's result."""
    body = [command, actor.id, sorted(actor.roles), *parts]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


_TIMES = ("created_at", "updated_at", "stage_entered_at", "stage_due_at", "next_reminder_at")


def _snapshot(row: Row) -> Engagement:
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
    )


def _jsonable(engagement: Engagement) -> dict[str, Any]:
    return engagement.to_dict()


def _snapshot_from_dict(d: Mapping[str, Any]) -> Engagement:
    values = {k: v for k, v in d.items()}
    for key in _TIMES:
        if values.get(key) is not None:
            values[key] = datetime.fromisoformat(values[key])
    return _snapshot(values)
