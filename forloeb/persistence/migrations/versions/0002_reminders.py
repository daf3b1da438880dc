"""Reminders: the deadline clock's pause state, the sweep's entry point
(``next_reminder_at``), the reminder ladder and the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them with a plain ALTER TABLE, no rebuild.
    op.add_column("engagements", sa.Column("due_remaining_s", sa.Float()))
    op.add_column("engagements", sa.Column("reminder_epoch", UTCDateTime))
    # The sweep's entry point, apart from the stage's due time (which keeps
    # its meaning for staff and the stale listing). An engagement stored
    # before reminders existed has raised none: its first reminder is due
    # at its stage's due time.
    op.add_column("engagements", sa.Column("next_reminder_at", UTCDateTime))
    op.execute("UPDATE engagements SET next_reminder_at = stage_due_at")
    op.create_index("ix_engagements_next_reminder_at", "engagements", ["next_reminder_at"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("stage_entered_at", UTCDateTime, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("recipient_role", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(200)),
        sa.Column("raised_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("snoozed_until", UTCDateTime),
        sa.Column("snooze_reason", sa.Text()),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name="fk_reminders_engagement_id_engagements",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.UniqueConstraint(
            "engagement_id",
            "stage_entered_at",
            "level",
            name="uq_reminders_engagement_id_stage_entered_at_level",
        ),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("reminder_id", sa.Integer()),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(200)),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", JSONData, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", UTCDateTime),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminders.id"],
            name="fk_outbox_reminder_id_reminders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_next_attempt_at", "outbox")
    op.drop_table("outbox")
    op.drop_table("reminders")
    op.drop_index("ix_engagements_next_reminder_at", "engagements")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("next_reminder_at")
        batch.drop_column("reminder_epoch")
        batch.drop_column("due_remaining_s")
