"""The ``Engine`` facade: the one object embedding apps talk to.

Thin on purpose: it opens the store, builds the :class:`Kernel` and the
features, and delegates each public method to the feature that does the
work (``_commands``, ``_queries``, ``_reminders``, ``_dispatch``,
``_scheduler``, ``_audit``, ``_consent``, ``_handover``, ``_erasure``). The
features receive the kernel, never the facade; nothing imports this module but
``forloeb.engine``.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from ..persistence import Store
from . import _commands, _consent, _dispatch, _erasure, _handover, _progress, _queries, _reminders
from ._audit import Audit
from ._calendar import BusinessCalendar, WorkingDayCalendar
from ._caseload import Caseload
from ._checks import DEFAULT_PAGE, positive_int
from ._config import default_router
from ._definition import Label, WorkflowDefinition
from ._dispatch import DEFAULT_OUTBOX_RETENTION_DAYS, DispatchResult, OutboxMessage, RetryPolicy
from ._kernel import REMINDER_CHANNEL, Clock, Kernel, Subscriber, open_store, utcnow
from ._logins import Logins
from ._methods import DEFAULT_WORKFLOWS, Methods, load_workflows, receivers_with_partners
from ._queries import EngagementPage
from ._registry import Registry
from ._scheduler import SchedulerControl
from ._staff import Staff
from ._tokens import Tokens
from ._types import Actor, Engagement, Event, Reminder, TriggerOption
from .notifiers import Router

# Per workflow, per stage: the deadline that replaces the definition's (None: no deadline).
DeadlineOverrides = _reminders.DeadlineOverrides


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
        self.retry_policy = retry_policy or RetryPolicy()
        self._scheduler = SchedulerControl(self)
        self._registry = Registry()
        workflows = list(workflows)
        self._kernel = Kernel(
            store,
            registry=self._registry,
            audit_key=audit_key.encode() if isinstance(audit_key, str) else audit_key,
            clock=clock or utcnow,
            calendar=calendar or WorkingDayCalendar(),
            router=router if router is not None else default_router(),
            receivers=receivers_with_partners(workflows),
            team_leads=team_leads or {},
            channel=reminder_channel,
        )
        self._audit = Audit(self._kernel)
        # The methods' versions and migration, and progress recorded on an engagement
        # (self-help, a group's fields): objects of their own, as ``audit`` is.
        self.methods = Methods(self._kernel)
        self.progress = _progress.Progress(self._kernel)
        self.caseload = Caseload(self._kernel)  # reassignment, intake, areas, reports (issue 13)
        self._staff = Staff(self._kernel)
        self.tokens = Tokens(self._kernel)  # the HTTP API's bearer tokens (admins manage them)
        self.logins = Logins(self._kernel)  # the web console's passwords and sessions (issue 15)
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
        simulation: bool = False,
        workflows_folder: str | os.PathLike[str] | None = None,
    ) -> Engine:
        """Open the database at ``url`` (default ``FORLOEB_DB`` or ``./forloeb.db``).

        ``migrate=True`` creates or upgrades the schema first (what ``forloeb
        init`` does); otherwise a database at an older schema is refused with
        :class:`SchemaOutOfDate`. ``audit_key`` (default ``FORLOEB_AUDIT_KEY``)
        makes the event hash chain an HMAC. ``workflows`` defaults to versions 1
        and 2 of both methods and the files in ``workflows_folder`` (default
        ``FORLOEB_WORKFLOWS``), linted as they load. ``deadlines`` overrides
        stage deadlines per workflow and stage, e.g.
        ``{"individual_course": {"first_contact": Deadline(amount=3)}}``;
        ``team_leads`` maps a team to the lead who gets level-3 escalations;
        ``router`` delivers the outbox (default: the log only). ``simulation``: the
        database is a copy to simulate on (background work may run ahead of the clock).
        """
        store = open_store(url, migrate=migrate, pool_size=pool_size, connect_timeout=connect_timeout)
        try:
            engine = cls(
                store,
                workflows=workflows if workflows is not None else load_workflows(folder=workflows_folder),
                audit_key=audit_key if audit_key is not None else _audit_key_from_env(),
                clock=clock,
                calendar=calendar,
                deadlines=deadlines,
                team_leads=team_leads,
                router=router,
            )
            engine._kernel.simulation = simulation
            return engine
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

    # -- what the kernel holds, replaceable at run time ---------------------------

    @property
    def router(self) -> Router:
        """Where outbox messages go (see ``dispatch``); replaceable at any time."""
        return self._kernel.router

    @router.setter
    def router(self, router: Router) -> None:
        self._kernel.router = router

    @property
    def receivers(self) -> Mapping[str, Label]:
        """The register of receiving actors a handover may go to (key -> da/en label).
        Replace it per engine: ``engine.receivers = {...}``."""
        return self._kernel.receivers

    @receivers.setter
    def receivers(self, receivers: Mapping[str, Label]) -> None:
        self._kernel.receivers = receivers

    @property
    def staff(self) -> Staff:
        """The staff register: who may act, in which roles and teams (admins manage it)."""
        return self._staff

    @property
    def calendar(self) -> BusinessCalendar:
        return self._kernel.calendar

    @calendar.setter
    def calendar(self, calendar: BusinessCalendar) -> None:
        self._kernel.calendar = calendar

    # -- workflows ---------------------------------------------------------------

    def register(self, definition: WorkflowDefinition) -> None:
        """Add a workflow definition (checked now; DefinitionError on a mistake)."""
        self._registry.register(definition)

    def workflow(self, name: str, version: int | None = None) -> WorkflowDefinition:
        return self._registry.compiled(name, version).definition

    @property
    def workflow_names(self) -> tuple[str, ...]:
        return self._registry.names

    # -- subscribers -------------------------------------------------------------

    def subscribe(
        self, callback: Subscriber, *, event_types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback(engagement, event)`` after each commit; returns an unsubscribe function.

        Callbacks run in the committing thread after the transaction is
        durable. An exception in a callback is logged and does not undo or
        fail the command that already committed.
        """
        return self._kernel.subscribe(callback, event_types=event_types)

    # -- commands (logic in _commands) -------------------------------------------------

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
        return _commands.start(
            self._kernel,
            workflow,
            subject,
            source,
            actor,
            data,
            assignee,
            supervisor,
            team,
            tags,
            idempotency_key,
        )

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
        return _commands.fire(
            self._kernel, engagement_id, trigger, actor, data, note, expected_version, idempotency_key
        )

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
        return _commands.add_note(self._kernel, engagement_id, text, actor, expected_version, idempotency_key)

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
        return _commands.record_details(
            self._kernel, engagement_id, data, actor, expected_version, idempotency_key
        )

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
        return _commands.record_activity(
            self._kernel, engagement_id, kind, actor, description, data, expected_version, idempotency_key
        )

    def available_triggers(self, engagement_id: int, actor: Actor) -> builtins.list[TriggerOption]:
        """Triggers that lead somewhere from the current state, each with whether
        ``actor`` may fire it now without further data and, if not, why (a read, logged)."""
        engagement = _queries.get(self._kernel, engagement_id, actor=actor, purpose=None, action="triggers")
        with self._kernel.probing():
            return _commands.available_triggers(self._kernel, engagement, actor)

    # -- reminders (logic in _reminders) -------------------------------------------

    def sweep(
        self, now: datetime | None = None, *, batch: int = 500, actor: Actor = _reminders.SYSTEM_ACTOR
    ) -> builtins.list[Reminder]:
        """Raise every reminder and escalation that is due at ``now``; return those raised.

        Safe on any number of processes and nodes at once; its cost follows the
        number due (see ``_reminders.sweep``). ``actor``: the system actor, a
        supervisor or an admin; ``now`` not ahead of the real clock (a
        simulation copy excepted)."""
        stop = self._scheduler.stopping.is_set
        return _reminders.sweep(self._kernel, now, batch=batch, should_stop=stop, actor=actor)

    def acknowledge_reminder(self, reminder_id: int, *, actor: Actor) -> Reminder:
        """Record that ``actor`` has seen the reminder (who and when), with an event.

        A receipt: it does not stop the escalation ladder (only leaving the
        stage, or a snooze with a reason, does that). Acknowledging twice
        keeps the first acknowledgement and writes nothing.
        """
        return _reminders.acknowledge(self._kernel, reminder_id, actor=actor)

    def snooze_reminder(self, reminder_id: int, *, until: datetime, reason: str, actor: Actor) -> Reminder:
        """Hold the next escalation of this reminder until ``until``, for ``reason``.

        Precisely: snoozing level *k* until *T* makes level *k*+1 of the same
        stage entry due at the later of its scheduled time and *T*. Level *k*
        itself is not sent again, and levels already raised are not taken
        back. A later snooze replaces an earlier one.
        """
        return _reminders.snooze(self._kernel, reminder_id, until=until, reason=reason, actor=actor)

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
        return _reminders.query(self._kernel, supervisor, assignee, engagement_id, open_only)

    # -- delivery and scheduling (logic in _dispatch, _scheduler) ------------------

    def dispatch(
        self, now: datetime | None = None, *, batch: int = 100, actor: Actor = _reminders.SYSTEM_ACTOR
    ) -> DispatchResult:
        """Deliver the outbox messages due at ``now`` through :attr:`router`; safe on any
        number of nodes at once, a delivered message is never sent again, a failed one
        is retried until :attr:`retry_policy` gives up (see ``_dispatch``). ``actor`` and
        ``now`` as for :meth:`sweep`."""
        positive_int("batch", batch)
        self._kernel.background(actor, now, "dispatch")
        with self._kernel.faults():
            return _dispatch.dispatch(
                self.store,
                self._kernel.router,
                self._kernel.clock,
                now=now,
                batch=batch,
                policy=self.retry_policy,
                should_stop=self._scheduler.stopping.is_set,
            )

    def send_digests(
        self, now: datetime | None = None, *, actor: Actor = _reminders.SYSTEM_ACTOR
    ) -> builtins.list[str]:
        """Put one digest per supervisor into the outbox: their open reminders.

        At most once per supervisor per (Danish) day: the message id is
        derived from recipient and day and the insert does nothing on a
        conflict, so a second call, or another node, adds nothing. Returns
        the message ids inserted now.
        """
        return _dispatch.send_digests(self._kernel, now, actor)

    def outbox(self, *, status: str | None = None, limit: int | None = None) -> builtins.list[OutboxMessage]:
        """Outbox messages by id; ``status="dead"``: those that could not be delivered."""
        return _dispatch.list_outbox(self._kernel, status, limit)

    def outbox_attempts(self, outbox_id: int) -> builtins.list[dict[str, Any]]:
        """The delivery attempts of one outbox message (attempt, at, outcome, error)."""
        with self._kernel.read() as tx:
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
        return _dispatch.purge_outbox(
            self._kernel, older_than_days=older_than_days, now=now, actor=actor, dry_run=dry_run
        )

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
        self._scheduler.start(sweep_every=sweep_every, dispatch_every=dispatch_every, digest_at=digest_at)

    def stop_scheduler(self, wait: bool = True) -> None:
        """Stop the background scheduler; ``wait``: let a job in flight finish."""
        self._scheduler.stop(wait)

    def run_scheduler(
        self,
        *,
        sweep_every: float = 60,
        dispatch_every: float = 15,
        digest_at: str | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """Run sweep, dispatch (and the digest) in this thread until SIGTERM or SIGINT
        (``forloeb scheduler run``); a job in flight finishes first. ``on_start`` is
        called once the arguments are checked, just before it blocks."""
        self._scheduler.run(sweep_every, dispatch_every, digest_at, on_start)

    # -- audit, consent and handover (logic in _audit, _consent, _handover) --------

    @property
    def audit(self) -> Audit:
        """Audit queries, chain verification, checkpoints and the access log."""
        return self._audit

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
            self._kernel, engagement_id, actor, information, to, purpose, given_on, how, idempotency_key
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
            self._kernel, engagement_id, consent_id, actor, withdrawn_on, reason, idempotency_key
        )

    def consents(
        self, engagement_id: int, *, actor: Actor, purpose: str | None = None
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
        return _handover.export(self._kernel, engagement_id, actor, format, lang, receiver, purpose)

    # -- erasure and retention (logic in _erasure) ----------------------------------

    def erase(
        self, engagement_id: int, *, actor: Actor, reason: str, purpose: str | None = None
    ) -> _erasure.ErasureReceipt:
        """Delete the engagement and everything that belongs to it, for real (GDPR art. 17),
        with a deletion record in the access log, in one transaction (see ``_erasure``).
        Supervisors only; ``reason`` is required (the record's purpose)."""
        return _erasure.erase(self._kernel, engagement_id, actor=actor, reason=reason, purpose=purpose)

    def purge_closed(
        self,
        *,
        older_than_years: int = _erasure.DEFAULT_RETENTION_YEARS,
        now: datetime | None = None,
        actor: Actor,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> builtins.list[_erasure.ErasureReceipt]:
        """Erase every engagement in a final stage whose last event (``updated_at``: a note
        or export after closing restarts the period) is older than ``older_than_years``
        (KL: 5), each as :meth:`erase` does; ``dry_run``: list them only.
        ``progress(done, total)`` is called after each engagement erased."""
        return _erasure.purge_closed(self._kernel, older_than_years, now, actor, dry_run, progress)

    # -- queries (logic in _queries) ----------------------------------------------------

    def get(self, engagement_id: int, *, actor: Actor, purpose: str | None = None) -> Engagement:
        """The engagement as committed, if ``actor`` may see it; the read is access-logged
        (who, when, which engagement, ``purpose``)."""
        return _queries.get(self._kernel, engagement_id, actor=actor, purpose=purpose)

    def history(
        self, engagement_id: int, *, actor: Actor, purpose: str | None = None
    ) -> builtins.list[Event]:
        """The event log, by seq, if ``actor`` may see it; the read is access-logged."""
        return _queries.history(self._kernel, engagement_id, actor=actor, purpose=purpose)

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
        limit: int | None = DEFAULT_PAGE,
        offset: int = 0,
        actor: Actor,
        purpose: str | None = None,
        cursor: str | None = None,
    ) -> EngagementPage:
        """Engagements ``actor`` may see matching every filter given, by id (``stale``: past
        their stage's due time, by due time), a page of ``limit`` (default 50; None: all):
        pass its ``next_cursor`` as ``cursor`` for the next. Access-logged: one entry per
        page, naming what it showed."""
        args = (workflow, state, assignee, supervisor, team, tag, subject, stale, limit, offset)
        return _queries.list_engagements(self._kernel, *args, actor, purpose, cursor)

    def replay(self, engagement_id: int) -> dict[str, Any]:
        """The state, cycle and return stages obtained by replaying the event log."""
        return _queries.replay_engagement(self._kernel, engagement_id)

    def row_counts(self) -> dict[str, int]:
        with self._kernel.faults():
            return self.store.row_counts()


__all__ = ["DEFAULT_WORKFLOWS", "DeadlineOverrides", "Engine"]
