"""job claims (issue 23): who runs a job, and whether it still does

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:00:00

A claim dies with its process instead of waiting out a 5-minute lease: a running job records the
claim's token, its claimer (the host: hostname, boot and PID namespace; the process: pid and start
time) and a heartbeat the claimer moves on every few seconds (jobs/worker.py). Jobs running when
this is applied have none: their lease (`run_after`) still says when they are due again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ixserver.store.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("claim_token", sa.String(length=32), nullable=True))
    op.add_column("jobs", sa.Column("claimer_host", sa.String(length=255), nullable=True))
    op.add_column("jobs", sa.Column("claimer_pid", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("claimer_started", sa.BigInteger(), nullable=True))
    op.add_column("jobs", sa.Column("heartbeat_at", ixserver.store.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("heartbeat_at", "claimer_started", "claimer_pid", "claimer_host", "claim_token"):
        op.drop_column("jobs", column)
