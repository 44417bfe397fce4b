"""database_mode: the mode (sandbox or production) a database was made in, kept in it (issue 25)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 12:00:00

One row, written by the first server or command that opens the database after this migration
(store/modes.py): a new database takes the mode it is made with; a database made before this,
holding accounts, is a sandbox one when a series of it is a training series (only the sandbox's AT
simulator registers those), else it takes the mode of that first server or command, which says so.
From then on a server or command started with the other mode refuses to open it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "database_mode",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", ixserver.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("how", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_database_mode_one_row")),
        sa.CheckConstraint("mode IN ('sandbox', 'production')", name=op.f("ck_database_mode_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_mode")),
    )


def downgrade() -> None:
    op.drop_table("database_mode")
