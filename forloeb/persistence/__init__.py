"""Storage: tables, the SQL store and the Alembic migrations.

Knows rows, not the engine: nothing here imports from ``forloeb.engine``.
"""

from ._audit import AccessQuery, AuditStore, EventQuery, Visibility
from ._sql import DEFAULT_URL, SqlStore, normalize_url, safe_url, sqlite_file_missing
from ._tables import SCHEMA_HEAD, metadata
from .base import (
    EngagementFilter,
    ReadTransaction,
    ReminderFilter,
    Row,
    Store,
    StoreError,
    StoreUnavailable,
    WriteConflict,
    WriteTransaction,
)

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_HEAD",
    "AccessQuery",
    "AuditStore",
    "EngagementFilter",
    "EventQuery",
    "ReadTransaction",
    "ReminderFilter",
    "Row",
    "SqlStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Visibility",
    "WriteConflict",
    "WriteTransaction",
    "metadata",
    "normalize_url",
    "safe_url",
    "sqlite_file_missing",
]
