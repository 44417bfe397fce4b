"""ixserver's seal: per account, a MACed chain of every change of state of an issued document

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:30:00

Every existing account gets its head (no events yet). Documents issued before this migration
have no seal: `ixserver verify` says so, and `ixserver seal` seals them as they now are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "seal_heads",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("mac", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "seal_events",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("created_at", ixserver.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "seq"),
    )
    with op.batch_alter_table("seal_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seal_events_document_id"), ["document_id"], unique=False)
    op.execute("INSERT INTO seal_heads (account_id, seq, mac) SELECT id, 0, '' FROM accounts")


def downgrade() -> None:
    with op.batch_alter_table("seal_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seal_events_document_id"))
    op.drop_table("seal_events")
    op.drop_table("seal_heads")
