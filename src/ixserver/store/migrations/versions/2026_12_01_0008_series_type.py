"""the type AT registered a series with, per document type: N normal, F training (sandbox)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sub_sequences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_type", sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sub_sequences", schema=None) as batch_op:
        batch_op.drop_column("series_type")
