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
