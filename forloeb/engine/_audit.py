"""Audit: who did what, when, to which engagement — and was the record changed since?

``engine.audit`` (an :class:`Audit`) answers with event queries, a person-
readable timeline, a verify of every hash chain, signed checkpoints that
catch a cut-off tail, and the access log of personal data (Datatilsynet:
log each read, search, export and deletion, with user, time, the person
concerned and the search criteria; keep the log for its own retention
period; give a resident what was done with their data, normally without
staff identities).

Roles: auditors and supervisors query everything; a worker's queries see
what the one visibility rule lets them see (``_access.py``). Verify,
checkpoints and the access log are for auditors and supervisors; purging the
access log for supervisors and admins. Every viewer is resolved in the staff
register by the kernel. None of this fires a trigger.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ..persistence import AccessQuery, EventQuery
from . import _access_log, _verify
from ._access import ACCESS_LOG_PURGERS, AUDIT_OFFICERS, AUDIT_READERS, visibility
from ._access_request import AccessEntry, AccessRequest, access_request
from ._checks import env_days, env_years, parse_time
from ._errors import InvalidData
from ._kernel import Kernel
from ._queries import get, history
from ._reminders import query as reminders_query
from ._residue import leave_no_residue
from ._types import Actor, Event
from ._verify import ChainBreak, Progress, VerifyReport
from ._verify_access import verify_access
from ._verify_rows import RowCheck

MAX_FILTER = 200
MAX_LIMIT = 100_000
DEFAULT_RETENTION = timedelta(days=183)  # about six months
# Deletion records, purge records and register changes explain the event
# chains and the roles on them: kept as long as a closed case (KL: 5 years).
DEFAULT_RECORDS_RETENTION = timedelta(days=5 * 365 + 1)


def _after(after: object) -> tuple[datetime, int] | None:
    """The access log's page key, checked: an aware time and an entry id."""
    if after is None:
        return None
    if (
        isinstance(after, tuple)
        and len(after) == 2
        and isinstance(after[0], datetime)
        and after[0].tzinfo is not None
        and isinstance(after[1], int)
        and not isinstance(after[1], bool)
    ):
        return after[0], after[1]
    raise InvalidData(
        "after must be (an aware time, an entry id): the last entry of the page before",
        detail_da="after skal være (et tidspunkt med tidszone, et id): den sidste post på siden før",
    )


