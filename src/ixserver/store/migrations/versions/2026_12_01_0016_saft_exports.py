"""saft_exports: the SAF-T files made for GET /api/export_saft.json

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = ixserver.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "saft_exports",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_saft_exports_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saft_exports")),
        sa.UniqueConstraint("token", name=op.f("uq_saft_exports_token")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_saft_exports_account_period", "saft_exports", ["account_id", "year", "month"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_saft_exports_account_period", table_name="saft_exports")
    op.drop_table("saft_exports")
