"""Listing by pages: an index for one actor's events in time order, and one
access-log entry per page.

``audit query --actor X`` pages through X's events by (occurred_at, id). With
an index on ``actor`` alone every page read and sorted all of X's events
(40,000 in the reliability run: 2.3 s a page); an index on (actor,
occurred_at, id) serves the order itself, so a page is a seek and a scan of
the page. It replaces the index on ``actor``, whose lookups it also serves.

A listing writes one access-log entry per page shown; ``shown`` names the
engagements on it (``[{"id": …, "subject": …}]``), so that a resident's
access request still finds every page that showed them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forloeb.persistence._types import JSONData

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_actor_occurred_at_id", "events", ["actor", "occurred_at", "id"])
    op.drop_index("ix_events_actor", table_name="events")
    # A nullable column without a default: no table rewrite on either backend.
    with op.batch_alter_table("access_log") as batch:
        batch.add_column(sa.Column("shown", JSONData))


def downgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("shown")
    op.create_index("ix_events_actor", "events", ["actor"])
    op.drop_index("ix_events_actor_occurred_at_id", table_name="events")
