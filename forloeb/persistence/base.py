"""The storage contract the engine is written against.

A store knows rows (plain mappings of column name to value) and transactions;
it knows nothing of workflows, guards or the engine. ``SqlStore`` implements
it for SQLite and PostgreSQL with SQLAlchemy Core.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

Row = Mapping[str, Any]


class StoreError(Exception):
    """Base of the store's own errors; the engine translates them, they never escape it."""


class WriteConflict(StoreError):
    """A concurrent writer got there first (unique key or version check)."""


class StoreFault(StoreError):
    """The database could not do what was asked, for a reason outside the data:
    gone, busy, out of space or read-only. Raised by reads and writes alike; a
    write that raises it has written nothing (its transaction was rolled back).

    ``reason`` names the kind, so that a caller can translate without
    importing the subclasses (the engine's ``database_error`` does).
    """

    reason: ClassVar[str] = "unavailable"


class StoreUnavailable(StoreFault):
    """The database cannot be reached (a server gone, a connection cut, no
    answer within the statement timeout), or a file that cannot be opened."""

    reason = "unavailable"


class StoreBusy(StoreFault):
    """Another writer held the database past the busy timeout (SQLite's
    ``database is locked``), or a statement or lock wait hit its timeout on
    the server; worth retrying later."""

    reason = "busy"


class StoreFull(StoreFault):
    """No room to write: the disk (or the database's size limit) is full."""

    reason = "full"


