"""The staff register, and the access log as hash chains (issue 11).

``staff``: who may act, in which roles and teams (every command resolves its
actor there). ``access_log`` gains its chain columns: ``chain`` (the
retention class: "access" or "records"), ``seq`` (gapless per chain),
``prev_hash`` and ``hash``, and ``impersonator`` (an admin acting as the
entry's actor). ``access_chains`` holds each chain's head.

Entries written before this revision stay as they are, outside the chains
(chain and seq NULL): verify counts them and says they are not covered. The
largest such id is kept as the "legacy" row of ``access_chains``, so that an
unchained entry added later is told apart from them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("roles", JSONData, nullable=False),
        sa.Column("teams", JSONData, nullable=False),
        sa.Column("login", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("login", name=op.f("uq_staff_login")),
    )
    op.create_table(
        "access_chains",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_access_chains")),
    )
    # Nullable columns without defaults: no table rewrite on PostgreSQL; on
    # SQLite the batch rebuilds the table once (for the unique constraint).
    with op.batch_alter_table("access_log") as batch:
        batch.add_column(sa.Column("chain", sa.String(16)))
        batch.add_column(sa.Column("seq", sa.Integer()))
        batch.add_column(sa.Column("prev_hash", sa.String(64)))
        batch.add_column(sa.Column("hash", sa.String(64)))
        batch.add_column(sa.Column("impersonator", sa.String(200)))
        batch.create_unique_constraint(op.f("uq_access_log_chain_seq"), ["chain", "seq"])
    # The boundary of the entries from before the chain (none: no row).
    op.execute(
        "INSERT INTO access_chains (name, seq, head) "
        "SELECT 'legacy', MAX(id), '' FROM access_log HAVING COUNT(*) > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        batch.drop_constraint(op.f("uq_access_log_chain_seq"), type_="unique")
        batch.drop_column("impersonator")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
        batch.drop_column("chain")
    op.drop_table("access_chains")
    op.drop_table("staff")
