"""The kernel: what every command needs, handed to the features that need it.

A feature (commands, queries, reminders, dispatch, audit, consent, handover,
erasure) receives the :class:`Kernel` — or a narrower piece of it — and never
the :class:`~forloeb.engine.Engine` facade. The kernel owns the store, the
clock, the audit key, the calendar, the workflow registry, the delivery
router and the register of receivers, and offers the steps a command is made
of: a unit of work (read, write, run with an idempotency key), loading a row,
the actor's role, committing a change with its event, and calling subscribers
after the commit. It imports only the engine's leaves and ``persistence``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ..persistence import (
    SCHEMA_HEAD,
    AuditStore,
    ReadTransaction,
    Row,
    SqlStore,
    Store,
    StoreFault,
    WriteConflict,
    WriteTransaction,
    safe_url,
    sqlite_file_missing,
)
from ._calendar import BusinessCalendar
from ._chain import event_hash
from ._checks import check_text
from ._definition import Label
from ._errors import (
    ConcurrencyError,
    EngagementNotFound,
    IdempotencyConflict,
    InvalidData,
    PermissionDenied,
    SchemaOutOfDate,
    database_error,
    is_newer_revision,
)
from ._logging import get_logger
from ._registry import Registry
from ._types import Actor, Engagement, Event
from .notifiers import Router

Clock = Callable[[], datetime]
Subscriber = Callable[[Engagement, Event], None]
Work = Callable[[WriteTransaction], tuple[Row, Event]]

# The role an event records when an actor holds several that may act.
_ROLE_PREFERENCE = ("supervisor", "worker")
REMINDER_CHANNEL = "email"

# Silent until the app (or the CLI's configure_logging) gives the "forloeb"
# logger a handler; a filtered-out line costs a level check (see _logging).
_log = get_logger()
_T = TypeVar("_T")


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    # -- units of work ---------------------------------------------------------------

    def read(self) -> AbstractContextManager[ReadTransaction]:
        """A read transaction; database faults become forloeb errors."""
        return _available(self.store.url, self.store.read())

    def faults(self) -> AbstractContextManager[None]:
        """Work on the store outside :meth:`read`/:meth:`write` (the audit store, the
        outbox dispatcher) with its faults raised as forloeb errors."""
        return translate_faults(self.store.url)

    def write(self) -> AbstractContextManager[WriteTransaction]:
        """A write transaction (no idempotency, no subscribers); faults become forloeb errors."""
        return _available(self.store.url, self.store.write())

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
        return row

    def role_for(
        self, actor: Actor, allowed: frozenset[str], action: str, action_labels: Label | None = None
    ) -> str:
        """The role ``actor`` acts in (supervisor before worker), or PermissionDenied
        (naming ``action`` by ``action_labels`` when it is a trigger with a label)."""
        if not isinstance(actor, Actor):
            raise InvalidData("an actor with an id is required", detail_da="en aktør med id er påkrævet")
        check_text("actor", actor.id)
        for role in _ROLE_PREFERENCE:
            if role in allowed and role in actor.roles:
                return role
        raise PermissionDenied(actor.id, actor.roles, action, allowed, action_labels=action_labels)

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
        """Append the event of a change to ``row`` and write ``values`` with a version check."""
        version = row["version"] + 1
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
        """Append one event to the chain (hash over its canonical encoding)."""
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
        values["hash"] = event_hash(values, self.audit_key)
        tx.insert_event(values)
        return Event.from_row(values)

    # -- the access log ----------------------------------------------------------------

    def audit_store(self) -> AuditStore:
        """The store's audit queries, with database faults raised as forloeb errors
        (also while iterating a result)."""
        if self._audit_store is None:  # two racing threads build two equal ones
            self._audit_store = cast(AuditStore, _FaultTranslating(self.store.audit(), self.store.url))
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
    ) -> None:
        """Append access-log entries: one per engagement concerned, or one with the criteria alone."""
        now = self.clock()
        role = role or next(iter(sorted(actor.roles)), "-")
        base = {
            "occurred_at": now,
            "actor": actor.id,
            "role": role,
            "action": action,
            "criteria": dict(criteria) if criteria else None,
            "purpose": purpose,
        }
        rows = [{**base, "engagement_id": e["id"], "subject": e["subject"]} for e in engagements]
        self.audit_store().insert_access(rows or [{**base, "engagement_id": None, "subject": None}])

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


def open_store(
    url: str | None, *, migrate: bool, pool_size: int | None, connect_timeout: float | None
) -> Store:
    """The store at ``url`` (default ``FORLOEB_DB`` or ``./forloeb.db``) at the current schema.

    ``migrate``: create or upgrade the schema first; otherwise an older,
    newer, empty or missing schema is :class:`SchemaOutOfDate` (and a missing
    SQLite file is not created: a typo in --db leaves no litter).
    """
    url = url or os.environ.get("FORLOEB_DB") or None
    if not migrate and sqlite_file_missing(url):
        raise SchemaOutOfDate(None, SCHEMA_HEAD)
    try:
        store = SqlStore.open(url, pool_size=pool_size, connect_timeout=connect_timeout)
    except StoreFault as exc:
        raise database_error(safe_url(url), exc) from exc
    try:
        with translate_faults(store.url):
            if migrate:
                before = store.schema_revision()
                if is_newer_revision(before, SCHEMA_HEAD):
                    raise SchemaOutOfDate(before, SCHEMA_HEAD)
                store.upgrade()
            current = store.schema_revision()
        if current != SCHEMA_HEAD:
            raise SchemaOutOfDate(current, SCHEMA_HEAD)
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def translate_faults(url: str) -> Iterator[None]:
    """Database faults (a server gone, a locked, full or read-only SQLite file) raised
    inside as the forloeb errors they stand for (:class:`DatabaseError`), not driver errors."""
    try:
        yield
    except StoreFault as exc:
        raise database_error(url, exc) from exc


@contextmanager
def _available(url: str, transaction: AbstractContextManager[_T]) -> Iterator[_T]:
    """``transaction``, with database faults raised as forloeb errors."""
    with translate_faults(url), transaction as tx:
        yield tx


class _FaultTranslating:
    """A proxy whose method calls (and the iterators they return) raise database
    faults as forloeb errors: the audit queries run outside a unit of work."""

    def __init__(self, inner: object, url: str) -> None:
        self._inner = inner
        self._url = url

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with translate_faults(self._url):
                result = attr(*args, **kwargs)
            if isinstance(result, Iterator):
                return _translating_iter(result, self._url)
            return result

        return call


def _translating_iter(items: Iterator[_T], url: str) -> Iterator[_T]:
    with translate_faults(url):
        yield from items


def fingerprint(command: str, actor: Actor, *parts: object) -> str:
    """A digest of a command and who gives it: a key replayed by someone else,
    or for another command, is refused instead of returning another's result."""
    body = [command, actor.id, sorted(actor.roles), *parts]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check_version(row: Row, expected: int | None) -> None:
    """Optimistic concurrency: the caller's ``expected`` version must be the row's."""
    if expected is not None and row["version"] != expected:
        raise ConcurrencyError(row["id"], expected, row["version"])


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
    )


def snapshot_from_dict(d: Mapping[str, Any]) -> Engagement:
    """The engagement of a stored idempotent response (``Engagement.to_dict``)."""
    values = dict(d)
    for key in _TIMES:
        if values.get(key) is not None:
            values[key] = datetime.fromisoformat(values[key])
    return snapshot(values)
