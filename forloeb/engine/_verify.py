"""Integrity: recompute every hash chain, compare with a signed checkpoint, write checkpoints.

``Audit.verify`` and ``Audit.checkpoint`` call in here with the audit store
and the audit key; nothing here knows the engine. A chain cannot see its own
tail cut off when the engagement row is cut back with it: a checkpoint (each
engagement's event count and head hash, signed under the audit key) can.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..persistence import AccessQuery, AuditStore, Row
from ._calendar import COPENHAGEN
from ._chain import GENESIS, event_hash
from ._checks import parse_time
from ._errors import InvalidData
from ._i18n import Lang
from ._keying import SETTING as KEYING
from ._keying import check as check_keying
from ._verify_rows import RowCheck

# /2 also records the access log's chains; a /1 checkpoint is still read.
CHECKPOINT_FORMAT = "forloeb-checkpoint/2"
Progress = Callable[[int, int], None]

# "erased" is no break: an engagement erased (and logged) since the checkpoint.
# "unchained": an access-log entry outside the chains, written outside forloeb.
BreakKind = Literal[
    "hash", "link", "gap", "head", "missing", "checkpoint", "signature", "erased", "unchained", "row"
]

# The human line's words for where a break is and what kind it is (the JSON keeps the keys).
_BREAK_WHERE: dict[str, tuple[str, str, str, str]] = {
    "da": ("forløb {id}", "nr. {seq}", "kontrolpunkt", "adgangsloggen ({chain})"),
    "en": ("engagement {id}", "seq {seq}", "checkpoint", "access log ({chain})"),
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
    "unchained": "uden for kæden",
    "row": "række",
}
_WARNINGS_DA: dict[str, str] = {
    "the checkpoint is signed but no audit key is set: signature not checked": (
        "kontrolpunktet er signeret, men der er ingen audit-nøgle: signaturen er ikke kontrolleret"
    ),
    "the checkpoint is unsigned (no audit key): anyone could have rewritten it": (
        "kontrolpunktet er usigneret (ingen audit-nøgle): enhver kunne have omskrevet det"
    ),
}


@dataclass(frozen=True, kw_only=True)
class ChainBreak:
    """One place where the log is not what was written."""

    engagement_id: int | None
    seq: int | None
    kind: BreakKind
    detail: str  # what differs, in English
    detail_da: str | None = None  # the same in Danish (None: only the English is known)
    chain: str | None = None  # an access-log chain ("access", "records"), not an engagement's

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
            "chain": self.chain,
        }

    def text(self, lang: Lang = "en") -> str:
        """The break as one line in ``lang``: where, the kind, what differs."""
        engagement, seq, checkpoint, log = _BREAK_WHERE[lang]
        if self.chain is not None:
            where = log.format(chain=self.chain)
        elif self.engagement_id is not None:
            where = engagement.format(id=self.engagement_id)
        else:
            where = checkpoint
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
    # Access-log entries checked on their chains.
    access_entries: int = 0

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
            "access_entries": self.access_entries,
        }


def keyed_database(store: AuditStore, key: bytes | None) -> bool:
    """Whether the database records that it is keyed; AuditKeyError (action
    "verify") when ``key`` does not fit it: verifying keyed chains without their
    key would call a plain-SHA-256 forgery intact and the genuine chains broken."""
    recorded = store.setting(KEYING)
    check_keying(recorded, key, "verify")
    return isinstance(recorded, Mapping) and bool(recorded.get("keyed"))


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def verify(
    store: AuditStore,
    key: bytes | None,
    *,
    engagement_id: int | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    total: int = 0,
    rows: RowCheck | None = None,
) -> VerifyReport:
    """Recompute every chain (or one); with a checkpoint also what it recorded.

    Each break names the engagement, the seq and what differs. ``progress``
    is called with (events done, ``total``) every few thousand events.
    ``rows``: also replay each chain and compare the engagement row with it.
    """
    started = time.perf_counter()
    keyed_db = keyed_database(store, key)
    breaks: list[ChainBreak] = []
    warnings: list[str] = []
    marks: dict[int, tuple[int, str]] = {}
    created: str | None = None
    erased: dict[int, ChainBreak] = {}
    if checkpoint is not None:
        created, marks, problems, warnings = read_checkpoint(checkpoint, key, keyed_db)[:4]
        breaks += problems
        if engagement_id is not None:
            marks = {k: v for k, v in marks.items() if k == engagement_id}
        erased = erased_since(store, created, marks)
        # An erasure is a logged deletion, not tampering: its chain is no
        # longer compared (on SQLite a new engagement may reuse the id).
        marks = {k: v for k, v in marks.items() if k not in erased}
    heads = store.heads(engagement_id)
    seen, count = _walk_chains(store.chain(engagement_id), key, marks, breaks, progress, total, rows)
    breaks += _head_breaks(heads, seen)
    if rows is not None:
        breaks += [
            ChainBreak(
                engagement_id=b.engagement_id, seq=b.seq, kind="row", detail=b.detail, detail_da=b.detail_da
            )
            for b in rows.finish()
        ]
    breaks += _mark_breaks(marks, seen)
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


_PROGRESS_EVERY = 5000


def _walk_chains(
    rows: Iterable[Row],
    key: bytes | None,
    marks: Mapping[int, tuple[int, str]],
    breaks: list[ChainBreak],
    progress: Progress | None,
    total: int,
    replay: RowCheck | None = None,
) -> tuple[dict[int, tuple[int, str]], int]:
    """Check every event against its predecessor and its own hash (and a checkpoint's
    head); returns each engagement's last (seq, hash) seen and the number of events."""
    seen: dict[int, tuple[int, str]] = {}
    count = 0
    current: int | None = None
    prev = GENESIS
    expected = 1
    for row in rows:
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count, total)
        eid, seq = row["engagement_id"], row["seq"]
        if eid != current:
            current, prev, expected = eid, GENESIS, 1
        breaks += _event_breaks(row, key, prev, expected, marks.get(eid))
        prev, expected = row["hash"], seq + 1
        seen[eid] = (seq, row["hash"])
        if replay is not None:
            replay.feed(row)
    if progress is not None:
        progress(count, max(total, count))
    return seen, count


