"""sandbox controls (issue 25): an account's clock, its faults, and the recorder's requests

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 12:00:00

The clock is read by the writer in each use case's transaction. Faults and recorded requests are
read and written by every server process beside the writer: on SQLite in a side file (as the
rate counts are, store/sandbox_state.py), the tables here staying empty; on PostgreSQL here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = ixserver.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_clocks",
        sa.Column("account_id", ID, nullable=False, autoincrement=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_clocks_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_clocks")),
    )
    op.create_table(
        "sandbox_faults",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("delay_ms", sa.Integer(), nullable=False),
        sa.Column("close", sa.Boolean(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_faults")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sandbox_faults_account_id"), "sandbox_faults", ["account_id"], unique=False)
    op.create_table(
        "sandbox_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_requests")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sandbox_requests_account_id_id", "sandbox_requests", ["account_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sandbox_requests_account_id_id", table_name="sandbox_requests")
    op.drop_table("sandbox_requests")
    op.drop_index(op.f("ix_sandbox_faults_account_id"), table_name="sandbox_faults")
    op.drop_table("sandbox_faults")
    op.drop_table("account_clocks")
