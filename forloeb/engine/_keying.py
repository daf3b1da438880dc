"""Whether a database's chains are keyed, recorded in the database (issue 12, M7).

With an audit key every event and access-log entry is hashed with
HMAC-SHA256: only key holders can rewrite a chain consistently. Before this,
nothing in the database said that it was keyed, so a process started without
the key (or with a typo in it) wrote plain SHA-256 events into keyed chains,
and `audit verify` without the key called a plain-SHA-256 forgery intact and
the genuine chains broken.

Now the ``settings`` table holds ``audit_key``: ``{"keyed": true, "check":
<key check value>}`` or ``{"keyed": false}``. The key check value is an HMAC
of a fixed label under the key (the banking world's KCV): it tells a right
key from a wrong one and reveals nothing about the key. The first write of a
process compares its key with the record (once per process) and refuses,
with one clear line, when they do not fit; a database without a record gets
one in the same transaction as its first write: from the process's key when
the database has no events yet, else from the key its first event verifies
under (a database from before this revision), and refused when neither fits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..persistence import WriteTransaction
from ._chain import event_hash
from ._errors import AuditKeyError

SETTING = "audit_key"
_LABEL = b"forloeb audit key check value/1"


def key_check(key: bytes) -> str:
    """The key check value of ``key``: 128 bits of HMAC-SHA256 over a fixed label."""
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:32]


def record_for(key: bytes | None) -> dict[str, Any]:
    """What the database records for a process keyed with ``key`` (or not)."""
    return {"keyed": True, "check": key_check(key)} if key else {"keyed": False}


def check(recorded: Any, key: bytes | None, action: str = "write") -> None:
    """Raise AuditKeyError when ``key`` does not fit what the database records."""
    if not isinstance(recorded, Mapping):
        return  # nothing recorded (yet): the caller decides
    if recorded.get("keyed"):
        if not key:
            raise AuditKeyError("missing", action)
        if not hmac.compare_digest(str(recorded.get("check", "")), key_check(key)):
            raise AuditKeyError("mismatch", action)
    elif key:
        raise AuditKeyError("unexpected", action)


def infer(first_event: Mapping[str, Any] | None, key: bytes | None) -> dict[str, Any]:
    """The record for a database that has none: the process's own when there is
    no event yet or the first event verifies under its key; else refused."""
    if first_event is None or event_hash(first_event, key) == first_event["hash"]:
        return record_for(key)
    if key and event_hash(first_event, None) == first_event["hash"]:
        raise AuditKeyError("unexpected")
    raise AuditKeyError("mismatch" if key else "missing")


def ensure(tx: WriteTransaction, key: bytes | None, clock: Callable[[], datetime]) -> bool:
    """Refuse (AuditKeyError) when ``key`` does not fit the database; record it in
    ``tx`` when the database has no record. True once the record was found and fits
    (the caller need not ask again); False when it was recorded in ``tx``, which may
    still roll back."""
    recorded = tx.setting(SETTING)
    if recorded is None:
        tx.put_setting(SETTING, infer(tx.first_event(), key), clock())
        # Another process may have recorded it first (the insert then does
        # nothing, after waiting for that process on PostgreSQL): what stands
        # now is what this write must fit.
        check(tx.setting(SETTING), key)
        return False
    check(recorded, key)
    return True


__all__ = ["SETTING", "check", "ensure", "infer", "key_check", "record_for"]