def _event_breaks(
    row: Row, key: bytes | None, prev: str, expected: int, mark: tuple[int, str] | None
) -> list[ChainBreak]:
    """What is wrong with one event: a gap before it, a broken link, a changed content."""
    eid, seq = row["engagement_id"], row["seq"]
    found: list[ChainBreak] = []
    if seq != expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
        mangler = f"nr. {expected}" if seq == expected + 1 else f"nr. {expected}–{seq - 1}"
        found.append(
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
        found.append(
            ChainBreak(
                engagement_id=eid,
                seq=seq,
                kind="link",
                detail=f"prev_hash {row['prev_hash'][:12]}… is not the hash of {before} ({prev[:12]}…)",
                detail_da=f"prev_hash {row['prev_hash'][:12]}… er ikke hashen af {before_da} ({prev[:12]}…)",
            )
        )
    computed = event_hash(row, key)
    if computed != row["hash"]:
        found.append(
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
    if mark is not None and seq == mark[0] and (row["hash"] != mark[1] or computed != mark[1]):
        found.append(
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
    return found


def _head_breaks(
    heads: Mapping[int, tuple[int, str]], seen: Mapping[int, tuple[int, str]]
) -> list[ChainBreak]:
    """Engagement rows whose version and head are not where their log ends (or the reverse)."""
    found: list[ChainBreak] = []
    for eid, (version, head) in heads.items():
        last = seen.get(eid)
        if last is None:
            found.append(
                ChainBreak(
                    engagement_id=eid,
                    seq=None,
                    kind="head",
                    detail="no events at all",
                    detail_da="ingen hændelser overhovedet",
                )
            )
        elif last != (version, head):
            found.append(
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
        found.append(
            ChainBreak(
                engagement_id=eid,
                seq=None,
                kind="head",
                detail="events without an engagement row",
                detail_da="hændelser uden en række for forløbet",
            )
        )
    return found


def _mark_breaks(
    marks: Mapping[int, tuple[int, str]], seen: Mapping[int, tuple[int, str]]
) -> list[ChainBreak]:
    """What a checkpoint recorded that is no longer there (a cut tail, a missing engagement)."""
    found: list[ChainBreak] = []
    for eid, (mark_count, _head) in sorted(marks.items()):
        last = seen.get(eid)
        if last is None:
            found.append(
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
            found.append(
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
    return found


def erased_since(
    store: AuditStore, created: str, marks: Mapping[int, tuple[int, str]]
) -> dict[int, ChainBreak]:
    """The checkpoint's engagements erased since it was taken (access-log "delete" entries)."""
    if not marks:
        return {}
    try:
        since = parse_time(created)
    except InvalidData:
        since = None  # a checkpoint with an odd time: any erasure counts
    found: dict[int, ChainBreak] = {}
    for entry in store.list_access(AccessQuery(action="delete", since=since)):
        eid = entry["engagement_id"]
        if eid not in marks:
            continue
        facts = entry["criteria"] or {}
        if not _matches(facts, marks[eid]):
            # A deletion record that contradicts the checkpoint (fewer events
            # deleted than it recorded, or another head): not this chain's
            # erasure. The engagement stays a "missing" break.
            continue
        at = entry["occurred_at"].astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")
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


def _matches(facts: Mapping[str, Any], mark: tuple[int, str]) -> bool:
    """Whether a deletion record can be the erasure of a chain the checkpoint saw:
    a chain only grows, so at least as many events, and the same head if as many."""
    events, head = facts.get("events"), facts.get("head")
    if not isinstance(events, int) or events < mark[0]:
        return False
    return events > mark[0] or head == mark[1]


def checkpoint(store: AuditStore, key: bytes | None, now: datetime) -> dict[str, Any]:
    """A signed summary of every chain: each engagement's event count and head hash.

    Store it elsewhere (another machine, a mail to the data protection
    officer); ``verify(checkpoint=...)`` then detects events removed or
    rewritten since. Signed with HMAC-SHA256 under the audit key; without
    a key it carries a SHA-256 digest only, which anyone can recompute.
    """
    keyed_database(store, key)
    heads: dict[str, dict[str, Any]] = {}
    for row in store.chain():
        heads[str(row["engagement_id"])] = {"count": row["seq"], "head": row["hash"]}
    body = {
        "format": CHECKPOINT_FORMAT,
        "created_at": now.isoformat(),
        "keyed": key is not None,
        "engagements": heads,
        # The access log's chains where they end now (and the boundary of the
        # entries from before them): entries up to here must stay as they are,
        # or be removed by a purge that says so.
        "access_chains": {
            name: {"count": seq, "head": head} for name, (seq, head) in store.access_chain_heads().items()
        },
    }
    digest = _digest(body)
    signature = hmac.new(key, digest.encode(), hashlib.sha256).hexdigest() if key else None
    return {**body, "digest": digest, "signature": signature}


def read_checkpoint(
    checkpoint: Mapping[str, Any], key: bytes | None, keyed_db: bool = False
) -> tuple[str, dict[int, tuple[int, str]], list[ChainBreak], list[str], dict[str, tuple[int, str]]]:
    """(created_at, engagement marks, breaks, warnings, access-log chain marks)."""
    try:
        keys: tuple[str, ...] = ("format", "created_at", "keyed", "engagements")
        if "access_chains" in checkpoint:
            keys += ("access_chains",)
        body = {k: checkpoint[k] for k in keys}
        marks = {int(eid): (int(v["count"]), str(v["head"])) for eid, v in dict(body["engagements"]).items()}
        access = {
            str(name): (int(v["count"]), str(v["head"]))
            for name, v in dict(body.get("access_chains") or {}).items()
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
                        detail="the checkpoint's signature is wrong (another key, or the file was edited)",
                        detail_da="kontrolpunktets signatur er forkert "
                        "(en anden nøgle, eller filen er redigeret)",
                    )
                )
    elif keyed_db or checkpoint.get("keyed") is True:
        # A keyed database's checkpoints are signed: an unsigned one (a signature
        # removed and the digest recomputed) proves nothing (H5).
        breaks.append(
            ChainBreak(
                engagement_id=None,
                seq=None,
                kind="signature",
                detail="the checkpoint is unsigned, but the database is keyed: anyone could have "
                "written it (a keyed database's checkpoints are signed)",
                detail_da="kontrolpunktet er usigneret, men databasen er nøglet: enhver kunne have "
                "skrevet det (en nøglet databases kontrolpunkter er signerede)",
            )
        )
    else:
        warnings.append("the checkpoint is unsigned (no audit key): anyone could have rewritten it")
    return str(body["created_at"]), marks, breaks, warnings, access


__all__ = ["CHECKPOINT_FORMAT", "ChainBreak", "VerifyReport", "checkpoint", "read_checkpoint", "verify"]
