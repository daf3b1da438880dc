"""Delivering the outbox: claim, send outside any transaction, record the outcome.

The sweep writes a message into the outbox in the transaction that raises
the reminder (DESIGN invariant 4); this module gets it to the receiver. The
steps, each its own short transaction, so no lock is held while a mail server
or webhook takes its time:

1. *claim* — due pending rows get ``next_attempt_at = now + lease`` and the
   claim commits (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
   IMMEDIATE`` on SQLite): other dispatchers skip them until the lease runs
   out, so a dispatcher that dies mid-delivery strands nothing;
2. *send* through the :class:`Router`, with the row's stable ``message_id``
   (``Message-ID`` / ``Idempotency-Key``) so that a receiver can drop the
   copy a lost acknowledgement or an expired lease may cause;
3. *record* — delivered (never sent again), or failed with an exponential
   backoff, or dead (permanent error, or too many attempts); every attempt
   gets a row in ``outbox_attempts``.

``send_digests`` puts the supervisors' daily digests into the same outbox;
``purge_outbox`` deletes finished messages (and their attempts) after a while.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..persistence import Row, Store, WriteConflict
from ._checks import MAX_TEXT, aware_now, positive_int
from ._definition import SUPERVISOR
from ._errors import ConcurrencyError, ForloebError, InvalidData
from ._kernel import Kernel
from ._logging import get_logger
from ._register import SYSTEM
from ._reminders import default_channel
from ._types import Actor
from .notifiers import DeliveryError, Notification, Router, build_digest

_log = get_logger()

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
# The outbox purge: who may, the default age, and messages deleted per
# transaction (a short write lock each, so deliveries and commands go on).
PURGERS: frozenset[str] = frozenset({SUPERVISOR})
DEFAULT_OUTBOX_RETENTION_DAYS = 90
PURGE_BATCH = 500
PURGE_RETRIES = 3


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How long a claim holds, and how long to wait after a failed attempt.

    The wait after attempt *n* is ``base · 2^(n-1)`` capped at ``cap``, spread
    by ±``jitter`` so that messages failing together (a mail server restart)
    do not all come back in the same second; never less than a server's
    ``Retry-After``. After ``max_attempts`` the message is dead.
    """

    lease: timedelta = LEASE
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    max_attempts: int = MAX_ATTEMPTS
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.lease <= timedelta(0) or self.base <= timedelta(0) or self.cap < self.base:
            raise InvalidData(
                "lease and base must be positive and cap at least base",
                detail_da="lease og base skal være positive, og cap mindst lig med base",
            )
        if self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise InvalidData(
                "max_attempts must be at least 1 and jitter in [0, 1)",
                detail_da="max_attempts skal være mindst 1 og jitter i [0, 1)",
            )

    def backoff(self, attempt: int, retry_after: float | None, rng: Callable[[], float]) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1 for the first)."""
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** (attempt - 1))
        seconds *= 1 + self.jitter * (2 * rng() - 1)
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        # At least a second: a zero wait would make the same dispatch run
        # claim the row again at once.
        return timedelta(seconds=max(1.0, min(seconds, self.cap.total_seconds())))


@dataclass(frozen=True, kw_only=True)
class DispatchResult:
    """What one :meth:`Engine.dispatch` did: outbox ids per outcome."""

    delivered_ids: tuple[int, ...] = ()
    retried_ids: tuple[int, ...] = ()
    dead_ids: tuple[int, ...] = ()

    @property
    def delivered(self) -> int:
        return len(self.delivered_ids)

    @property
    def retried(self) -> int:
        return len(self.retried_ids)

    @property
    def dead(self) -> int:
        return len(self.dead_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retried": self.retried,
            "dead": self.dead,
            "delivered_ids": list(self.delivered_ids),
            "retried_ids": list(self.retried_ids),
            "dead_ids": list(self.dead_ids),
        }


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    """An outbox row as callers see it (``forloeb reminders list --failed``)."""

    id: int
    message_id: str
    reminder_id: int | None
    channel: str
    recipient: str | None
    subject: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Row) -> OutboxMessage:
        return cls(
            id=row["id"],
            message_id=row["message_id"],
            reminder_id=row["reminder_id"],
            channel=row["channel"],
            recipient=row["recipient"],
            subject=row["subject"],
            status=row["status"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            delivered_at=row["delivered_at"],
            payload=dict(row["payload"] or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "message_id": self.message_id,
            "reminder_id": self.reminder_id,
            "channel": self.channel,
            "recipient": self.recipient,
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "last_error": self.last_error,
            "delivered_at": iso(self.delivered_at),
        }


def dispatch(
    store: Store,
    router: Router,
    clock: Callable[[], datetime],
    *,
    now: datetime | None,
    batch: int,
    policy: RetryPolicy,
    rng: Callable[[], float] = random.random,
    should_stop: Callable[[], bool] | None = None,
) -> DispatchResult:
    """Deliver every message due when the run starts (``now``, default: the clock).

    Bounded: what fails in this run is due again only after its backoff,
    which starts after the run's own due time, so a run never re-claims a
    message it already tried (a receiver that keeps failing cannot keep one
    run going). ``should_stop`` is asked between messages: a scheduler
    shutting down waits for one delivery at most, and the messages claimed
    but not tried are due again when their lease ends.
    """
    delivered: list[int] = []
    retried: list[int] = []
    dead: list[int] = []
    due_by = now if now is not None else clock()
    while should_stop is None or not should_stop():
        claimed_at = now if now is not None else clock()
        lease_until = claimed_at + policy.lease
        with store.write() as tx:
            # Only channels this router can deliver: a node started without
            # the mail configuration leaves e-mail to a node that has it
            # instead of dead-lettering it.
            rows = tx.claim_outbox(due_by, lease_until, batch, sorted(router.notifiers))
        for row in rows:
            if should_stop is not None and should_stop():
                break
            if now is None and clock() >= lease_until - policy.lease / 10:
                # Sending took most of the lease: another dispatcher may take
                # the rest soon. Leave them; they are due again when it ends.
                break
            outcome = _deliver(store, router, row, lease_until, now or clock(), policy, rng)
            {"delivered": delivered, "failed": retried, "dead": dead}[outcome].append(row["id"])
        if len(rows) < batch:
            break
    return DispatchResult(delivered_ids=tuple(delivered), retried_ids=tuple(retried), dead_ids=tuple(dead))


def _deliver(
    store: Store,
    router: Router,
    row: Row,
    lease_until: datetime,
    at: datetime,
    policy: RetryPolicy,
    rng: Callable[[], float],
) -> str:
    """Send one claimed row and record what happened; the outcome's name."""
    error: str | None = None
    permanent = False
    retry_after: float | None = None
    try:
        notification = Notification(
            message_id=row["message_id"],
            channel=row["channel"],
            # A staff id becomes an address here, so an address book edit
            # reaches messages already waiting in the outbox.
            recipient=router.resolve(row["recipient"] or ""),
            subject=row["subject"],
            body=row["body"],
            payload=row["payload"] or {},
            created_at=row["created_at"],
        )
        router.send(notification)
    except DeliveryError as exc:
        error, permanent, retry_after = exc.detail, exc.permanent, exc.retry_after
    except ForloebError as exc:
        # No notifier for the channel, a malformed row: no retry fixes it.
        error, permanent = exc.message("en"), True
    except Exception as exc:
        # A plug-in's own bug: may be fixed by a deploy, so retried (and
        # dead after max_attempts), with the text kept for the operator.
        error = f"{type(exc).__name__}: {exc}"
    return _record(store, row, lease_until, at, error, permanent, retry_after, policy, rng)


