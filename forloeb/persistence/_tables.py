"""The tables, as SQLAlchemy Core metadata.

Core rather than ORM: the engine's hot path is one SELECT, one UPDATE and one
INSERT per transition, and Core statements (compiled once, cached) keep that
path within a small multiple of hand-written SQL. The Alembic migrations in
``migrations/versions`` must produce exactly this schema (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ._types import JSONData, UTCDateTime

# The newest migration revision these tables describe; the engine refuses an
# older database. A test checks it equals Alembic's head, so adding a
# migration without bumping it fails.
SCHEMA_HEAD = "0013"

# A finished outbox message: delivered, or given up on (dead). The predicate
# of the partial index the outbox purge reads, and the purge's condition
# word for word (SQLite uses a partial index only for a query repeating its
# WHERE term; PostgreSQL proves it from the same literal text).
OUTBOX_FINISHED = "status IN ('delivered', 'dead')"

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
    # The current stage's due time (what staff see, and what "stale" means):
    # set from the stage's deadline on entry, moved on when a periodically
    # reviewed stage is reviewed; NULL while paused, in a final stage, or
    # when the stage has no deadline. The sweep never moves it.
    Column("stage_due_at", UTCDateTime),
    # Seconds left on the deadline when the stage was paused: resume gives
    # them back instead of a fresh deadline (the clock stops while paused).
    Column("due_remaining_s", Float),
    # The start of the current deadline period of a rearmed (periodically
    # reviewed) stage; NULL means the stage entry. Reminders are unique per
    # period, so each review period can remind once.
    Column("reminder_epoch", UTCDateTime),
    # When the next reminder (or escalation) of this stage is due: the
    # sweep's entry point. Set with stage_due_at; the sweep moves it to the
    # next level's time, a snooze holds it back; NULL when none is due
    # (paused, final, no deadline, or the ladder is done).
    Column("next_reminder_at", UTCDateTime),
    # The result the engagement ended with, a category of its method
    # (goal_reached, referred_on, broken_off …): set by the move that ends it,
    # cleared by a reopen; NULL while running and for methods without results.
    Column("outcome", String(64)),
    # Reporting attributes (issue 13), optional and minimised: a pseudonymous
    # person key (random, never a CPR number; one resident's engagements share
    # it, so they count once), an age band, a gender and a boligafdeling from
    # the configured lists. Written only by a "reporting" event's "set".
    Column("person_key", String(32)),
    Column("age_band", String(16)),
    Column("gender", String(16)),
    Column("afdeling", String(64)),
    Index(None, "workflow", "state"),
    # Linking an engagement to a person key looks the key up.
    Index(None, "person_key"),
    # Results per method ("how many were referred on?") are a GROUP BY on this index.
    Index(None, "workflow", "outcome"),
    Index(None, "assignee"),
    Index(None, "team"),
    Index(None, "subject"),
    # The stale listing (past the stage's due time) is a range query on this column.
    Index(None, "stage_due_at"),
    # The reminder sweep is a range query on this column.
    Index(None, "next_reminder_at"),
    # The retention purge: engagements in a final stage (closed_from is set
    # exactly then), last changed before a cutoff. Partial, so that the fires
    # of active engagements, which all change updated_at, never touch it.
    Index(
        "ix_engagements_closed_updated_at",
        "updated_at",
        sqlite_where=text("closed_from IS NOT NULL"),
        postgresql_where=text("closed_from IS NOT NULL"),
    ),
    # Never reuse an erased engagement's id on SQLite (PostgreSQL sequences
    # never do): the access log and checkpoints refer to engagements by id.
    sqlite_autoincrement=True,
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
    # One actor's events in the audit query's order (time, then id): a page
    # is a seek and a short scan, however many events the actor has.
    Index(None, "actor", "occurred_at", "id"),
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
    # Erasing an engagement deletes its keys: without this, a scan of every key.
    Index(None, "engagement_id"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "engagement_id",
        Integer,
        ForeignKey("engagements.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("stage", String(64), nullable=False),
    # The stage-entry identity (for a rearmed stage: the review period's start).
    Column("stage_entered_at", UTCDateTime, nullable=False),
    Column("level", Integer, nullable=False),
    Column("recipient_role", String(32), nullable=False),
    # NULL when nobody holds the role (no assignee, no team lead configured).
    Column("recipient", String(200)),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(200)),
    Column("snoozed_until", UTCDateTime),
    Column("snooze_reason", Text),
    # Any number of sweepers raise a level once: INSERT … ON CONFLICT DO NOTHING.
    UniqueConstraint("engagement_id", "stage_entered_at", "level"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Sent with the message, so a receiver can drop a redelivery.
    Column("message_id", String(36), nullable=False, unique=True),
    Column("reminder_id", Integer, ForeignKey("reminders.id", ondelete="CASCADE")),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(200)),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", JSONData, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    # The delivery loop's entry point; NULL once delivered or dead.
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Index(None, "next_attempt_at"),
    # Erasing an engagement deletes its reminders' messages: without this, a scan of the outbox.
    Index(None, "reminder_id"),
    # The outbox purge: finished messages created before a cutoff, oldest
    # first. Partial, so pending messages (the dispatcher's work) are not in it.
    Index(
        "ix_outbox_finished_created_at",
        "created_at",
        sqlite_where=text(OUTBOX_FINISHED),
        postgresql_where=text(OUTBOX_FINISHED),
    ),
)

# One row per delivery attempt of an outbox message: what an operator reads
# when a message went dead, and proof of how often a receiver was contacted.
outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | failed | dead
    Column("error", Text),
    Index(None, "outbox_id"),
)

# Who read, searched, exported or deleted engagement data (Datatilsynet's
# guidance on logging personal data). Append-only for the engine; only the
# retention purge deletes. No foreign key: an entry must outlive the
# engagement it is about (deletion itself is logged), so the subject
# reference is kept beside the id for a resident's access request.
access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("engagement_id", Integer),
    Column("subject", String(200)),
    # The search criteria (filters) of a search or export, as given.
    Column("criteria", JSONData),
    Column("purpose", Text),
    # A page of a listing or search is one entry naming what it showed:
    # [{"id": …, "subject": …}, …] (engagement_id and subject are then NULL).
    Column("shown", JSONData),
    # The hash chain (0008): entries are chained per retention class, "access"
    # (reads, searches, exports, refusals; kept months) or "records" (erasures,
    # purges of this log, changes to the staff register; kept years), so that
    # purging one class removes a prefix of its chain and never punches holes
    # in it. NULL in entries written before the chain existed.
    Column("chain", String(16)),
    Column("seq", Integer),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
    # The admin who acted as ``actor`` (impersonation), if any.
    Column("impersonator", String(200)),
    # The retention purge is a range delete on this column.
    Index(None, "occurred_at"),
    Index(None, "actor"),
    Index(None, "subject"),
    Index(None, "engagement_id"),
    # Gapless per chain; verify walks a chain in this order.
    UniqueConstraint("chain", "seq"),
)

# The head of each access-log chain: the seq and hash of its last entry,
# locked by whoever appends (one writer per chain at a time), so that two
# appends can never chain to the same predecessor.
access_chains = Table(
    "access_chains",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("head", String(64), nullable=False),
)

# The staff register (issue 11): who may act, in which roles and teams.
# Every command and read resolves its actor here; nothing a caller says can
# add a role or a team. Entries are deactivated, never deleted: events and
# access-log entries keep naming them.
staff = Table(
    "staff",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320)),
    # Sorted lists: worker, supervisor, auditor, admin; and team names.
    Column("roles", JSONData, nullable=False),
    Column("teams", JSONData, nullable=False),
    # The OS login name the CLI maps to this entry (NULL: none).
    Column("login", String(200), unique=True),
    Column("kind", String(16), nullable=False),  # person | service
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# What the database keeps about itself (issue 12): "audit_key" says whether
# its chains are keyed and holds the key's check value (never the key).
settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSONData, nullable=False),
    Column("set_at", UTCDateTime, nullable=False),
)

# API tokens of the HTTP API (issue 14): a bearer token acts as its staff
# entry. Only a SHA-256 digest of the secret is kept (the secret is 256 random
# bits: a fast digest is enough, nothing to brute-force); ``id`` is the
# token's public prefix, by which it is found, listed and revoked.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("staff_id", String(200), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(200)),
)

# Passwords of the web console (issue 15): one per staff entry, an argon2id
# hash (never the password), and the failed attempts that lock the entry out.
staff_passwords = Table(
    "staff_passwords",
    metadata,
    Column("staff_id", String(200), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("changed_at", UTCDateTime),
    Column("changed_by", String(200)),
    Column("failed_count", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", UTCDateTime),
    Column("last_failure_at", UTCDateTime),
)

# Sessions of the web console (issue 15). ``id`` is the SHA-256 digest of the
# session's secret (the cookie): a 256-bit random secret needs no slow hash,
# and whoever reads this table cannot take over a session.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("staff_id", String(200), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("lang", String(2)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("client", String(100)),
)

# Row counts of these tables are what "writes nothing" tests compare.
ALL_TABLES = (
    engagements,
    engagement_tags,
    events,
    idempotency_keys,
    reminders,
    outbox,
    outbox_attempts,
    access_log,
    access_chains,
    staff,
    settings,
    api_tokens,
    staff_passwords,
    web_sessions,
)

__all__ = [
    "ALL_TABLES",
    "OUTBOX_FINISHED",
    "SCHEMA_HEAD",
    "access_chains",
    "access_log",
    "api_tokens",
    "engagement_tags",
    "engagements",
    "events",
    "idempotency_keys",
    "metadata",
    "outbox",
    "outbox_attempts",
    "reminders",
    "settings",
    "staff",
    "staff_passwords",
    "web_sessions",
]
