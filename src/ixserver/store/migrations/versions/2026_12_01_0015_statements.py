"""statements: each client's unguessable public statement token (`open_account_link`)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (batch mode would rebuild the table on SQLite); the clients made before
    # get their tokens here, from Python's `secrets` (the databases' random() is not for keys).
    op.add_column("clients", sa.Column("statement_token", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    clients = sa.table("clients", sa.column("id", sa.BigInteger), sa.column("statement_token", sa.String))
    ids = [row[0] for row in bind.execute(sa.select(clients.c.id))]
    for client_id in ids:
        bind.execute(clients.update().where(clients.c.id == client_id).values(statement_token=secrets.token_hex(20)))
    op.create_index("uq_clients_statement_token", "clients", ["statement_token"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_clients_statement_token", table_name="clients")
    op.execute("ALTER TABLE clients DROP COLUMN statement_token")
