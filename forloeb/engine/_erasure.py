"""Erasure: the real deletion of an engagement's personal data, and the retention purge.

GDPR art. 17 and KL's retention rule (delete 5 years after a case is closed)
require deletion to be real: the rows are DELETEd, not flagged. Everything
that belongs to the engagement goes in one transaction: the engagement row,
its events (the hash chain), tags, idempotency keys (they hold a copy of the
engagement), reminders, their outbox messages and delivery attempts. Digests
stay: they name engagement numbers only, never a resident.

What survives is the fact of the deletion: an access-log entry (action
``delete``, the subject reference, who, why) written in the same transaction,
so there is never a deletion without its record, nor a record of a deletion
that did not happen. The engagement's earlier access-log entries stay too:
the access log has its own retention (``Audit.purge_access``). A checkpoint
taken before the erasure then reports the engagement as erased, with that
entry's date and actor, instead of as tampering (``Audit.verify``).

``Engine.erase`` and ``Engine.purge_closed`` call in here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..persistence import Row, WriteConflict
from ._checks import MAX_REASON, aware_now, check_text, positive_int
from ._definition import SUPERVISOR
from ._errors import ConcurrencyError
from ._kernel import Kernel
from ._logging import get_logger
from ._residue import leave_no_residue
from ._types import Actor

# Erasing is irreversible and about a resident's rights: a supervisor decides.
ERASERS: frozenset[str] = frozenset({SUPERVISOR})
DELETE = "delete"
DEFAULT_RETENTION_YEARS = 5  # KL: 5 years after the case is closed
RETENTION_REASON = "retention: {years} years after closing"
# Engagements fetched per round trip of the purge.
BATCH = 500

_log = get_logger()


@dataclass(frozen=True, kw_only=True)
class ErasureReceipt:
    """What was erased, when, by whom and why (also kept in the access log).

    ``dry_run``: nothing was erased; the receipt says what would have been.
    """

    engagement_id: int
    subject: str
    workflow: str
    events_deleted: int
    erased_at: datetime
    by: str
    reason: str
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "subject": self.subject,
            "workflow": self.workflow,
            "events_deleted": self.events_deleted,
            "erased_at": self.erased_at.isoformat(),
            "by": self.by,
            "reason": self.reason,
            "dry_run": self.dry_run,
        }


def erase(
    kernel: Kernel, engagement_id: int, *, actor: Actor, reason: str, purpose: str | None = None
) -> ErasureReceipt:
    """:meth:`Engine.erase`."""
    # Every check before the transaction: a refused erasure writes nothing.
    role = kernel.role_for(actor, ERASERS, "erase")
    reason = check_text("reason", reason, limit=MAX_REASON, name_da="begrundelse")
    if purpose is not None:
        purpose = check_text("purpose", purpose, limit=MAX_REASON, name_da="formål")
    receipt = _erase_one(kernel, engagement_id, actor, role, reason, {"purpose": purpose} if purpose else {})
    assert receipt is not None  # no condition: erased or an exception
    leave_no_residue(kernel.store)  # committed: now off the disk (WAL checkpoint, VACUUM)
    return receipt


def purge_closed(
    kernel: Kernel,
    older_than_years: int,
    now: datetime | None,
    actor: Actor,
    dry_run: bool,
    progress: Callable[[int, int], None] | None,
) -> list[ErasureReceipt]:
    """:meth:`Engine.purge_closed`; ``progress(erased so far, 0)`` after each erasure
    (the total is not known in advance: a dry run tells it)."""
    role = kernel.role_for(actor, ERASERS, "purge closed engagements")
    years = positive_int("older_than_years", older_than_years, most=100)
    now = aware_now(now, kernel.clock)
    cutoff = _years_before(now, years)
    # The final stages come from the definitions (closed, handed over …), per
    # workflow version: a stage key final in one workflow may not be in another.
    finals = kernel.registry.final_stages()
    states = sorted(frozenset[str]().union(*finals.values()))
    if not states:
        return []
    reason = RETENTION_REASON.format(years=years)
    criteria = {"retention_years": years, "last_change_before": cutoff.isoformat()}

    def due(row: Row) -> bool:
        final = finals.get((row["workflow"], row["workflow_version"]), frozenset())
        return row["state"] in final and row["updated_at"] < cutoff

    receipts: list[ErasureReceipt] = []
    after: tuple[datetime, int] | None = None
    while True:
        with kernel.read() as rtx:
            rows = rtx.final_before(states, cutoff, BATCH, after)
        for row in rows:
            if not due(row):
                continue
            if dry_run:
                receipts.append(_receipt(row, row["version"], kernel.clock(), actor, reason, dry_run=True))
                continue
            # Each in its own transaction, re-checked under the row lock: one
            # reopened (or noted on) since the query is no longer due and stays.
            receipt = _erase_one(kernel, row["id"], actor, role, reason, criteria, due)
            if receipt is not None:
                receipts.append(receipt)
                if progress is not None:
                    progress(len(receipts), 0)
        if len(rows) < BATCH:
            if receipts and not dry_run:
                leave_no_residue(kernel.store)  # once, after every erasure has committed
            return receipts
        # Keyset paging: erased rows are gone, skipped ones are not fetched again.
        after = (rows[-1]["updated_at"], rows[-1]["id"])


def _erase_one(
    kernel: Kernel,
    engagement_id: int,
    actor: Actor,
    role: str,
    reason: str,
    criteria: dict[str, Any],
    still_due: Callable[[Row], bool] | None = None,
) -> ErasureReceipt | None:
    """Delete one engagement and log it, in one transaction; None when ``still_due`` says no."""
    try:
        with kernel.write() as tx:
            # Locked: a command in flight finishes first; one that comes after
            # finds no engagement (EngagementNotFound), never half of one.
            row = kernel.load(tx, engagement_id)
            if still_due is not None and not still_due(row):
                return None
            now = kernel.clock()
            deleted = tx.delete_engagement(row["id"])
            acting = kernel.resolve(actor)
            kernel.append_access(
                [
                    {
                        "occurred_at": now,
                        "actor": acting.id,
                        "role": role,
                        "impersonator": getattr(acting, "impersonator", None),
                        "action": DELETE,
                        "engagement_id": row["id"],
                        "subject": row["subject"],
                        # What was deleted, since the data itself is gone: the
                        # count and head let a checkpoint be matched to the erasure.
                        "criteria": {
                            **{k: v for k, v in criteria.items() if v is not None},
                            "workflow": row["workflow"],
                            "state": row["state"],
                            "events": deleted["events"],
                            "head": row["head_hash"],
                        },
                        "purpose": reason,
                    }
                ]
            )
    except WriteConflict as exc:
        raise ConcurrencyError(engagement_id, None, None) from exc
    # After the commit; ids and counts only (application logs keep no subject).
    _log.info("erased", engagement_id=row["id"], actor=actor.id, events=deleted["events"], rows=deleted)
    return _receipt(row, deleted["events"], now, actor, reason)


def _receipt(
    row: Row, events: int, at: datetime, actor: Actor, reason: str, *, dry_run: bool = False
) -> ErasureReceipt:
    return ErasureReceipt(
        engagement_id=row["id"],
        subject=row["subject"],
        workflow=row["workflow"],
        events_deleted=events,
        erased_at=at,
        by=actor.id,
        reason=reason,
        dry_run=dry_run,
    )


def _years_before(now: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


__all__ = ["DEFAULT_RETENTION_YEARS", "ErasureReceipt", "erase", "purge_closed"]