def _record(
    store: Store,
    claimed: Row,
    lease_until: datetime,
    at: datetime,
    error: str | None,
    permanent: bool,
    retry_after: float | None,
    policy: RetryPolicy,
    rng: Callable[[], float],
) -> str:
    log_fields = {
        "outbox_id": claimed["id"],
        "message_id": claimed["message_id"],
        "channel": claimed["channel"],
    }
    with store.write() as tx:
        row = tx.lock_outbox(claimed["id"])
        if row is None:
            return "dead"  # deleted meanwhile (its engagement was erased): nothing to record
        attempt = row["attempts"] + 1
        pending = row["status"] == "pending"
        # Still ours when nobody re-claimed it after our lease ran out.
        ours = pending and row["next_attempt_at"] == lease_until
        values: dict[str, Any] = {"attempts": attempt}
        if error is None:
            outcome = "delivered"
            if pending:
                # Delivered counts whoever holds the lease: the message arrived.
                values.update(status="delivered", delivered_at=at, next_attempt_at=None, last_error=None)
        else:
            values["last_error"] = error[:2000]
            if permanent or attempt >= policy.max_attempts:
                outcome = "dead"
                if ours:
                    values.update(status="dead", next_attempt_at=None)
            else:
                outcome = "failed"
                if ours:
                    values["next_attempt_at"] = at + policy.backoff(attempt, retry_after, rng)
        tx.update_outbox(row["id"], values)
        tx.insert_outbox_attempt(
            {"outbox_id": row["id"], "attempt": attempt, "at": at, "outcome": outcome, "error": error}
        )
    if outcome == "delivered":
        _log.info("outbox_delivered", attempt=attempt, **log_fields)
    elif outcome == "dead":
        _log.warning("outbox_dead", attempt=attempt, error=error, **log_fields)
    else:
        _log.info(
            "outbox_retry",
            attempt=attempt,
            error=error,
            next_attempt_at=str(values.get("next_attempt_at")),
            **log_fields,
        )
    return outcome


