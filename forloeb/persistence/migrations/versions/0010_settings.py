"""Settings the database keeps about itself (issue 12): the ``settings`` table.

The first entry is ``audit_key``: whether the database's chains are keyed
(HMAC-SHA-256) and, if so, a key check value (an HMAC of a fixed label
under the key, never the key). A process opening a keyed database with no
key or a different key refuses to write, and verify without the key says
it cannot verify instead of calling a plain-SHA-256 forgery intact.

A database upgraded to this revision has no entry: the first process that
writes with a key records it; one that writes without a key records
"unkeyed" (see forloeb/engine/_keying.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", JSONData, nullable=False),
        sa.Column("set_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_settings")),
    )


def downgrade() -> None:
    op.drop_table("settings")
