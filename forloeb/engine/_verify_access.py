"""Integrity of the access log: walk its chains as ``_verify`` walks the events'.

Each chain (``_access_log``) must be gapless from where its last purge says
it starts (the ``purge_access_log`` record names the seq and hash it removed
through) to where its head row says it ends; every entry must hash to what is
stored and link to its predecessor. An entry outside the chains written after
they began (an ``INSERT`` by hand, a forged deletion record) is a break; the
entries from before the chains are counted and named in a warning. With a
checkpoint, what it recorded of each chain must still be there, or have been
removed by a recorded purge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..persistence import AuditStore, Row
from ._access_log import CHAINS, PURGE, RECORDS, access_hash
from ._chain import GENESIS
from ._verify import ChainBreak


@dataclass
class _Walk:
    """What one chain's walk found."""

    first: Row | None = None
    last: tuple[int, str] | None = None
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash, only of marked seqs
    count: int = 0


def verify_access(
    store: AuditStore, key: bytes | None, marks: Mapping[str, tuple[int, str]] | None = None
) -> tuple[list[ChainBreak], int, list[tuple[str, str]]]:
    """(breaks, entries checked, warnings as (English, Danish))."""
    heads = store.access_chain_heads()
    legacy_max = heads.pop("legacy", (0, ""))[0]
    marks = dict(marks or {})
    marks.pop("legacy", None)
    breaks: list[ChainBreak] = []
    anchors: dict[str, tuple[int, str]] = {}
    walks: dict[str, _Walk] = {}
    # The records chain first: its purge records say where each chain starts.
    for chain in sorted(CHAINS, key=lambda c: c != RECORDS):
        walk = walks[chain] = _Walk()
        mark = marks.get(chain)
        prev: Row | None = None
        for row in store.access_chain(chain):
            walk.count += 1
            breaks += _entry_breaks(chain, row, prev, key)
            if walk.first is None:
                walk.first = row
            if mark is not None and row["seq"] == mark[0]:
                walk.hashes[row["seq"]] = row["hash"]
            if chain == RECORDS and row["action"] == PURGE:
                facts = row["criteria"] or {}
                through = facts.get("through_seq"), facts.get("through_hash")
                if isinstance(through[0], int) and isinstance(through[1], str):
                    anchors[str(facts.get("chain"))] = (through[0], through[1])
            prev = row
        if prev is not None:
            walk.last = (prev["seq"], prev["hash"])
    for chain, walk in walks.items():
        anchor = anchors.get(chain, (0, GENESIS))
        breaks += _start_breaks(chain, walk, anchor)
        breaks += _head_breaks(chain, walk, anchor, heads.get(chain))
        if chain in marks:
            breaks += _mark_breaks(chain, walk, anchor, marks[chain])
    warnings: list[tuple[str, str]] = []
    legacy = 0
    for row in store.unchained_access():
        if row["id"] <= legacy_max:
            legacy += 1
            continue
        breaks.append(
            ChainBreak(
                engagement_id=None,
                seq=None,
                kind="unchained",
                chain="-",
                detail=f"entry id {row['id']} ({row['action']} by {row['actor']}) is outside the chains: "
                "written outside forloeb",
                detail_da=f"post id {row['id']} ({row['action']} af {row['actor']}) er uden for kæderne: "
                "skrevet uden om forloeb",
            )
        )
    if legacy:
        warnings.append(
            (
                f"{legacy} access-log entries from before the chains (schema 0008) are not covered",
                f"{legacy} poster i adgangsloggen fra før kæderne (skema 0008) er ikke dækket",
            )
        )
    return breaks, sum(w.count for w in walks.values()), warnings


def _entry_breaks(chain: str, row: Row, prev: Row | None, key: bytes | None) -> list[ChainBreak]:
    found: list[ChainBreak] = []
    seq = row["seq"]
    if prev is not None and seq != prev["seq"] + 1:
        found.append(
            _break(
                chain,
                seq,
                "gap",
                f"seq {prev['seq'] + 1}–{seq - 1} missing",
                f"nr. {prev['seq'] + 1}–{seq - 1} mangler",
            )
        )
    if prev is not None and row["prev_hash"] != prev["hash"]:
        found.append(
            _break(
                chain,
                seq,
                "link",
                f"prev_hash {str(row['prev_hash'])[:12]}… is not the hash of seq {prev['seq']}",
                f"prev_hash {str(row['prev_hash'])[:12]}… er ikke hashen af nr. {prev['seq']}",
            )
        )
    if access_hash(row, key) != row["hash"]:
        found.append(
            _break(
                chain,
                seq,
                "hash",
                "the entry's content (actor, action, subject, time …) was changed"
                + ("" if key else " (or it was written with an audit key)"),
                "postens indhold (aktør, handling, borger, tidspunkt …) er ændret"
                + ("" if key else " (eller den er skrevet med en audit-nøgle)"),
            )
        )
    return found


def _start_breaks(chain: str, walk: _Walk, anchor: tuple[int, str]) -> list[ChainBreak]:
    first = walk.first
    if first is None or (first["seq"] == anchor[0] + 1 and first["prev_hash"] == anchor[1]):
        return []
    return [
        _break(
            chain,
            first["seq"],
            "gap",
            f"the chain starts at seq {first['seq']}, but the last recorded purge removed "
            f"through seq {anchor[0]}: entries removed without a purge, or the first one changed",
            f"kæden begynder ved nr. {first['seq']}, men den seneste registrerede oprydning fjernede "
            f"til og med nr. {anchor[0]}: poster fjernet uden oprydning, eller den første er ændret",
        )
    ]


def _head_breaks(
    chain: str, walk: _Walk, anchor: tuple[int, str], head: tuple[int, str] | None
) -> list[ChainBreak]:
    end = walk.last or anchor
    if head is None:
        head = (0, GENESIS)
    if head == end:
        return []
    return [
        _break(
            chain,
            end[0],
            "head",
            f"the chain's head says seq {head[0]}, the entries end at seq {end[0]} "
            "(entries removed from the end, or added outside forloeb)",
            f"kædens hoved siger nr. {head[0]}, posterne slutter ved nr. {end[0]} "
            "(poster fjernet fra enden, eller tilføjet uden om forloeb)",
        )
    ]


def _mark_breaks(chain: str, walk: _Walk, anchor: tuple[int, str], mark: tuple[int, str]) -> list[ChainBreak]:
    seq, head = mark
    if seq <= anchor[0]:
        return []  # removed since by a recorded purge
    found = walk.hashes.get(seq)
    if found == head:
        return []
    detail = f"the checkpoint recorded seq {seq} with hash {head[:12]}…; " + (
        "it is gone" if found is None else f"it now has {found[:12]}…"
    )
    detail_da = f"kontrolpunktet registrerede nr. {seq} med hash {head[:12]}…; " + (
        "den er væk" if found is None else f"den har nu {found[:12]}…"
    )
    return [_break(chain, seq, "checkpoint", detail, detail_da)]


def _break(chain: str, seq: int | None, kind: Any, detail: str, detail_da: str) -> ChainBreak:
    return ChainBreak(engagement_id=None, seq=seq, kind=kind, chain=chain, detail=detail, detail_da=detail_da)


__all__ = ["verify_access"]
