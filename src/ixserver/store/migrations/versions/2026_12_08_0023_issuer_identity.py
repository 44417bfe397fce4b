"""the issuer's identity (issue 26): bank details, share capital, registry, logo

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 09:00:00

- `accounts.iban`, `swift`, `share_capital`, `registry_office`, `registry_number`: what a
  document prints of its issuer beyond the accounts API's fields; `accounts.logo`: the SHA-256
  of the account's current logo.
- `account_logos`: every logo an account has had, by its digest (a document keeps the digest of
  the logo it was issued with).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = (
    ("iban", sa.String(length=34)),
    ("swift", sa.String(length=11)),
    ("share_capital", ixserver.store.types.Money()),
    ("registry_office", sa.String(length=255)),
    ("registry_number", sa.String(length=32)),
    ("logo", sa.String(length=64)),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("accounts", sa.Column(name, kind, nullable=True))
    op.create_table(
        "account_logos",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", ixserver.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_logos_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "digest", name=op.f("pk_account_logos")),
    )


def downgrade() -> None:
    op.drop_table("account_logos")
    with op.batch_alter_table("accounts") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
