"""Access log: who read, searched, exported or deleted engagement data.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("engagement_id", sa.Integer()),
        sa.Column("subject", sa.String(200)),
        sa.Column("criteria", JSONData),
        sa.Column("purpose", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_occurred_at"), "access_log", ["occurred_at"])
    op.create_index(op.f("ix_access_log_actor"), "access_log", ["actor"])
    op.create_index(op.f("ix_access_log_subject"), "access_log", ["subject"])
    op.create_index(op.f("ix_access_log_engagement_id"), "access_log", ["engagement_id"])


def downgrade() -> None:
    op.drop_table("access_log")
