"""The tables, as SQLAlchemy Core metadata.

Core rather than ORM: the engine's hot path is one SELECT, one UPDATE and one
INSERT per transition, and Core statements (compiled once, cached) keep that
path within a small multiple of hand-written SQL. The Alembic migrations in
``migrations/versions`` must produce exactly this schema (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from ._types import JSONData, UTCDateTime

# The newest migration revision these tables describe; the engine refuses an
# older database. A test checks it equals Alembic's head, so adding a
# migration without bumping it fails.
SCHEMA_HEAD = "0001"

# Naming convention: constraint names are stable across SQLite and PostgreSQL,
# which Alembic needs to alter them later.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

engagements = Table(
    "engagements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workflow", String(64), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("state", String(64), nullable=False),
    # Where ``resume`` returns to, and where ``reopen`` returns to.
    Column("paused_from", String(64)),
    Column("closed_from", String(64)),
    Column("cycle", Integer, nullable=False, default=1),
    Column("subject", String(200), nullable=False),
    Column("source", String(64), nullable=False),
    Column("assignee", String(200)),
    Column("supervisor", String(200)),
    Column("team", String(200)),
    Column("tags", JSONData, nullable=False),
    # Per-stage records of the current cycle: {"shared_path": {"focus": …}, …}.
    Column("data", JSONData, nullable=False),
    # Equals the seq of the last event: the optimistic-concurrency token.
    Column("version", Integer, nullable=False),
    # The hash of the last event, so appending needs no read of the event table.
    Column("head_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("stage_entered_at", UTCDateTime, nullable=False),
    Column("stage_due_at", UTCDateTime),
    Index(None, "workflow", "state"),
    Index(None, "assignee"),
    Index(None, "team"),
    Index(None, "subject"),
    # The reminder sweep is a range query on this column.
    Index(None, "stage_due_at"),
)

engagement_tags = Table(
    "engagement_tags",
    metadata,
    Column(
        "engagement_id",
        Integer,
        ForeignKey("engagements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(100), primary_key=True),
    Index(None, "tag"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "engagement_id",
        Integer,
        ForeignKey("engagements.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("trigger", String(64)),
    Column("from_state", String(64)),
    Column("to_state", String(64)),
    Column("actor", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("payload", JSONData, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Gapless per engagement: the version check makes seq = version + 1, and
    # this constraint makes a lost race fail loudly instead of forking.
    UniqueConstraint("engagement_id", "seq"),
    Index(None, "occurred_at"),
    Index(None, "actor"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column(
        "engagement_id",
        Integer,
        ForeignKey("engagements.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # A digest of the command, so a key reused for another command is refused.
    Column("fingerprint", String(64), nullable=False),
    Column("response", JSONData, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Row counts of these tables are what "writes nothing" tests compare.
ALL_TABLES = (engagements, engagement_tags, events, idempotency_keys)

__all__ = [
    "ALL_TABLES",
    "SCHEMA_HEAD",
    "engagement_tags",
    "engagements",
    "events",
    "idempotency_keys",
    "metadata",
]
