"""Reporting attributes on the engagement (issue 13): person key, age band, gender, afdeling.

Four nullable columns without defaults (no table rewrite on either backend)
and an index on the person key, which linking an engagement to a resident's
key looks up. Engagements from before this revision have none of them: the
report counts them as "not recorded".

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_COLUMNS = (("person_key", 32), ("age_band", 16), ("gender", 16), ("afdeling", 64))


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length)))
    op.create_index("ix_engagements_person_key", "engagements", ["person_key"])


def downgrade() -> None:
    op.drop_index("ix_engagements_person_key", table_name="engagements")
    with op.batch_alter_table("engagements") as batch:
        for name, _length in reversed(_COLUMNS):
            batch.drop_column(name)