def send_digests(kernel: Kernel, now: datetime | None, actor: Actor = SYSTEM) -> list[str]:
    """:meth:`Engine.send_digests`: one digest per supervisor, at most once per (Danish) day.

    ``actor``: the system actor, a supervisor or an admin; ``now`` not ahead of
    the real clock (``Kernel.background``): a digest sent for a future day would
    use up that day's."""
    now = kernel.background(actor, now, "digest")
    with kernel.read() as rtx:
        rows = rtx.open_reminders_of_current_stages()
    per_supervisor: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if not r["supervisor"]:
            continue
        compiled = kernel.registry.find(r["workflow"], r["workflow_version"])
        label = compiled.stages[r["stage"]].labels if compiled and r["stage"] in compiled.stages else None
        per_supervisor.setdefault(r["supervisor"], []).append(
            {
                "engagement_id": r["engagement_id"],
                "workflow": r["workflow"],
                "stage": r["stage"],
                "label": label,
                "level": r["level"],
                "due_at": r["due_at"],
            }
        )
    channel = default_channel(kernel)
    inserted: list[str] = []
    with kernel.write() as tx:
        for supervisor, items in sorted(per_supervisor.items()):
            note = build_digest(supervisor, items, "da", channel=channel, now=now)
            values = {
                "message_id": note.message_id,
                "reminder_id": None,
                "channel": channel,
                "recipient": supervisor,
                "subject": note.subject[:MAX_TEXT],
                "body": note.body,
                "payload": dict(note.payload),
                "created_at": now,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "delivered_at": None,
            }
            if tx.insert_outbox_if_new(values):
                inserted.append(note.message_id)
    _log.info("digests_enqueued", count=len(inserted))
    return inserted


def list_outbox(kernel: Kernel, status: str | None, limit: int | None) -> list[OutboxMessage]:
    """:meth:`Engine.outbox`: messages by id, optionally of one status."""
    if status is not None and status not in ("pending", "delivered", "dead"):
        raise InvalidData(
            f"status must be pending, delivered or dead, not {status!r}",
            detail_da=f"status skal være pending, delivered eller dead, ikke {status!r}",
        )
    with kernel.read() as tx:
        return [OutboxMessage.from_row(r) for r in tx.list_outbox(status, limit)]


def purge_outbox(
    kernel: Kernel,
    *,
    older_than_days: int = DEFAULT_OUTBOX_RETENTION_DAYS,
    now: datetime | None,
    actor: Actor,
    dry_run: bool = False,
    batch: int = PURGE_BATCH,
) -> int:
    """:meth:`Engine.purge_outbox`: the number of messages deleted (``dry_run``: that would be)."""

    # Every check before the first transaction: a refused purge writes nothing.
    kernel.role_for(actor, PURGERS, "purge the outbox")
    days = positive_int("older_than_days", older_than_days)
    now = aware_now(now, kernel.clock)
    # The age counts from created_at, not from when the message was finished:
    # every row has it and it never changes, while a dead message keeps no
    # finishing time (delivered_at is for delivered ones; a dead one's last
    # attempt is in outbox_attempts). A message is finished within the retry
    # horizon (MAX_ATTEMPTS with the backoff capped at hours: days at most), so
    # against a limit of months the difference is small, and it errs only
    # towards keeping an old message while it is still being retried: a
    # pending message is never purged, however old.
    try:
        cutoff = now - timedelta(days=days)
    except OverflowError:
        raise InvalidData(
            f"older_than_days={days} reaches before year 1",
            detail_da=f"older_than_days={days} rækker før år 1",
        ) from None
    if dry_run:
        with kernel.read() as rtx:
            return rtx.count_finished_outbox(cutoff)
    messages = attempts = 0
    while True:
        for retry in range(PURGE_RETRIES):
            try:
                # One short transaction per batch: no long write lock on the outbox.
                with kernel.write() as tx:
                    deleted = tx.purge_finished_outbox(cutoff, batch)
                break
            except WriteConflict as exc:
                # A deadlock with an erasure deleting the same messages
                # (PostgreSQL): this batch was rolled back, the earlier ones
                # are committed; the next try finds what is still there.
                if retry == PURGE_RETRIES - 1:
                    raise ConcurrencyError(None, None, None) from exc
        messages += deleted["outbox"]
        attempts += deleted["outbox_attempts"]
        # Deleted rows are gone, so the next batch starts again from the oldest
        # left; fewer than a batch means none are left (or another purge, or a
        # dispatcher recording a late outcome, holds the rest: skipped).
        if deleted["outbox"] < batch:
            break
    _log.info(
        "outbox_purged",
        actor=actor.id,
        older_than_days=days,
        created_before=cutoff.isoformat(),
        messages=messages,
        attempts=attempts,
    )
    return messages
