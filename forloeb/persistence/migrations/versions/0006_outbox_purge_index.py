"""An index for the outbox purge.

The purge deletes finished (delivered or dead) messages created before a
cutoff, oldest first, in batches. A partial index on ``created_at`` over the
finished messages only makes each batch a range scan that stops after the
batch, so the cost follows the number of messages purged, not the size of
the outbox; pending messages are not in it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As _tables.OUTBOX_FINISHED at this revision (a migration does not follow later edits).
FINISHED = "status IN ('delivered', 'dead')"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_finished_created_at",
        "outbox",
        ["created_at"],
        sqlite_where=sa.text(FINISHED),
        postgresql_where=sa.text(FINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_finished_created_at", table_name="outbox")
