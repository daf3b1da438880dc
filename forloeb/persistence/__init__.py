"""Storage: tables, the SQL store and the Alembic migrations.

Knows rows, not the engine: nothing here imports from ``forloeb.engine``.
"""

from ._sql import DEFAULT_URL, SqlStore, normalize_url, safe_url, sqlite_file_missing
from ._tables import SCHEMA_HEAD, metadata
from .base import (
    AccessQuery,
    AuditStore,
    EngagementFilter,
    EventQuery,
    ReadTransaction,
    ReminderFilter,
    Row,
    Store,
    StoreBusy,
    StoreError,
    StoreFault,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
    Visibility,
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
    "StoreBusy",
    "StoreError",
    "StoreFault",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
    "Visibility",
    "WriteConflict",
    "WriteTransaction",
    "metadata",
    "normalize_url",
    "safe_url",
    "sqlite_file_missing",
]
