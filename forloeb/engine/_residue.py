"""After an erasure: the deleted data off the disk, as far as the database can (issue 12, M5).

A committed ``DELETE`` is not yet gone from the disk: SQLite's WAL still
holds the pages as they were before it (``secure_delete`` zeroes the content
in the database's own pages), and PostgreSQL keeps dead row versions until
VACUUM. :func:`leave_no_residue` asks the store to finish the job once the
erasure's transactions have committed. What it cannot reach (backups,
replicas, WAL archives, the file system's own free blocks) the README's
"Storage notes" name.
"""

from __future__ import annotations

from ..persistence import Store
from ._logging import get_logger

_log = get_logger()


def leave_no_residue(store: Store) -> bool:
    """Checkpoint (SQLite) or VACUUM (PostgreSQL) after committed deletions; True when done.

    Never raises for what keeps it from finishing (a long reader, a timeout):
    the erasure stands and is recorded; a warning in the log says what is left
    for the next erasure, or for an operator, to clear."""
    reason = store.scrub()
    if reason is not None:
        _log.warning("erasure_residue_left", reason=reason)
    return reason is None


__all__ = ["leave_no_residue"]
