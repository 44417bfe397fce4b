"""fiscal fidelity (issue 22): issuers frozen on documents, kept SAF-T files sealed, the seal's start

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:00:00

- `documents.issuer`: the issuer (the account's name, NIF, address…) as it was when the document
  was issued (JSON). Documents issued before keep NULL and show the account's.
- `saft_exports.seal_seq`: the seal's event that recorded a kept SAF-T file.
- The seal's start: every account gets its `opened` event, the documents numbered until now
  predating it (services/seal.open_existing). It needs the seal's key, which only the process
  that migrates has: `ixserver migrate` (and `serve`) hand it over as `seal_start` in the Alembic
  config's attributes; migrated without it (a bare `alembic upgrade`), the accounts have no start
  and `ixserver verify` says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN (no batch copy: `documents` keeps its triggers)
    op.add_column("documents", sa.Column("issuer", sa.Text(), nullable=True))
    op.add_column("saft_exports", sa.Column("seal_seq", sa.BigInteger(), nullable=True))
    seal_start = context.config.attributes.get("seal_start")
    if seal_start is None:
        return
    conn = op.get_bind()
    for (account_id,) in conn.execute(sa.text("SELECT id FROM accounts ORDER BY id")).all():
        seal_start(conn, int(account_id))


def downgrade() -> None:
    op.drop_column("saft_exports", "seal_seq")
    op.drop_column("documents", "issuer")
