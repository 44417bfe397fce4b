"""document_pdfs: each document's PDF as first drawn and signed (PAdES, issue 26)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:00:00

A PDF is signed once and served the same bytes afterwards, until what it is drawn from changes
(services/pdfs.py). Nothing to fill: the documents' PDFs are drawn and kept as they are asked for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "document_pdfs",
        sa.Column("document_id", ID, nullable=False),
        sa.Column("second_copy", sa.Boolean(), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", ixserver.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_document_pdfs_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_pdfs_document_id_documents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("document_id", "second_copy", name=op.f("pk_document_pdfs")),
    )


def downgrade() -> None:
    op.drop_table("document_pdfs")
