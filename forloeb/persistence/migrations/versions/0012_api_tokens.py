"""API tokens of the HTTP API (issue 14): the ``api_tokens`` table.

A bearer token acts as its entry of the staff register. The secret is shown
once, when the token is created; the table keeps only its SHA-256 digest
(``secret_hash``) and the token's public prefix (``id``), by which it is
found, listed and revoked.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("staff_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_index(op.f("ix_api_tokens_staff_id"), "api_tokens", ["staff_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_staff_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
