"""treasury: a client's current account — initial balance, regularizations and their counter,
treasury movements (api-v2 §12)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = ixserver.store.types.Money(length=40)
UTC_DATETIME = ixserver.store.types.UtcDateTime(timezone=True)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
    )


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"], ["clients.id"], name=op.f(f"fk_{table}_client_id_clients"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "client_initial_balances",
        sa.Column("client_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("observation", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _account_fk("client_initial_balances"),
        _client_fk("client_initial_balances"),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_initial_balances")),
    )
    op.create_index(
        op.f("ix_client_initial_balances_account_id"), "client_initial_balances", ["account_id"], unique=False
    )
    op.create_table(
        "regularizations",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("observation", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _account_fk("regularizations"),
        _client_fk("regularizations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regularizations")),
        sa.UniqueConstraint("account_id", "number", name=op.f("uq_regularizations_account_id_number")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_regularizations_client", "regularizations", ["client_id", "number"], unique=False)
    op.create_table(
        "regularization_counters",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("current_number", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        _account_fk("regularization_counters"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_regularization_counters")),
    )
    op.create_table(
        "treasury_movements",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("movement_type", sa.String(length=16), nullable=False),
        sa.Column("payment_method", sa.String(length=2), nullable=True),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("serie", sa.String(length=35), nullable=True),
        sa.Column("observation", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _account_fk("treasury_movements"),
        _client_fk("treasury_movements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treasury_movements")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_treasury_movements_client", "treasury_movements", ["client_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_treasury_movements_client", table_name="treasury_movements")
    op.drop_table("treasury_movements")
    op.drop_table("regularization_counters")
    op.drop_index("ix_regularizations_client", table_name="regularizations")
    op.drop_table("regularizations")
    op.drop_index(op.f("ix_client_initial_balances_account_id"), table_name="client_initial_balances")
    op.drop_table("client_initial_balances")
