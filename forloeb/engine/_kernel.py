"""The kernel: what every command needs, handed to the features that need it.

A feature (commands, queries, reminders, dispatch, audit, consent, handover,
erasure) receives the :class:`Kernel` — or a narrower piece of it — and never
the :class:`~forloeb.engine.Engine` facade. The kernel owns the store, the
clock, the audit key, the calendar, the workflow registry, the delivery
router and the register of receivers, and offers the steps a command is made
of: a unit of work (read, write, run with an idempotency key), loading a row,
the actor's role, committing a change with its event, the access log, and
calling subscribers after the commit. It imports only the engine's leaves and
``persistence``.

It is also the one choke point of who may do what (DESIGN invariant 6): every
actor is resolved in the staff register (:meth:`resolve`) before its role is
chosen (:meth:`role_for`), every change passes :meth:`commit_change` or
:meth:`append`, which check the resolved actor's role and the one visibility
rule (``_access.can_see``) again, and every read of engagement data names its
actor and passes :meth:`check_visible`. A refusal is itself an access-log
entry (written after the refused unit of work has rolled back).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from ..persistence import (
    AuditStore,
    ReadTransaction,
    Row,
    Store,
    WriteConflict,
    WriteTransaction,
)
from . import _access_log, _keying
from ._access import BACKGROUND, can_see
from ._calendar import BusinessCalendar
from ._chain import ROW_HASH, event_hash, row_hash
from ._checks import check_aware, check_text
from ._definition import AUDITOR, SUPERVISOR, WORKER, Label
from ._errors import (
    ConcurrencyError,
    EngagementNotFound,
    ForloebError,
    IdempotencyConflict,
    InvalidData,
    PermissionDenied,
)
from ._logging import get_logger
from ._opening import FaultTranslating, available, open_store, translate_faults
from ._register import (
    ADMIN,
    SYSTEM,
    SYSTEM_ROLE,
    Impersonation,
    NotInRegister,
    Resolved,
    StaffMember,
    resolved,
)
from ._registry import Registry
from ._snapshot import snapshot, snapshot_from_dict
from ._types import Actor, Engagement, Event
from .notifiers import Router

Clock = Callable[[], datetime]
Subscriber = Callable[[Engagement, Event], None]
Work = Callable[[WriteTransaction], tuple[Row, Event]]

# The role an event or entry records when an actor holds several that may act.
_ROLE_PREFERENCE = (SUPERVISOR, WORKER, AUDITOR, ADMIN)
REFUSED = "refused"
# How far ahead of the clock a background run's ``now`` may be (clocks of two
# machines differ a little).
_CLOCK_SKEW = timedelta(seconds=5)
REMINDER_CHANNEL = "email"

# Silent until the app (or the CLI's configure_logging) gives the "forloeb"
# logger a handler; a filtered-out line costs a level check (see _logging).
_log = get_logger()


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Unit(threading.local):
    """This thread's current unit of work: its write transaction, the actors
    resolved in it, the engagement row it loaded, the refusals to log after it."""

    def __init__(self) -> None:
        self.tx: WriteTransaction | None = None
        self.resolved: dict[Actor, Actor] | None = None
        self.row: Row | None = None
        self.refusals: list[dict[str, Any]] = []
        self.quiet = 0


class Kernel:
    """One per engine. Thread-safe: holds no per-command state."""

    def __init__(
        self,
        store: Store,
        *,
        registry: Registry,
        audit_key: bytes | None,
        clock: Clock,
        calendar: BusinessCalendar,
        router: Router,
        receivers: Mapping[str, Label],
        team_leads: Mapping[str, str],
        channel: str = REMINDER_CHANNEL,
    ) -> None:
        self.store = store
        self.registry = registry
        self.audit_key = audit_key
        self._keying_checked = False
        self.clock: Clock = clock
        self.calendar = calendar
        # Replaceable at any time (``engine.router = …``): read on every use.
        self.router = router
        # The register of receiving actors a handover may go to (key -> label).
        self.receivers: Mapping[str, Label] = receivers
        # team -> the team lead who receives level-3 escalations.
        self.team_leads: dict[str, str] = dict(team_leads)
        self.channel = channel
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._sub_lock = threading.Lock()
        self._audit_store: AuditStore | None = None
        self._unit = _Unit()
        # A simulation (a copy of a database, see ``_simulation``) may be swept
        # and dispatched at a time ahead of the clock; a real database may not.
        self.simulation = False
        # An engine given a clock of its own (tests, an app's own simulation) is
        # trusted with time as it is with its clock; the real clock is not
        # overtaken by a caller's ``now`` (M6).
        self.real_clock = clock is utcnow

    # -- units of work ---------------------------------------------------------------

    def read(self) -> AbstractContextManager[ReadTransaction]:
        """A read transaction; database faults become forloeb errors."""
        return available(self.store.url, self.store.read())

    def faults(self) -> AbstractContextManager[None]:
        """Work on the store outside :meth:`read`/:meth:`write` (the audit store, the
        outbox dispatcher) with its faults raised as forloeb errors."""
        return translate_faults(self.store.url)

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        """A write transaction (no idempotency, no subscribers); faults become forloeb errors.

        The unit of work of this thread: actors are resolved in it (once each),
        access-log entries are chained in it, and the refusals it met are
        logged when it has ended (committed or rolled back).
        """
        unit = self._unit
        if unit.tx is not None:
            raise AssertionError("a unit of work inside a unit of work")  # pragma: no cover
        try:
            with available(self.store.url, self.store.write()) as tx:
                if not self._keying_checked:  # once per process: the record never changes
                    self._keying_checked = _keying.ensure(tx, self.audit_key, self.clock)
                unit.tx, unit.resolved, unit.row = tx, {}, None
                try:
                    yield tx
                finally:
                    unit.tx, unit.resolved, unit.row = None, None, None
        finally:
            self._log_refusals()

    def run(self, work: Work, idempotency_key: str | None, fingerprint: str) -> Engagement:
        """Run ``work`` in one write transaction, honouring the idempotency key;
        log and call subscribers after the commit."""
        if idempotency_key is not None:
            check_text("idempotency_key", idempotency_key)
        for attempt in (1, 2):
            try:
                with self.write() as tx:
                    if idempotency_key is not None:
                        earlier = tx.get_idempotency(idempotency_key)
                        if earlier is not None:
                            if earlier["fingerprint"] != fingerprint:
                                raise IdempotencyConflict(idempotency_key)
                            return snapshot_from_dict(earlier["response"])
                    row, event = work(tx)
                    engagement = snapshot(row)
                    if idempotency_key is not None:
                        tx.insert_idempotency(
                            {
                                "key": idempotency_key,
                                "engagement_id": engagement.id,
                                "fingerprint": fingerprint,
                                "response": engagement.to_dict(),
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
            self.after_commit(engagement, event)
            return engagement
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the steps of a command ----------------------------------------------------------

    def load(self, tx: ReadTransaction | WriteTransaction, engagement_id: int) -> Row:
        """The engagement's row (locked, in a write transaction) or EngagementNotFound."""
        if isinstance(engagement_id, bool) or not isinstance(engagement_id, int):
            raise EngagementNotFound(engagement_id)
        if isinstance(tx, WriteTransaction):
            row = tx.lock_engagement(engagement_id)
        else:
            row = tx.get_engagement(engagement_id)
        if row is None:
            raise EngagementNotFound(engagement_id)
        if tx is self._unit.tx:
            # What role_for checks the actor may see (a command loads its row first).
            self._unit.row = row
        return row

    def role_for(
        self, actor: Actor, allowed: frozenset[str], action: str, action_labels: Label | None = None
    ) -> str:
        """The role ``actor`` acts in (supervisor, worker, auditor, admin, in that order),
        or PermissionDenied (naming ``action`` by ``action_labels`` when it is a trigger
        with a label).

        The actor is resolved in the register first; in a write unit that has
        loaded an engagement, the actor must also be allowed to see it.
        """
        acting = self.resolve(actor)
        if acting is SYSTEM:
            if SYSTEM_ROLE in allowed:
                return SYSTEM_ROLE
            self.refused(acting, action, reason="reserved")
            raise NotInRegister(acting.id, "reserved")
        row = self._unit.row if self._unit.tx is not None else None
        if row is not None:
            self.check_visible(acting, row, action)
        for role in _ROLE_PREFERENCE:
            if role in allowed and role in acting.roles:
                return role
        self.refused(acting, action, engagement=row, reason="role", required=allowed)
        raise PermissionDenied(acting.id, acting.roles, action, allowed, action_labels=action_labels)

    def background(self, actor: Actor, now: datetime | None, action: str) -> datetime:
        """The time background work (sweep, dispatch, digest) runs at, after checking
        who asks: the system actor, a supervisor or an admin (M6); and ``now``: not
        ahead of the real clock, except in a simulation (a copy, see ``_simulation``)."""
        self.role_for(actor, BACKGROUND, action)
        check_aware(now)
        clock_now = self.clock()
        if now is None:
            return clock_now
        if now > clock_now + _CLOCK_SKEW and self.real_clock and not self.simulation:
            raise InvalidData(
                f"{action} at {now.isoformat()} is ahead of the clock ({clock_now.isoformat()}): "
                "reminders would be raised and messages sent before their time. Simulate on a "
                "copy of the database instead (forloeb reminders sweep --simulate)",
                detail_da=f"{action} til {now.isoformat()} ligger efter uret ({clock_now.isoformat()}): "
                "påmindelser ville blive rejst og beskeder sendt før tid. Simulér på en kopi af "
                "databasen i stedet (forloeb reminders sweep --simulate)",
            )
        return now

    # -- the register: who acts ----------------------------------------------------------

    def resolve(self, actor: Actor) -> Actor:
        """``actor`` as the staff register grants it: roles and teams from its entry
        (narrowed to those the caller names), or NotInRegister (logged as a refusal).

        The system actor is itself; an admin's impersonation carries the
        admin's id (``impersonator``). In a write unit each actor is looked up
        once, in the unit's own transaction.
        """
        if actor is SYSTEM:
            return SYSTEM
        if not isinstance(actor, Actor):
            raise InvalidData("an actor with an id is required", detail_da="en aktør med id er påkrævet")
        check_text("actor", actor.id)
        cache = self._unit.resolved if self._unit.tx is not None else None
        if cache is not None and actor in cache:
            return cache[actor]
        by = actor.by if isinstance(actor, Impersonation) else None
        if isinstance(actor, Resolved):
            by = actor.impersonator
        entry, admin = self._entries(actor.id, by)
        try:
            if by is not None and (admin is None or not admin.active or ADMIN not in admin.roles):
                raise NotInRegister(actor.id, "not_admin", detail=by)
            result: Actor = resolved(actor, entry, by)
        except NotInRegister as exc:
            self.refused(actor, "act", reason=exc.reason, impersonator=by)
            raise
        if cache is not None:
            cache[actor] = result
        return result

    def staff_entry(self, staff_id: str) -> StaffMember | None:
        """The register entry ``staff_id`` (in this thread's unit of work, if any)."""
        return self._entries(staff_id, None)[0]

    def _entries(self, staff_id: str, by: str | None) -> tuple[StaffMember | None, StaffMember | None]:
        tx = self._unit.tx
        if tx is not None:
            rows = (tx.get_staff(staff_id), tx.get_staff(by) if by is not None else None)
        else:
            with self.read() as rtx:
                rows = (rtx.get_staff(staff_id), rtx.get_staff(by) if by is not None else None)
        entry, admin = (StaffMember.from_row(r) if r is not None else None for r in rows)
        return entry, admin

    def check_visible(self, actor: Actor, engagement: Mapping[str, Any], action: str) -> Actor:
        """The resolved actor, or PermissionDenied (logged) unless it may see ``engagement``
        (a row or ``Engagement.to_dict()``; the one rule of ``_access.can_see``)."""
        acting = self.resolve(actor)
        if acting is SYSTEM or can_see(acting, engagement):
            return acting
        self.refused(acting, action, engagement=engagement, reason="visibility")
        raise PermissionDenied(
            acting.id,
            acting.roles,
            f"{action} (forløb {engagement.get('id')})",
            ("auditor", "supervisor", f"team {engagement.get('team') or '-'}"),
        )

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Role checks inside are questions (which triggers may I fire?), not
        attempts: a "no" is not logged as a refusal."""
        self._unit.quiet += 1
        try:
            yield
        finally:
            self._unit.quiet -= 1

    def refused(
        self,
        actor: Actor,
        action: str,
        *,
        engagement: Mapping[str, Any] | None = None,
        reason: str,
        required: Iterable[str] = (),
        impersonator: str | None = None,
    ) -> None:
        """Log a refused attempt (M8): after the unit of work it happened in, or now."""
        if self._unit.quiet:
            return
        criteria: dict[str, Any] = {"attempted": action, "reason": reason}
        if required:
            criteria["required"] = sorted(required)
        claimed = ",".join(sorted(actor.roles)) if isinstance(actor, Actor) else ""
        entry: dict[str, Any] = {
            "occurred_at": self.clock(),
            "actor": actor.id if isinstance(actor, Actor) else str(actor),
            "role": (claimed or "-")[:32],
            "action": REFUSED,
            "engagement_id": engagement.get("id") if engagement else None,
            "subject": engagement.get("subject") if engagement else None,
            "criteria": criteria,
            "impersonator": impersonator or getattr(actor, "impersonator", None),
        }
        self._unit.refusals.append(entry)
        if self._unit.tx is None:
            self._log_refusals()

    def _log_refusals(self) -> None:
        pending, self._unit.refusals = self._unit.refusals, []
        if not pending:
            return
        try:
            with self.write() as tx:
                _access_log.append(tx, pending, self.audit_key)
        except ForloebError:
            # The database failed; the refused command failed anyway. Said in the log.
            _log.warning("refusal_not_logged", entries=len(pending))

    def commit_change(
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
        """Append the event of a change to ``row`` and write ``values`` with a version check.

        The actor must be allowed to see ``row`` (whatever the feature checked before)."""
        self.check_visible(actor, row, type if trigger is None else trigger)
        version = row["version"] + 1
        # The row as this change leaves it, attested by the event (verify compares).
        payload = {**payload, ROW_HASH: row_hash({**row, **values})}
        event = self.append(
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

    def append(
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
        """Append one event to the chain (hash over its canonical encoding).

        ``actor`` is resolved in the register and must hold ``role`` (the system
        actor its own); an admin's impersonation is recorded in the payload."""
        acting = self.resolve(actor)
        if role not in acting.roles:
            self.refused(acting, type, reason="role", required=(role,))
            raise PermissionDenied(acting.id, acting.roles, type, (role,))
        impersonator = getattr(acting, "impersonator", None)
        if impersonator is not None:
            payload = {**payload, "impersonated_by": impersonator}
        values: dict[str, Any] = {
            "engagement_id": engagement_id,
            "seq": seq,
            "type": type,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "actor": acting.id,
            "role": role,
            "payload": payload,
            "occurred_at": at,
            "prev_hash": prev_hash,
        }
        values["hash"] = event_hash(values, self.audit_key)
        tx.insert_event(values)
        return Event.from_row(values)

    # -- the access log ----------------------------------------------------------------

    def audit_store(self) -> AuditStore:
        """The store's audit queries, with database faults raised as forloeb errors
        (also while iterating a result)."""
        if self._audit_store is None:  # two racing threads build two equal ones
            self._audit_store = cast(AuditStore, FaultTranslating(self.store.audit(), self.store.url))
        return self._audit_store

    def log_access(
        self,
        actor: Actor,
        action: str,
        *,
        engagements: Iterable[Mapping[str, Any]] = (),
        criteria: Mapping[str, Any] | None = None,
        purpose: str | None = None,
        role: str | None = None,
        page: bool = False,
    ) -> None:
        """Append access-log entries: one per engagement concerned, or one with the
        criteria alone; ``page``: ONE entry naming every engagement shown (a listing).

        Chained in this thread's unit of work if there is one (an export is an
        event and an entry, all or nothing), else in a write of its own.
        """
        acting = self.resolve(actor)
        role = role or next((r for r in _ROLE_PREFERENCE if r in acting.roles), None)
        base = {
            "occurred_at": self.clock(),
            "actor": acting.id,
            "role": role or next(iter(sorted(acting.roles)), "-"),
            "action": action,
            "criteria": dict(criteria) if criteria else None,
            "purpose": purpose,
            "impersonator": getattr(acting, "impersonator", None),
        }
        if page:
            shown = [{"id": int(e["id"]), "subject": e["subject"]} for e in engagements]
            rows = [{**base, "shown": shown}]
        else:
            rows = [{**base, "engagement_id": e["id"], "subject": e["subject"]} for e in engagements]
        self.append_access(rows or [base])

    def append_access(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Chain ``entries`` onto the access log (see ``_access_log``)."""
        rows = list(entries)
        tx = self._unit.tx
        if tx is not None:
            _access_log.append(tx, rows, self.audit_key)
            return
        with self.write() as own:
            _access_log.append(own, rows, self.audit_key)

    # -- after the commit ------------------------------------------------------------

    def subscribe(
        self, callback: Subscriber, *, event_types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        entry = (callback, frozenset(event_types) if event_types is not None else None)
        with self._sub_lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._sub_lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def after_commit(self, engagement: Engagement, event: Event) -> None:
        """Log a transition and call the subscribers; never undoes what committed."""
        if event.type in ("transition", "started") and _log.isEnabledFor(logging.INFO):
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


# -- module-level helpers (no kernel state) --------------------------------------------


def fingerprint(command: str, actor: Actor, *parts: object) -> str:
    """A digest of a command and who gives it: a key replayed by someone else,
    or for another command, is refused instead of returning another's result."""
    body = [command, actor.id, sorted(actor.roles), *parts]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check_version(row: Row, expected: int | None) -> None:
    """Optimistic concurrency: the caller's ``expected`` version must be the row's."""
    if expected is not None and row["version"] != expected:
        raise ConcurrencyError(row["id"], expected, row["version"])


__all__ = [
    "REMINDER_CHANNEL",
    "Clock",
    "Kernel",
    "Subscriber",
    "check_version",
    "fingerprint",
    "open_store",
    "snapshot",
    "snapshot_from_dict",
    "translate_faults",
    "utcnow",
]
