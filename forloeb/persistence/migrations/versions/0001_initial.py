"""Initial schema: engagements, tags, the event log and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("paused_from", sa.String(64)),
        sa.Column("closed_from", sa.String(64)),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("assignee", sa.String(200)),
        sa.Column("supervisor", sa.String(200)),
        sa.Column("team", sa.String(200)),
        sa.Column("tags", JSONData, nullable=False),
        sa.Column("data", JSONData, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("stage_entered_at", UTCDateTime, nullable=False),
        sa.Column("stage_due_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_engagements"),
        # Erased ids are never reused (see _tables.py).
        sqlite_autoincrement=True,
    )
    op.create_index("ix_engagements_workflow_state", "engagements", ["workflow", "state"])
    op.create_index("ix_engagements_assignee", "engagements", ["assignee"])
    op.create_index("ix_engagements_team", "engagements", ["team"])
    op.create_index("ix_engagements_subject", "engagements", ["subject"])
    op.create_index("ix_engagements_stage_due_at", "engagements", ["stage_due_at"])

    op.create_table(
        "engagement_tags",
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name="fk_engagement_tags_engagement_id_engagements",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("engagement_id", "tag", name="pk_engagement_tags"),
    )
    op.create_index("ix_engagement_tags_tag", "engagement_tags", ["tag"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(64)),
        sa.Column("from_state", sa.String(64)),
        sa.Column("to_state", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("payload", JSONData, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name="fk_events_engagement_id_engagements",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("engagement_id", "seq", name="uq_events_engagement_id_seq"),
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_index("ix_events_actor", "events", ["actor"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", JSONData, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name="fk_idempotency_keys_engagement_id_engagements",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_events_actor", "events")
    op.drop_index("ix_events_occurred_at", "events")
    op.drop_table("events")
    op.drop_index("ix_engagement_tags_tag", "engagement_tags")
    op.drop_table("engagement_tags")
    for ix in ("stage_due_at", "subject", "team", "assignee", "workflow_state"):
        op.drop_index(f"ix_engagements_{ix}", "engagements")
    op.drop_table("engagements")
