"""The per-engagement hash chain over a canonical encoding of each event.

Canonical: JSON with sorted keys, no whitespace, UTF-8 (not ASCII-escaped),
times as ISO 8601 UTC with microseconds. With a key the digest is
HMAC-SHA256, so only key holders can rewrite a chain consistently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The fields that are hashed, in the order a reader would list them.
HASHED_FIELDS = (
    "engagement_id",
    "seq",
    "type",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "role",
    "payload",
    "occurred_at",
    "prev_hash",
)


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    body = {k: event[k] for k in HASHED_FIELDS}
    body["occurred_at"] = canonical_time(body["occurred_at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Mapping[str, Any], key: bytes | None) -> str:
    data = canonical_bytes(event)
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


# The engagement row's columns that its events decide (issue 12, H4). Every
# event written by a command carries, in its payload under ROW_HASH, the
# SHA-256 of these columns as the command left them; the event's own hash
# (HMAC under the audit key) covers that digest, so `audit verify` can tell a
# row edited behind forloeb's back (a state, a team, a forged consent in the
# data) from one its log explains. Operational columns (due times, the
# reminder ladder, updated_at) are not decisions and are not covered.
ROW_FIELDS = (
    "workflow",
    "workflow_version",
    "state",
    "paused_from",
    "closed_from",
    "cycle",
    "subject",
    "source",
    "assignee",
    "supervisor",
    "team",
    "tags",
    "data",
    "outcome",
    # The reporting attributes (issue 13): set by "reporting" events.
    "person_key",
    "age_band",
    "gender",
    "afdeling",
)
ROW_HASH = "row_hash"


def row_hash(row: Mapping[str, Any]) -> str:
    """The digest of an engagement row's decided columns (canonical JSON, SHA-256)."""
    body = {k: row.get(k) for k in ROW_FIELDS}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    ).hexdigest()
