"""payments and loads: a receipt's payment mechanism; the start of a load as a column

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as in 0011: batch mode would drop the document-count triggers on SQLite.


def upgrade() -> None:
    op.add_column("documents", sa.Column("loaded_at", sa.String(length=19), nullable=True))
    op.add_column("documents", sa.Column("payment_mechanism", sa.String(length=2), nullable=True))
    # guides issued before: their load start, from the transport they keep as JSON
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE documents SET loaded_at = transport::json->>'loaded_at' WHERE transport IS NOT NULL")
    else:
        op.execute(
            "UPDATE documents SET loaded_at = json_extract(transport, '$.loaded_at') WHERE transport IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN payment_mechanism")
    op.execute("ALTER TABLE documents DROP COLUMN loaded_at")
