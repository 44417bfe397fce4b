"""guides: the transport a guide describes (JSON) and the code AT gave it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite, batch mode rebuilds the table, which drops the
# document-count triggers of migration 0005 (SQLite has had ADD and DROP COLUMN since 3.35).


def upgrade() -> None:
    op.add_column("documents", sa.Column("transport", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("at_doc_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN at_doc_code")
    op.execute("ALTER TABLE documents DROP COLUMN transport")