class StoreReadOnly(StoreFault):
    """The database can only be read: a read-only file, folder or mount, or a
    read-only server (a hot standby)."""

    reason = "read_only"


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
    # Superseded by the keyset cursors below (an offset reads and drops every
    # row before the page); kept for callers that still page by offset.
    offset: int = 0
    # "id": by id, the primary key's order. "due": by (stage_due_at, id), the
    # order the due-time index serves (engagements without a due time are
    # left out); what a stale listing wants.
    order: Literal["id", "due"] = "id"
    # Keyset paging: the page starts after this key of the previous page's
    # last row: its id (order "id"), or (stage_due_at, id) (order "due").
    after_id: int | None = None
    after_due: tuple[datetime, int] | None = None
    # Only the engagements this reader may see (the engine's one rule,
    # ``forloeb.engine._access``); None: every engagement (internal reads).
    visibility: Visibility | None = None


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

    # -- the staff register (implemented in _register.py) --

    @abstractmethod
    def get_staff(self, staff_id: str) -> Row | None:
        """The register entry ``staff_id`` (roles and teams as lists), or None."""

    @abstractmethod
    def get_staff_by_login(self, login: str) -> Row | None:
        """The register entry whose OS login name is ``login``, or None."""

    @abstractmethod
    def list_staff(self) -> list[Row]:
        """Every register entry, by id."""

    # -- API tokens of the HTTP API (implemented in _tokens.py) --

    @abstractmethod
    def get_api_token(self, token_id: str) -> Row | None:
        """The token whose public id (prefix) is ``token_id``, or None."""

    @abstractmethod
    def get_api_token_staff(self, staff_id: str) -> Row | None:
        """The staff entry ``staff_id`` (as :meth:`get_staff`; the token lookup's own statement)."""

    @abstractmethod
    def list_api_tokens(self, staff_id: str | None = None) -> list[Row]:
        """Every token (or one staff member's), by creation time."""

    # -- logins of the web console (implemented in _logins.py) --

    @abstractmethod
    def get_staff_password(self, staff_id: str) -> Row | None:
        """The password row of ``staff_id`` (its hash, failed attempts, lockout), or None."""

    @abstractmethod
    def get_web_session(self, session_id: str) -> Row | None:
        """The web session whose id (the digest of its secret) is ``session_id``, or None."""

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

    # -- caseload, intake and reports (implemented in _reporting.py) --

    @abstractmethod
    def report_events(
        self,
        until: datetime,
        *,
        types: Collection[str],
        detail_states: Collection[str],
        since: datetime | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Events before ``until`` by engagement then seq, as tuples (see _reporting)."""

    @abstractmethod
    def report_time(self, value: datetime) -> Any:
        """``value`` in the form ``report_events`` gives times."""

    @abstractmethod
    def report_datetime(self, value: Any) -> datetime:
        """A time of ``report_events`` as an aware datetime."""

    @abstractmethod
    def open_load(self, now: datetime, visibility: Visibility) -> list[Row]:
        """Open engagements per (assignee, team): open, overdue, oldest, quietest."""

    @abstractmethod
    def unassigned(self, visibility: Visibility, team: str | None, limit: int | None) -> list[Row]:
        """The intake: open engagements without an assignee, oldest first."""

    @abstractmethod
    def person_key_used(self, key: str) -> bool:
        """Whether an engagement carries the person key."""


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
    def replace_tags(self, engagement_id: int, tags: Sequence[str]) -> None:
        """Replace the engagement's rows in the tag table with ``tags``."""

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

    # -- the staff register and the access log's chains (implemented in _register.py) --

    @abstractmethod
    def get_staff(self, staff_id: str) -> Row | None:
        """The register entry ``staff_id`` as this transaction sees it (a command
        resolves its actor here, in its own transaction)."""

    @abstractmethod
    def get_staff_by_login(self, login: str) -> Row | None: ...

    @abstractmethod
    def list_staff(self) -> list[Row]: ...

    @abstractmethod
    def lock_staff(self, staff_id: str) -> Row | None:
        """The register entry, locked against other writers until the end."""

    @abstractmethod
    def insert_staff(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def update_staff(self, staff_id: str, values: Mapping[str, Any]) -> None: ...

    # -- API tokens (implemented in _tokens.py) --

    @abstractmethod
    def lock_api_token(self, token_id: str) -> Row | None:
        """The token row, locked against other writers until the end."""

    @abstractmethod
    def insert_api_token(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def revoke_api_token(self, token_id: str, values: Mapping[str, Any]) -> None:
        """Set ``revoked_at`` and ``revoked_by``."""

    # -- logins of the web console (implemented in _logins.py) --

    @abstractmethod
    def lock_staff_password(self, staff_id: str) -> Row | None:
        """The password row, locked against other writers until the end."""

    @abstractmethod
    def put_staff_password(self, values: Mapping[str, Any]) -> None:
        """Insert or replace a password (hash, changed_at, changed_by); lifts a lockout."""

    @abstractmethod
    def update_staff_password(self, staff_id: str, values: Mapping[str, Any]) -> None:
        """Set columns of a password row (failed attempts, lockout, a rehash)."""

    @abstractmethod
    def insert_web_session(self, values: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def update_web_session(self, session_id: str, values: Mapping[str, Any]) -> bool:
        """Set ``lang``, ``last_seen_at`` or ``expires_at``; False if the session is gone."""

    @abstractmethod
    def delete_web_session(self, session_id: str) -> str | None:
        """Delete a session; the staff id it belonged to, or None if there was none."""

    @abstractmethod
    def delete_expired_web_sessions(self, now: datetime) -> int:
        """Delete the sessions expired at ``now``; how many."""

    @abstractmethod
    def setting(self, name: str) -> Any | None:
        """A value the database keeps about itself (the ``settings`` table), or None."""

    @abstractmethod
    def put_setting(self, name: str, value: Any, at: datetime) -> None:
        """Record ``name`` unless it is recorded already (the first writer decides)."""

    @abstractmethod
    def consent_events(self, engagement_id: int) -> list[Row]:
        """The engagement's consent_given and consent_withdrawn events, by seq."""

    @abstractmethod
    def first_event(self) -> Row | None:
        """The oldest event of the database, or None when there is none."""

    @abstractmethod
    def lock_access_chain(self, chain: str) -> tuple[int, str]:
        """The (seq, hash) of the chain's last entry ((0, genesis) for a new chain),
        locked until the transaction ends: one appender per chain at a time."""

    @abstractmethod
    def move_access_chain(self, chain: str, seq: int, head: str) -> None:
        """Record the chain's new last entry."""

    @abstractmethod
    def access_prefix(self, chain: str, before: datetime) -> tuple[int, str] | None:
        """The (seq, hash) of the last entry of the chain's longest prefix whose
        entries all occurred before ``before``; None when that prefix is empty."""

    @abstractmethod
    def count_access_through(self, chain: str, seq: int) -> int:
        """Entries of the chain with a seq up to ``seq``."""

    @abstractmethod
    def delete_access_through(self, chain: str, seq: int) -> int:
        """Delete the chain's entries up to ``seq`` (a prefix); the number deleted."""

    @abstractmethod
    def purge_legacy_access(self, before: datetime, lasting: bool, dry_run: bool) -> int:
        """Delete (``dry_run``: count) the entries from before the chains that
        occurred before ``before``: the deletion records (``lasting``) or the rest."""

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


# -- the audit store (implemented in _audit.py) ---------------------------------


@dataclass(frozen=True, kw_only=True)
class Visibility:
    """Which engagements a reader may see: all, or those of ``teams``, those
    assigned to ``assignee`` and (``unrouted``) those without a team. Built by the engine's one access rule
    (``forloeb.engine._access``); the store only turns it into SQL."""

    all: bool
    teams: frozenset[str] = frozenset()
    assignee: str | None = None
    unrouted: bool = False


@dataclass(frozen=True, kw_only=True)
class EventQuery:
    engagement_id: int | None = None
    workflow: str | None = None
    actor: str | None = None
    type: str | None = None
    trigger: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tag: str | None = None
    team: str | None = None
    visibility: Visibility = field(default_factory=lambda: Visibility(all=True))
    descending: bool = False
    # Keyset paging: (occurred_at, events.id) of the last row of the previous page.
    after: tuple[datetime, int] | None = None
    limit: int | None = None


@dataclass(frozen=True, kw_only=True)
class AccessQuery:
    """Access-log entries matching every filter given. ``subject`` and
    ``engagement_id`` also match a page entry that showed them (see
    :meth:`AuditStore.insert_access_page`)."""

    subject: str | None = None
    actor: str | None = None
    engagement_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    # e.g. "delete": verify looks up the erasures since a checkpoint.
    action: str | None = None
    # (occurred_at, id) of the last entry of the page before: entries after it.
    after: tuple[datetime, int] | None = None


class AuditStore(ABC):
    """What the audit part of the engine needs from storage."""

    @abstractmethod
    def query_events(self, where: EventQuery) -> list[Row]:
        """Events with their engagement's workflow, team and subject, in time order."""

    @abstractmethod
    def chain(self, engagement_id: int | None = None) -> Iterator[Row]:
        """Every event (of one engagement, or all) by engagement then seq, streamed."""

    @abstractmethod
    def heads(self, engagement_id: int | None = None) -> dict[int, tuple[int, str]]:
        """Engagement id -> (version, head_hash) as the engagements table holds them."""

    @abstractmethod
    def engagement_rows(self, ids: Sequence[int]) -> dict[int, Row]: ...

    @abstractmethod
    def insert_access(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append access-log entries in a transaction of their own."""

    @abstractmethod
    def insert_access_page(self, entry: Mapping[str, Any], shown: Sequence[Mapping[str, Any]]) -> None:
        """Append ONE access-log entry for a page of a listing or search:
        ``entry`` holds occurred_at, actor, role, action, criteria and purpose;
        ``shown`` names what the page showed, as ``{"id": …, "subject": …}``
        per engagement (kept in the entry's ``shown`` column). A page costs one
        row however many engagements it shows, and a subject's access request
        still finds it (:class:`AccessQuery`)."""

    @abstractmethod
    def list_access(self, where: AccessQuery) -> list[Row]: ...

    @abstractmethod
    def purge_access(self, before: datetime) -> int:
        """Delete access-log entries older than ``before``; the number deleted.
        Raw: the engine purges by chain (``WriteTransaction.delete_access_through``)."""

    @abstractmethod
    def access_chain(self, chain: str) -> Iterator[Row]:
        """The chain's entries by seq, streamed (what verify walks)."""

    @abstractmethod
    def setting(self, name: str) -> Any | None:
        """A value the database keeps about itself (the ``settings`` table), or None."""

    @abstractmethod
    def access_chain_heads(self) -> dict[str, tuple[int, str]]:
        """Chain name -> (seq, head) as ``access_chains`` holds them ("legacy": the
        largest id of the entries from before the chains, and an empty head)."""

    @abstractmethod
    def unchained_access(self) -> list[Row]:
        """id, occurred_at, actor and action of every entry outside the chains, by id."""


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
    def scrub(self) -> str | None:
        """After committed deletions (an erasure, a purge): let what they removed
        leave the disk where the database can. SQLite (which zeroes deleted
        content, ``secure_delete``) checkpoints its WAL, which still holds the
        pages as they were, and truncates it; PostgreSQL VACUUMs the tables an
        erasure deletes from, outside a transaction. None when done, else what
        kept it from finishing (a reader holding the WAL, a timeout): the
        deletion itself stands either way."""

    @abstractmethod
    def close(self) -> None: ...
