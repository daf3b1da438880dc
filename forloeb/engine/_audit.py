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
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from ..persistence import AccessQuery, EventQuery
from ._access import AUDIT_OFFICERS, AUDIT_READERS, acting_role, check_can_see, visibility
from ._chain import GENESIS, event_hash
from ._errors import InvalidData
from ._i18n import Lang
from ._types import Actor, Event

if TYPE_CHECKING:
    from ._engine import Engine

_TZ = ZoneInfo("Europe/Copenhagen")
MAX_FILTER = 200
MAX_LIMIT = 100_000
DEFAULT_RETENTION = timedelta(days=183)  # about six months
CHECKPOINT_FORMAT = "forloeb-checkpoint/1"

# "erased" is no break: an engagement erased (and logged) since the checkpoint.
BreakKind = Literal["hash", "link", "gap", "head", "missing", "checkpoint", "signature", "erased"]

# The human line's words for where a break is and what kind it is (the JSON keeps the keys).
_BREAK_WHERE: dict[str, tuple[str, str, str]] = {
    "da": ("forløb {id}", "nr. {seq}", "kontrolpunkt"),
    "en": ("engagement {id}", "seq {seq}", "checkpoint"),
}
_KIND_DA: dict[str, str] = {
    "hash": "hash",
    "link": "kæde",
    "gap": "hul",
    "head": "hoved",
    "missing": "mangler",
    "checkpoint": "kontrolpunkt",
    "signature": "signatur",
    "erased": "slettet",
}
_WARNINGS_DA: dict[str, str] = {
    "the checkpoint is signed but no audit key is set: signature not checked": (
        "kontrolpunktet er signeret, men der er ingen audit-nøgle: signaturen er ikke kontrolleret"
    ),
    "the checkpoint is unsigned (no audit key): anyone could have rewritten it": (
        "kontrolpunktet er usigneret (ingen audit-nøgle): enhver kunne have omskrevet det"
    ),
}


