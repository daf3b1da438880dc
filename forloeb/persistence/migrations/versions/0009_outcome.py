"""An engagement's result (issue 10): the ``outcome`` column and its index.

The methods' definitions (version 2) end an engagement with a result that can
be counted: goal reached, partly reached, not reached, referred on, handed
over, broken off, moved. The move that ends the engagement writes it to the
transition event and to this column; a reopen clears it. Indexed with the
workflow, so "results per method" is a GROUP BY on the index.

A nullable column without a default: no table rewrite on either backend.
Engagements that ended before this revision have no result (their method,
version 1, declares none).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.add_column(sa.Column("outcome", sa.String(64)))
    op.create_index("ix_engagements_workflow_outcome", "engagements", ["workflow", "outcome"])


def downgrade() -> None:
    op.drop_index("ix_engagements_workflow_outcome", table_name="engagements")
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("outcome")