def _check_filter(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > MAX_FILTER:
        raise InvalidData(
            f"filter {name} must be a text of at most {MAX_FILTER} characters",
            detail_da=f"filteret {name} skal være en tekst på højst {MAX_FILTER} tegn",
        )


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One event with the engagement facts an auditor filters on."""

    event: Event
    workflow: str
    subject: str
    team: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.event.to_dict(), "workflow": self.workflow, "subject": self.subject, "team": self.team}


@dataclass(frozen=True, kw_only=True)
class AuditPage:
    records: list[AuditRecord]
    # Pass to the next query to continue after this page; None on the last page.
    next_cursor: str | None


def _cursor(at: datetime, event_id: int) -> str:
    raw = json.dumps([at.isoformat(), event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, event_id = json.loads(raw)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not isinstance(event_id, int):
            raise ValueError
        return parsed, event_id
    except (ValueError, TypeError, binascii.Error):
        raise InvalidData("not a cursor from an earlier page", detail_da="ikke en gyldig cursor") from None


class Audit:
    """Bound to one engine: ``engine.audit``."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._store = kernel.audit_store()
        days = os.environ.get("FORLOEB_ACCESS_LOG_DAYS")
        # Datatilsynet: the access log has its own retention; six months by default.
        # A malformed value is InvalidData naming the variable (issue 12, L6).
        self.retention: timedelta = env_days("FORLOEB_ACCESS_LOG_DAYS", days, DEFAULT_RETENTION)
        years = os.environ.get("FORLOEB_RECORDS_YEARS")
        self.records_retention: timedelta = env_years(
            "FORLOEB_RECORDS_YEARS", years, DEFAULT_RECORDS_RETENTION
        )

    # -- the access log -----------------------------------------------------------

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
        """Append entries: one per engagement concerned, or one with the criteria alone
        (an embedding app's own reads of engagement data). The actions that explain
        the chains (deletions, purges, register changes, refusals) are the engine's
        own and cannot be written here: a forged deletion record is what H6 was."""
        if action in _access_log.LASTING_ACTIONS or action == "refused":
            raise InvalidData(
                f"the access-log action {action!r} is written by the engine only",
                detail_da=f"handlingen {action!r} i adgangsloggen skrives kun af motoren",
            )
        self._kernel.log_access(
            actor, action, engagements=engagements, criteria=criteria, purpose=purpose, role=role
        )

    def access(
        self,
        viewer: Actor,
        *,
        subject: str | None = None,
        actor: str | None = None,
        engagement_id: int | None = None,
        since: str | datetime | date | None = None,
        until: str | datetime | date | None = None,
        limit: int | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[AccessEntry]:
        """The access log, oldest first, filtered; ``after``: the (time, id) of the
        last entry of the page before (a page at a time with ``limit``)."""
        self._kernel.role_for(viewer, AUDIT_OFFICERS, "read the access log")
        for name, value in (("subject", subject), ("actor", actor)):
            _check_filter(name, value)
        rows = self._store.list_access(
            AccessQuery(
                subject=subject,
                actor=actor,
                engagement_id=engagement_id,
                since=parse_time(since),
                until=parse_time(until, end=True),
                limit=_limit(limit),
                after=_after(after),
            )
        )
        return [AccessEntry.from_row(r) for r in rows]

    def for_subject(
        self, viewer: Actor, subject: str, *, redact_staff: bool = True, purpose: str | None = None
    ) -> dict[str, Any]:
        """What was done with a resident's data: the access-log entries about
        ``subject`` and the events of their engagements (what happened, when,
        in which role; no payloads), without staff identities unless
        ``redact_staff=False`` (also in free text). The export is itself logged.
        :meth:`access_request` gives the resident's data itself.
        """
        package = self.access_request(viewer, subject, redact_staff=redact_staff, purpose=purpose)
        content = package.content
        return {
            "subject": subject,
            "generated_at": content["generated_at"],
            "staff_redacted": redact_staff,
            "engagements": [e["id"] for e in content["engagements"]],
            "events": [
                {k: v for k, v in ev.items() if k not in ("data", "hash")}
                for e in content["engagements"]
                for ev in e["events"]
            ],
            "access": content["access"],
        }

    def access_request(
        self,
        viewer: Actor,
        subject: str,
        *,
        redact_staff: bool = True,
        purpose: str | None = None,
    ) -> AccessRequest:
        """A resident's right of access (GDPR art. 15), whole: one package with every
        engagement of ``subject`` (recorded answers, notes, activities, consents,
        handovers, the event history) and the access log about them, in Danish,
        as data (``content``, ``json``) and as a readable document (``text``).
        Staff identities are left out unless ``redact_staff=False``. Auditors and
        supervisors; the request itself is logged.
        """
        role = self._kernel.role_for(viewer, AUDIT_OFFICERS, "export an access request")
        _check_filter("subject", subject)
        if not subject:
            raise InvalidData("a subject reference is required", detail_da="en borgerreference er påkrævet")
        entries = [AccessEntry.from_row(r) for r in self._store.list_access(AccessQuery(subject=subject))]
        package = access_request(self._kernel, subject, entries, redact_staff=redact_staff)
        self.log_access(
            viewer,
            "export",
            engagements=[{"id": e["id"], "subject": subject} for e in package.content["engagements"]],
            criteria={"access_request": subject, "redact_staff": redact_staff, "sha256": package.sha256},
            purpose=purpose,
            role=role,
        )
        return package

    def purge_access(
        self,
        viewer: Actor,
        *,
        retention: timedelta | None = None,
        records_retention: timedelta | None = None,
        dry_run: bool = False,
    ) -> int:
        """Delete the access-log entries older than their retention; the number deleted
        (``dry_run``: that would be, writing nothing). Supervisors and admins.

        Each chain loses a prefix: the ordinary entries older than ``retention``
        (default :attr:`retention`, six months), the records (erasures, purges,
        register changes) older than ``records_retention`` (default
        :attr:`records_retention`, five years). The purge writes a record per
        chain it shortened (through which seq, and that entry's hash), in the
        same transaction, so that verify knows where the chain now starts.
        """
        role = self._kernel.role_for(viewer, ACCESS_LOG_PURGERS, "purge the access log")
        keeps = {
            _access_log.ACCESS: self.retention if retention is None else retention,
            _access_log.RECORDS: self.records_retention if records_retention is None else records_retention,
        }
        if any(not timedelta(0) <= keep <= _LONGEST_RETENTION for keep in keeps.values()):
            raise InvalidData(
                "retention must be from 0 days to 100 years",
                detail_da="opbevaringstiden skal være fra 0 dage til 100 år",
            )
        acting = self._kernel.resolve(viewer)
        now = self._kernel.clock()
        deleted = 0
        with self._kernel.write() as tx:
            records: list[dict[str, Any]] = []
            for chain, keep in keeps.items():
                before = now - keep
                lasting = chain == _access_log.RECORDS
                legacy = tx.purge_legacy_access(before, lasting, dry_run)
                end = tx.access_prefix(chain, before)
                count = tx.count_access_through(chain, end[0]) if end else 0
                deleted += legacy + count
                if dry_run or (end is None and not legacy):
                    continue
                if end is not None:
                    tx.delete_access_through(chain, end[0])
                records.append(
                    {
                        "occurred_at": now,
                        "actor": acting.id,
                        "role": role,
                        "action": _access_log.PURGE,
                        "impersonator": getattr(acting, "impersonator", None),
                        "criteria": {
                            "chain": chain,
                            "before": before.isoformat(),
                            "deleted": count + legacy,
                            "through_seq": end[0] if end else None,
                            "through_hash": end[1] if end else None,
                        },
                    }
                )
            if records:
                self._kernel.append_access(records)
        if deleted and not dry_run:
            # Committed: now off the disk too (secure_delete, WAL checkpoint, VACUUM),
            # as after an erasure: the entries name residents' case references.
            leave_no_residue(self._kernel.store)
        return deleted

    # -- queries --------------------------------------------------------------------

    def query(
        self,
        viewer: Actor,
        *,
        engagement_id: int | None = None,
        workflow: str | None = None,
        actor: str | None = None,
        type: str | None = None,
        trigger: str | None = None,
        state: str | None = None,
        since: str | datetime | date | None = None,
        until: str | datetime | date | None = None,
        tag: str | None = None,
        team: str | None = None,
        order: Literal["asc", "desc"] = "asc",
        limit: int | None = None,
        cursor: str | None = None,
        purpose: str | None = None,
        export: str | None = None,
    ) -> AuditPage:
        """Events matching every filter given, in time order (``desc``: newest first).

        ``limit`` with the returned ``next_cursor`` pages through large
        results. ``export`` names the output format when the result leaves the
        system (csv, json …): logged as an export rather than a search.
        """
        role = self._kernel.role_for(viewer, AUDIT_READERS, "query the audit log")
        acting = self._kernel.resolve(viewer)
        filters = {
            "workflow": workflow,
            "actor": actor,
            "type": type,
            "trigger": trigger,
            "state": state,
            "tag": tag,
            "team": team,
        }
        for name, value in filters.items():
            _check_filter(name, value)
        if engagement_id is not None and (
            isinstance(engagement_id, bool) or not isinstance(engagement_id, int)
        ):
            raise InvalidData("engagement must be a number", detail_da="forløb skal være et tal")
        if order not in ("asc", "desc"):
            raise InvalidData(
                f"order must be asc or desc, not {order!r}", detail_da="rækkefølge: asc eller desc"
            )
        since_t, until_t = parse_time(since), parse_time(until, end=True)
        after = _uncursor(cursor) if cursor else None
        page = _limit(limit)
        rows = self._store.query_events(
            EventQuery(
                engagement_id=engagement_id,
                since=since_t,
                until=until_t,
                visibility=visibility(acting),
                descending=order == "desc",
                after=after,
                # One more than asked: whether a next page exists, without a count.
                limit=page + 1 if page is not None else None,
                **filters,
            )
        )
        more = page is not None and len(rows) > page
        rows = rows[:page] if page is not None else rows
        records = [
            AuditRecord(event=Event.from_row(r), workflow=r["workflow"], subject=r["subject"], team=r["team"])
            for r in rows
        ]
        criteria: dict[str, object] = {k: v for k, v in filters.items() if v is not None}
        criteria.update(
            {
                k: v
                for k, v in (
                    ("engagement", engagement_id),
                    ("since", since_t.isoformat() if since_t else None),
                    ("until", until_t.isoformat() if until_t else None),
                    ("format", export),
                )
                if v is not None
            }
        )
        concerned = {r["engagement_id"]: {"id": r["engagement_id"], "subject": r["subject"]} for r in rows}
        self.log_access(
            viewer,
            "export" if export else "search",
            engagements=concerned.values(),
            criteria=criteria,
            purpose=purpose,
            role=role,
        )
        last = rows[-1] if rows else None
        next_cursor = _cursor(last["occurred_at"], last["id"]) if more and last is not None else None
        return AuditPage(records=records, next_cursor=next_cursor)

    def timeline(
        self, viewer: Actor, engagement_id: int, *, purpose: str | None = None
    ) -> tuple[dict[str, Any], list[Event], list[dict[str, Any]]]:
        """One engagement's full history: (engagement, events, reminders), logged as a read."""
        role = self._kernel.role_for(viewer, AUDIT_READERS, "read a timeline")
        engagement = get(self._kernel, engagement_id, actor=None, purpose=None).to_dict()
        self._kernel.check_visible(viewer, engagement, "read a timeline")
        events = history(self._kernel, engagement_id, actor=None, purpose=None)
        reminders = self._reminders(engagement_id)
        self.log_access(viewer, "read", engagements=[engagement], purpose=purpose, role=role)
        return engagement, events, reminders

    def _reminders(self, engagement_id: int) -> list[dict[str, Any]]:
        return [
            r.to_dict()
            for r in reminders_query(
                self._kernel, supervisor=None, assignee=None, engagement_id=engagement_id, open_only=False
            )
        ]

    # -- integrity (logic in _verify) ------------------------------------------------

    def verify(
        self,
        viewer: Actor,
        *,
        engagement_id: int | None = None,
        checkpoint: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> VerifyReport:
        """Recompute every chain (or one); with a checkpoint also what it recorded.

        Each break names the engagement, the seq and what differs. A chain
        cannot see its own tail cut off when the engagement row is cut back
        with it: the checkpoint can (events 1..count must still hash to its head).
        ``progress(done, total)`` is called now and then with the events checked.
        """
        self._kernel.role_for(viewer, AUDIT_OFFICERS, "verify the audit log")
        total = self._kernel.store.row_counts().get("events", 0) if progress is not None else 0
        key = self._kernel.audit_key
        with self._kernel.faults():
            report = _verify.verify(
                self._store,
                key,
                engagement_id=engagement_id,
                checkpoint=checkpoint,
                progress=progress,
                total=total,
                rows=RowCheck(self._store, self._kernel.registry.stage_kinds),
            )
            if engagement_id is not None:
                return report  # one engagement's chain: the access log is not asked about
            marks = (
                _verify.read_checkpoint(checkpoint, key, report.keyed)[4] if checkpoint is not None else None
            )
            breaks, entries, warnings = verify_access(self._store, key, marks)
        return replace(
            report,
            breaks=[*report.breaks, *breaks],
            access_entries=entries,
            warnings=[*report.warnings, *(en for en, _ in warnings)],
            warnings_da=[*report.warnings_in("da"), *(da for _, da in warnings)],
        )

    def checkpoint(self, viewer: Actor) -> dict[str, Any]:
        """A signed summary of every chain: each engagement's event count and head hash.

        Store it elsewhere (another machine, a mail to the data protection
        officer); ``verify(checkpoint=...)`` then detects events removed or
        rewritten since. Signed with HMAC-SHA256 under the audit key; without
        a key it carries a SHA-256 digest only, which anyone can recompute.
        """
        self._kernel.role_for(viewer, AUDIT_OFFICERS, "write an audit checkpoint")
        return _verify.checkpoint(self._store, self._kernel.audit_key, self._kernel.clock())


# Beyond a century a cutoff falls before year 1: an overflow, not a retention.
_LONGEST_RETENTION = timedelta(days=36_500)


def _limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidData(
            f"limit must be a number from 1 to {MAX_LIMIT}", detail_da=f"grænsen skal være 1-{MAX_LIMIT}"
        )
    return limit


__all__ = [
    "AccessEntry",
    "AccessRequest",
    "Audit",
    "AuditPage",
    "AuditRecord",
    "ChainBreak",
    "VerifyReport",
    "parse_time",
]