def parse_time(value: str | datetime | date | None, *, end: bool = False) -> datetime | None:
    """An ISO time or date; a date (or a time without zone) is Copenhagen time.

    ``end``: a bare date means the end of that day (an inclusive ``--until``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
        if end:
            parsed += timedelta(days=1)
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                d = date.fromisoformat(text)
                parsed = datetime(d.year, d.month, d.day) + (timedelta(days=1) if end else timedelta())
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidData(
                f"not an ISO time or date: {value!r}",
                detail_da=f"ikke et ISO-tidspunkt eller en dato: {value!r}",
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_TZ)
    return parsed.astimezone(UTC)


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
class ChainBreak:
    """One place where the log is not what was written."""

    engagement_id: int | None
    seq: int | None
    kind: BreakKind
    detail: str  # what differs, in English
    detail_da: str | None = None  # the same in Danish (None: only the English is known)

    def message(self, lang: Lang = "en") -> str:
        """What differs, in ``lang``."""
        return self.detail_da if lang == "da" and self.detail_da is not None else self.detail

    def to_dict(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "seq": self.seq,
            "kind": self.kind,
            "detail": self.detail,
            "detail_da": self.message("da"),
        }

    def text(self, lang: Lang = "en") -> str:
        """The break as one line in ``lang``: where, the kind, what differs."""
        engagement, seq, checkpoint = _BREAK_WHERE[lang]
        where = engagement.format(id=self.engagement_id) if self.engagement_id is not None else checkpoint
        if self.seq is not None:
            where += ", " + seq.format(seq=self.seq)
        kind = _KIND_DA.get(self.kind, self.kind) if lang == "da" else self.kind
        return f"{where}: {kind}: {self.message(lang)}"

    def __str__(self) -> str:
        return self.text("en")


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    engagements: int
    events: int
    keyed: bool
    seconds: float
    breaks: list[ChainBreak]
    checkpoint: str | None = None  # created_at of the checkpoint compared, if any
    warnings: list[str] = field(default_factory=list)  # in English
    warnings_da: list[str] | None = None  # the same in Danish
    # Engagements of the checkpoint erased since, with the access log's record of it.
    erased: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def warnings_in(self, lang: Lang) -> list[str]:
        return self.warnings_da if lang == "da" and self.warnings_da is not None else self.warnings

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "engagements": self.engagements,
            "events": self.events,
            "keyed": self.keyed,
            "seconds": round(self.seconds, 3),
            "checkpoint": self.checkpoint,
            "warnings": self.warnings,
            "warnings_da": self.warnings_in("da"),
            "breaks": [b.to_dict() for b in self.breaks],
            "erased": [b.to_dict() for b in self.erased],
        }


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


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


class Audit:
    """Bound to one engine: ``engine.audit``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = engine.store.audit()
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
        now = self._engine._clock()
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
        self._store.insert_access(rows or [{**base, "engagement_id": None, "subject": None}])

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
        found = self._engine.list(subject=subject)
        events: list[dict[str, Any]] = []
        for e in found:
            for ev in self._engine.history(e.id):
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
            "generated_at": self._engine._clock().isoformat(),
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
        before = self._engine._clock() - keep
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
        engagement = self._engine.get(engagement_id).to_dict()
        check_can_see(viewer, engagement, "read a timeline")
        events = self._engine.history(engagement_id)
        reminders = self._reminders(engagement_id)
        self.log_access(viewer, "read", engagements=[engagement], purpose=purpose, role=role)
        return engagement, events, reminders

    def _reminders(self, engagement_id: int) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self._engine.reminders(engagement_id=engagement_id)]

    # -- integrity ------------------------------------------------------------------

    def verify(
        self,
        viewer: Actor,
        *,
        engagement_id: int | None = None,
        checkpoint: Mapping[str, Any] | None = None,
    ) -> VerifyReport:
        """Recompute every chain (or one); with a checkpoint also what it recorded.

        Each break names the engagement, the seq and what differs. A chain
        cannot see its own tail cut off when the engagement row is cut back
        with it: the checkpoint can (events 1..count must still hash to its head).
        """
        acting_role(viewer, AUDIT_OFFICERS, "verify the audit log")
        key = self._engine._key
        started = time.perf_counter()
        breaks: list[ChainBreak] = []
        warnings: list[str] = []
        marks: dict[int, tuple[int, str]] = {}
        created: str | None = None
        erased: dict[int, ChainBreak] = {}
        if checkpoint is not None:
            created, marks, problems, warnings = self._read_checkpoint(checkpoint)
            breaks += problems
            if engagement_id is not None:
                marks = {k: v for k, v in marks.items() if k == engagement_id}
            erased = self._erased_since(created, marks)
            # An erasure is a logged deletion, not tampering: its chain is no
            # longer compared (on SQLite a new engagement may reuse the id).
            marks = {k: v for k, v in marks.items() if k not in erased}
        heads = self._store.heads(engagement_id)
        seen: dict[int, tuple[int, str]] = {}
        count = 0
        current: int | None = None
        prev = GENESIS
        expected = 1
        for row in self._store.chain(engagement_id):
            count += 1
            eid, seq = row["engagement_id"], row["seq"]
            if eid != current:
                current, prev, expected = eid, GENESIS, 1
            if seq != expected:
                missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
                mangler = f"nr. {expected}" if seq == expected + 1 else f"nr. {expected}–{seq - 1}"
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=seq,
                        kind="gap",
                        detail=f"{missing} missing",
                        detail_da=f"{mangler} mangler",
                    )
                )
            if row["prev_hash"] != prev:
                before = "genesis" if expected == 1 and seq == 1 else f"seq {seq - 1}"
                before_da = "kædens start (genesis)" if expected == 1 and seq == 1 else f"nr. {seq - 1}"
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=seq,
                        kind="link",
                        detail=f"prev_hash {row['prev_hash'][:12]}… is not the hash of {before} "
                        f"({prev[:12]}…)",
                        detail_da=f"prev_hash {row['prev_hash'][:12]}… er ikke hashen af {before_da} "
                        f"({prev[:12]}…)",
                    )
                )
            computed = event_hash(row, key)
            if computed != row["hash"]:
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=seq,
                        kind="hash",
                        detail=(
                            f"stored hash {row['hash'][:12]}… ≠ recomputed {computed[:12]}…: the event's "
                            "content (type, actor, payload, time …) was changed"
                            + ("" if key else " (or it was written with an audit key)")
                        ),
                        detail_da=(
                            f"gemt hash {row['hash'][:12]}… ≠ genberegnet {computed[:12]}…: hændelsens "
                            "indhold (type, aktør, data, tidspunkt …) er ændret"
                            + ("" if key else " (eller den er skrevet med en audit-nøgle)")
                        ),
                    )
                )
            mark = marks.get(eid)
            if mark is not None and seq == mark[0] and (row["hash"] != mark[1] or computed != mark[1]):
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=seq,
                        kind="checkpoint",
                        detail=f"hash {row['hash'][:12]}… ≠ the checkpoint's head {mark[1][:12]}…: "
                        "events up to here were rewritten since the checkpoint",
                        detail_da=f"hash {row['hash'][:12]}… ≠ kontrolpunktets hoved {mark[1][:12]}…: "
                        "hændelserne frem til her er omskrevet siden kontrolpunktet",
                    )
                )
            prev, expected = row["hash"], seq + 1
            seen[eid] = (seq, row["hash"])
        for eid, (version, head) in heads.items():
            last = seen.get(eid)
            if last is None:
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=None,
                        kind="head",
                        detail="no events at all",
                        detail_da="ingen hændelser overhovedet",
                    )
                )
            elif last != (version, head):
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=last[0],
                        kind="head",
                        detail=f"the engagement row says version {version}, head {head[:12]}…; "
                        f"the log ends at seq {last[0]}, hash {last[1][:12]}…",
                        detail_da=f"forløbets række siger version {version}, hoved {head[:12]}…; "
                        f"loggen slutter ved nr. {last[0]}, hash {last[1][:12]}…",
                    )
                )
        for eid in sorted(set(seen) - set(heads)):
            breaks.append(
                ChainBreak(
                    engagement_id=eid,
                    seq=None,
                    kind="head",
                    detail="events without an engagement row",
                    detail_da="hændelser uden en række for forløbet",
                )
            )
        for eid, (mark_count, _head) in sorted(marks.items()):
            last = seen.get(eid)
            if last is None:
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=None,
                        kind="missing",
                        detail=f"erased/missing: the checkpoint recorded {mark_count} events; none are "
                        "left, and the access log records no erasure since the checkpoint (deleted "
                        "outside forloeb, or the entry was purged)",
                        detail_da=f"slettet/mangler: kontrolpunktet registrerede {mark_count} hændelser; "
                        "ingen er tilbage, og adgangsloggen har ingen sletning siden kontrolpunktet "
                        "(slettet uden om forloeb, eller posten er fjernet)",
                    )
                )
            elif last[0] < mark_count:
                breaks.append(
                    ChainBreak(
                        engagement_id=eid,
                        seq=last[0],
                        kind="checkpoint",
                        detail=f"the checkpoint recorded {mark_count} events; the log now ends at seq "
                        f"{last[0]} (tail cut off or events removed)",
                        detail_da=f"kontrolpunktet registrerede {mark_count} hændelser; loggen slutter nu "
                        f"ved nr. {last[0]} (slutningen er skåret af, eller hændelser er fjernet)",
                    )
                )
        breaks.sort(key=lambda b: (b.engagement_id is not None, b.engagement_id or 0, b.seq or 0))
        return VerifyReport(
            engagements=len(set(heads) | set(seen)),
            events=count,
            keyed=key is not None,
            seconds=time.perf_counter() - started,
            breaks=breaks,
            checkpoint=created,
            warnings=warnings,
            warnings_da=[_WARNINGS_DA.get(w, w) for w in warnings],
            erased=[erased[k] for k in sorted(erased)],
        )

    def _erased_since(self, created: str, marks: Mapping[int, tuple[int, str]]) -> dict[int, ChainBreak]:
        """The checkpoint's engagements erased since it was taken (access-log "delete" entries)."""
        if not marks:
            return {}
        try:
            since = parse_time(created)
        except InvalidData:
            since = None  # a checkpoint with an odd time: any erasure counts
        found: dict[int, ChainBreak] = {}
        for entry in self._store.list_access(AccessQuery(action="delete", since=since)):
            eid = entry["engagement_id"]
            if eid not in marks:
                continue
            facts = entry["criteria"] or {}
            at = entry["occurred_at"].astimezone(_TZ).strftime("%Y-%m-%d %H:%M")
            found[eid] = ChainBreak(
                engagement_id=eid,
                seq=None,
                kind="erased",
                detail=f"erased on {at} by {entry['actor']} ({entry['role']}): {entry['purpose'] or '-'}; "
                f"the checkpoint recorded {marks[eid][0]} events, {facts.get('events', '?')} were deleted",
                detail_da=f"slettet {at} af {entry['actor']} ({entry['role']}): {entry['purpose'] or '-'}; "
                f"kontrolpunktet registrerede {marks[eid][0]} hændelser, {facts.get('events', '?')} "
                "blev slettet",
            )
        return found

    def checkpoint(self, viewer: Actor) -> dict[str, Any]:
        """A signed summary of every chain: each engagement's event count and head hash.

        Store it elsewhere (another machine, a mail to the data protection
        officer); ``verify(checkpoint=...)`` then detects events removed or
        rewritten since. Signed with HMAC-SHA256 under the audit key; without
        a key it carries a SHA-256 digest only, which anyone can recompute.
        """
        acting_role(viewer, AUDIT_OFFICERS, "write an audit checkpoint")
        heads: dict[str, dict[str, Any]] = {}
        for row in self._store.chain():
            heads[str(row["engagement_id"])] = {"count": row["seq"], "head": row["hash"]}
        body = {
            "format": CHECKPOINT_FORMAT,
            "created_at": self._engine._clock().isoformat(),
            "keyed": self._engine._key is not None,
            "engagements": heads,
        }
        digest = _digest(body)
        key = self._engine._key
        signature = hmac.new(key, digest.encode(), hashlib.sha256).hexdigest() if key else None
        return {**body, "digest": digest, "signature": signature}

    def _read_checkpoint(
        self, checkpoint: Mapping[str, Any]
    ) -> tuple[str, dict[int, tuple[int, str]], list[ChainBreak], list[str]]:
        try:
            body = {k: checkpoint[k] for k in ("format", "created_at", "keyed", "engagements")}
            marks = {
                int(eid): (int(v["count"]), str(v["head"])) for eid, v in dict(body["engagements"]).items()
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidData("not a forloeb checkpoint", detail_da="ikke et forloeb-kontrolpunkt") from None
        breaks: list[ChainBreak] = []
        warnings: list[str] = []
        if _digest(body) != checkpoint.get("digest"):
            breaks.append(
                ChainBreak(
                    engagement_id=None,
                    seq=None,
                    kind="signature",
                    detail="the checkpoint's digest does not match",
                    detail_da="kontrolpunktets digest passer ikke",
                )
            )
        key = self._engine._key
        signature = checkpoint.get("signature")
        if signature:
            if key is None:
                warnings.append("the checkpoint is signed but no audit key is set: signature not checked")
            else:
                expected = hmac.new(key, str(checkpoint.get("digest")).encode(), hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, str(signature)):
                    breaks.append(
                        ChainBreak(
                            engagement_id=None,
                            seq=None,
                            kind="signature",
                            detail="the checkpoint's signature is wrong "
                            "(another key, or the file was edited)",
                            detail_da="kontrolpunktets signatur er forkert "
                            "(en anden nøgle, eller filen er redigeret)",
                        )
                    )
        else:
            warnings.append("the checkpoint is unsigned (no audit key): anyone could have rewritten it")
        return str(body["created_at"]), marks, breaks, warnings


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
