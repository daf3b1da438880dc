"""The storage contract the engine is written against.

A store knows rows (plain mappings of column name to value) and transactions;
it knows nothing of workflows, guards or the engine. ``SqlStore`` implements
it for SQLite and PostgreSQL with SQLAlchemy Core.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._audit import AuditStore

Row = Mapping[str, Any]


class StoreError(Exception):
    """Base of the store's own errors; the engine translates them, they never escape it."""


class WriteConflict(StoreError):
    """A concurrent writer got there first (unique key or version check)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached."""


@dataclass(frozen=True, kw_only=True)
class EngagementFilter:
    workflow: str | None = None
    state: str | None = None
    assignee: str | None = None
    supervisor: str | None = None
    team: str | None = None
    tag: str | None = None
    subject: str | None = None
    due_before: datetime | None = None
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class ReminderFilter:
    supervisor: str | None = None
    assignee: str | None = None
    engagement_id: int | None = None
    open_only: bool = False


class ReadTransaction(ABC):
    """A consistent read of the database (one transaction)."""

    @abstractmethod
    def get_engagement(self, engagement_id: int) -> Row | None: ...

    @abstractmethod
    def events(self, engagement_id: int) -> list[Row]:
        """Every event of the engagement, by seq."""

    @abstractmethod
    def list_engagements(self, where: EngagementFilter) -> list[Row]: ...

    @abstractmethod
    def due_engagements(
        self, now: datetime, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[tuple[int, datetime]]:
        """(id, next_reminder_at) of engagements with a reminder due at ``now``,
        by that time then id, starting after the key ``after``: a range scan on
        the indexed column."""

    @abstractmethod
    def get_reminder(self, reminder_id: int) -> Row | None: ...

    @abstractmethod
    def list_reminders(self, where: ReminderFilter) -> list[Row]: ...

    @abstractmethod
    def final_before(
        self, states: Sequence[str], before: datetime, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[Row]:
        """Engagements in one of ``states`` last changed (``updated_at``) before
        ``before``: id, workflow, workflow_version, state, subject, version and
        updated_at, by updated_at then id, starting after the key ``after``."""

    # -- outbox delivery (implemented in _outbox.py) --

    @abstractmethod
    def list_outbox(self, status: str | None = None, limit: int | None = None) -> list[Row]:
        """Outbox messages by id, optionally of one status (pending, delivered, dead)."""

    @abstractmethod
    def outbox_attempts(self, outbox_id: int) -> list[Row]:
        """The delivery attempts of one message, in order."""

    @abstractmethod
    def open_reminders_of_current_stages(self) -> list[Row]:
        """Unacknowledged reminders of each engagement's current stage, with its
        supervisor, assignee, team, workflow and workflow_version."""

    @abstractmethod
    def outbox_counts(self) -> dict[str, int]:
        """Messages per status."""

    @abstractmethod
    def count_finished_outbox(self, before: datetime) -> int:
        """Finished (delivered or dead) messages created before ``before``."""


class WriteTransaction(ABC):
    """One write transaction; all or nothing. Holds the engagement's write lock
    from :meth:`lock_engagement` until it ends."""

    @abstractmethod
    def lock_engagement(self, engagement_id: int) -> Row | None:
        """The engagement row, locked against other writers until the end."""

    @abstractmethod
    def get_idempotency(self, key: str) -> Row | None: ...

    @abstractmethod
    def insert_engagement(self, values: Mapping[str, Any]) -> int: ...

    @abstractmethod
    def update_engagement(self, engagement_id: int, expected_version: int, values: Mapping[str, Any]) -> bool:
        """Update only if the row is still at ``expected_version``; False otherwise."""

    @abstractmethod
    def insert_tags(self, engagement_id: int, tags: Sequence[str]) -> None: ...

    @abstractmethod
    def insert_event(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def insert_idempotency(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def insert_access(self, values: Mapping[str, Any]) -> None:
        """An access-log entry in this transaction (an export is an event and an entry)."""

    @abstractmethod
    def lock_engagement_if_free(self, engagement_id: int) -> Row | None:
        """Like :meth:`lock_engagement`, but None at once when another
        transaction holds the row (``SKIP LOCKED``): a sweeper moves on."""

    @abstractmethod
    def get_reminder(self, reminder_id: int) -> Row | None: ...

    @abstractmethod
    def reminders_of_entry(self, engagement_id: int, stage_entered_at: datetime) -> list[Row]:
        """The reminders raised for one stage entry (or review period), by level."""

    @abstractmethod
    def insert_reminder(self, values: Mapping[str, Any]) -> int | None:
        """Insert unless (engagement, stage entry, level) exists; the new id, or None."""

    @abstractmethod
    def update_reminder(self, reminder_id: int, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def insert_outbox(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def delete_engagement(self, engagement_id: int) -> dict[str, int]:
        """Delete the engagement and every row that belongs to it (events, tags,
        idempotency keys, reminders, their outbox messages and attempts): a real
        DELETE. Rows deleted per table. The access log is not touched."""

    # -- outbox delivery (implemented in _outbox.py) --

    @abstractmethod
    def claim_outbox(
        self, now: datetime, lease_until: datetime, limit: int, channels: Sequence[str]
    ) -> list[Row]:
        """Up to ``limit`` pending messages on ``channels`` due at ``now``, their next
        attempt moved to ``lease_until`` (the claim); rows another transaction holds
        are skipped."""

    @abstractmethod
    def lock_outbox(self, outbox_id: int) -> Row | None: ...

    @abstractmethod
    def update_outbox(self, outbox_id: int, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def insert_outbox_attempt(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def insert_outbox_if_new(self, values: Mapping[str, Any]) -> bool:
        """Insert unless the message_id exists; True when inserted."""

    @abstractmethod
    def purge_finished_outbox(self, before: datetime, limit: int) -> dict[str, int]:
        """Delete up to ``limit`` finished (delivered or dead) messages created
        before ``before``, oldest first, and their attempts; rows deleted per
        table (``outbox``, ``outbox_attempts``). Pending messages are never touched."""


class Store(ABC):
    """A database holding engagements, their events and idempotency keys."""

    @abstractmethod
    def audit(self) -> AuditStore:
        """Audit queries, chain scans and the access log (see ``_audit.py``)."""

    url: str
    dialect: str

    @abstractmethod
    def read(self) -> AbstractContextManager[ReadTransaction]:
        """A read transaction (a consistent snapshot)."""

    @abstractmethod
    def write(self) -> AbstractContextManager[WriteTransaction]:
        """A write transaction: committed when the block ends, rolled back on an error."""

    @abstractmethod
    def schema_revision(self) -> str | None:
        """The migration revision the database is at (None when it has no schema)."""

    @abstractmethod
    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""

    @abstractmethod
    def row_counts(self) -> dict[str, int]:
        """Rows per table: what tests compare to prove nothing was written."""

    @abstractmethod
    def close(self) -> None: ...
