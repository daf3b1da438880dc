"""The access log as hash chains: what an entry's hash covers, and appending.

Every entry is appended to one of two chains by its retention class:

* ``access`` — reads, searches, exports, refused attempts: kept for the
  access log's own retention (months, ``FORLOEB_ACCESS_LOG_DAYS``);
* ``records`` — erasures (``delete``), purges of this log and changes to the
  staff register: kept as long as the chains they explain (years,
  ``FORLOEB_RECORDS_YEARS``; default 5, KL's retention of a closed case).

Two chains rather than one because a purge may only ever remove a *prefix* of
a chain: keeping the deletion records while removing the reads around them
would punch holes in a single chain that nobody could tell from tampering.
A purge records what it removed (through which seq, and that entry's hash)
as a ``records`` entry, so verify knows where the remaining chain must start.

An entry's hash is SHA-256 (HMAC-SHA256 with the audit key) over a canonical
JSON of its fields and its predecessor's hash, as for events (``_chain``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..persistence import WriteTransaction
from ._chain import canonical_time

ACCESS = "access"
RECORDS = "records"
CHAINS = (ACCESS, RECORDS)
PURGE = "purge_access_log"
# Actions whose entries explain the event chains or the register: kept long.
LASTING_ACTIONS = frozenset({"delete", PURGE, "staff_add", "staff_update", "staff_deactivate"})

HASHED_FIELDS = (
    "chain",
    "seq",
    "occurred_at",
    "actor",
    "role",
    "action",
    "engagement_id",
    "subject",
    "criteria",
    "purpose",
    "shown",
    "impersonator",
    "prev_hash",
)


def chain_of(action: str) -> str:
    return RECORDS if action in LASTING_ACTIONS else ACCESS


def access_hash(entry: Mapping[str, Any], key: bytes | None) -> str:
    body = {k: entry.get(k) for k in HASHED_FIELDS}
    body["occurred_at"] = canonical_time(entry["occurred_at"])
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def append(tx: WriteTransaction, entries: Sequence[Mapping[str, Any]], key: bytes | None) -> None:
    """Chain ``entries`` (in order) onto their chains, in ``tx``.

    Locks each chain's head until ``tx`` ends: appends to one chain are
    serialised, which is what makes the chain a chain on several processes.
    """
    by_chain: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_chain.setdefault(chain_of(entry["action"]), []).append(entry)
    # A fixed order of locking: two transactions never wait for each other's chain.
    for chain in CHAINS:
        rows = by_chain.get(chain)
        if not rows:
            continue
        seq, head = tx.lock_access_chain(chain)
        for entry in rows:
            seq += 1
            values = {
                "engagement_id": None,
                "subject": None,
                "criteria": None,
                "purpose": None,
                "shown": None,
                "impersonator": None,
                **entry,
                "chain": chain,
                "seq": seq,
                "prev_hash": head,
            }
            values["hash"] = head = access_hash(values, key)
            tx.insert_access(values)
        tx.move_access_chain(chain, seq, head)


__all__ = [
    "ACCESS",
    "CHAINS",
    "HASHED_FIELDS",
    "LASTING_ACTIONS",
    "PURGE",
    "RECORDS",
    "access_hash",
    "append",
    "chain_of",
]
