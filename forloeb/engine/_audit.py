"""Audit: who did what, when, to which engagement — and was the record changed since?

``engine.audit`` (an :class:`Audit`) answers with event queries, a person-
readable timeline, a verify of every hash chain, signed checkpoints that
catch a cut-off tail, and the access log of personal data (Datatilsynet:
log each read, search, export and deletion, with user, time, the person
concerned and the search criteria; keep the log for its own retention
period; give a resident what was done with their data, normally without
staff identities).

Roles: auditors and supervisors query everything; a worker's queries see
their teams' engagements only (``_access.py``). Verify, checkpoints and the
access log are for auditors and supervisors. None of this fires a trigger.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ..persistence import AccessQuery, EventQuery
from . import _verify
from ._access import AUDIT_OFFICERS, AUDIT_READERS, acting_role, check_can_see, visibility
from ._checks import parse_time
from ._errors import InvalidData
from ._kernel import Kernel
from ._queries import get, history, list_engagements
from ._reminders import query as reminders_query
from ._types import Actor, Event
from ._verify import ChainBreak, Progress, VerifyReport

MAX_FILTER = 200
MAX_LIMIT = 100_000
DEFAULT_RETENTION = timedelta(days=183)  # about six months


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


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    id: int
    occurred_at: datetime
    actor: str
    role: str
    action: str
    engagement_id: int | None
    subject: str | None
    criteria: Mapping[str, Any] | None
    purpose: str | None

    def to_dict(self, *, redact_staff: bool = False) -> dict[str, Any]:
        d = {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "engagement_id": self.engagement_id,
            "subject": self.subject,
            "criteria": self.criteria,
            "purpose": self.purpose,
        }
        if redact_staff:
            del d["actor"]
            # Criteria can name staff (an actor filter): keep only the keys.
            d["criteria"] = sorted(self.criteria) if self.criteria else None
        return d


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
        self.retention: timedelta = timedelta(days=int(days)) if days else DEFAULT_RETENTION

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
        """Append entries: one per engagement concerned, or one with the criteria alone."""
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
    ) -> list[AccessEntry]:
        """The access log, oldest first, filtered."""
        acting_role(viewer, AUDIT_OFFICERS, "read the access log")
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
            )
        )
        return [AccessEntry(**{k: r[k] for k in AccessEntry.__dataclass_fields__}) for r in rows]

    def for_subject(
        self, viewer: Actor, subject: str, *, redact_staff: bool = True, purpose: str | None = None
    ) -> dict[str, Any]:
        """For a resident's access request: what was done with their data.

        The access-log entries about ``subject`` and the events of their
        engagements (what happened, when, in which role; no payloads), without
        staff identities when ``redact_staff``. The export is itself logged.
        """
        role = acting_role(viewer, AUDIT_OFFICERS, "export an access request")
        _check_filter("subject", subject)
        if not subject:
            raise InvalidData("a subject reference is required", detail_da="en borgerreference er påkrævet")
        entries = self.access(viewer, subject=subject)
        found = list_engagements(self._kernel, subject=subject)
        events: list[dict[str, Any]] = []
        for e in found:
            for ev in history(self._kernel, e.id, actor=None, purpose=None):
                d = {
                    "engagement_id": ev.engagement_id,
                    "seq": ev.seq,
                    "occurred_at": ev.occurred_at.isoformat(),
                    "type": ev.type,
                    "trigger": ev.trigger,
                    "from_state": ev.from_state,
                    "to_state": ev.to_state,
                    "role": ev.role,
                }
                if not redact_staff:
                    d["actor"] = ev.actor
                events.append(d)
        result = {
            "subject": subject,
            "generated_at": self._kernel.clock().isoformat(),
            "staff_redacted": redact_staff,
            "engagements": [e.id for e in found],
            "events": events,
            "access": [a.to_dict(redact_staff=redact_staff) for a in entries],
        }
        self.log_access(
            viewer,
            "export",
            engagements=[{"id": e.id, "subject": e.subject} for e in found],
            criteria={"for_subject": subject, "redact_staff": redact_staff},
            purpose=purpose,
            role=role,
        )
        return result

    def purge_access(self, viewer: Actor, *, retention: timedelta | None = None) -> int:
        """Delete access-log entries older than the retention period; the number deleted.

        The purge itself is logged (an entry that the next purge, six months on,
        removes in turn).
        """
        role = acting_role(viewer, AUDIT_OFFICERS, "purge the access log")
        keep = retention if retention is not None else self.retention
        if keep < timedelta(0):
            raise InvalidData(
                "retention must not be negative", detail_da="opbevaringstiden må ikke være negativ"
            )
        before = self._kernel.clock() - keep
        deleted = self._store.purge_access(before)
        self.log_access(
            viewer,
            "purge_access_log",
            criteria={"before": before.isoformat(), "deleted": deleted},
            role=role,
        )
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
        role = acting_role(viewer, AUDIT_READERS, "query the audit log")
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
                visibility=visibility(viewer),
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
        role = acting_role(viewer, AUDIT_READERS, "read a timeline")
        engagement = get(self._kernel, engagement_id, actor=None, purpose=None).to_dict()
        check_can_see(viewer, engagement, "read a timeline")
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
        acting_role(viewer, AUDIT_OFFICERS, "verify the audit log")
        total = self._kernel.store.row_counts().get("events", 0) if progress is not None else 0
        with self._kernel.faults():
            return _verify.verify(
                self._store,
                self._kernel.audit_key,
                engagement_id=engagement_id,
                checkpoint=checkpoint,
                progress=progress,
                total=total,
            )

    def checkpoint(self, viewer: Actor) -> dict[str, Any]:
        """A signed summary of every chain: each engagement's event count and head hash.

        Store it elsewhere (another machine, a mail to the data protection
        officer); ``verify(checkpoint=...)`` then detects events removed or
        rewritten since. Signed with HMAC-SHA256 under the audit key; without
        a key it carries a SHA-256 digest only, which anyone can recompute.
        """
        acting_role(viewer, AUDIT_OFFICERS, "write an audit checkpoint")
        return _verify.checkpoint(self._store, self._kernel.audit_key, self._kernel.clock())


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
    "Audit",
    "AuditPage",
    "AuditRecord",
    "ChainBreak",
    "VerifyReport",
    "parse_time",
]
