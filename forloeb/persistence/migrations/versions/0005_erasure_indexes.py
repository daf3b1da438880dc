"""Indexes for erasure and the retention purge.

Erasing an engagement deletes its idempotency keys and its reminders'
outbox messages; the retention purge finds engagements in a final stage last
changed before a cutoff (a partial index: fires of active engagements never
touch it). Each is a lookup by these columns, so the cost
follows the number of rows erased, not the size of the tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: only engagements in a final stage (see _tables.py).
    op.create_index(
        "ix_engagements_closed_updated_at",
        "engagements",
        ["updated_at"],
        sqlite_where=sa.text("closed_from IS NOT NULL"),
        postgresql_where=sa.text("closed_from IS NOT NULL"),
    )
    op.create_index(op.f("ix_idempotency_keys_engagement_id"), "idempotency_keys", ["engagement_id"])
    op.create_index(op.f("ix_outbox_reminder_id"), "outbox", ["reminder_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_reminder_id"), table_name="outbox")
    op.drop_index(op.f("ix_idempotency_keys_engagement_id"), table_name="idempotency_keys")
    op.drop_index("ix_engagements_closed_updated_at", table_name="engagements")
