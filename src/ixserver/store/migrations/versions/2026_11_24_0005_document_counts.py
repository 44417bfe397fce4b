"""document counts per account, type, status and archived flag, kept by triggers; lines
indexed in their order; the listing index dropped

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Triggers only ever INSERT into document_count_changes: concurrent transactions never wait on
# each other there (a counter row updated by every transaction would order all writers of an
# account, and deadlock those that already hold other locks). Writers fold the changes into
# document_counts now and then (store/documents.py: fold_count_changes).
_COLUMNS = "INSERT INTO document_count_changes (account_id, doc_type, status, archived, delta)"
_ADD = f"{_COLUMNS} VALUES (NEW.account_id, NEW.doc_type, NEW.status, NEW.archived, 1)"
_REMOVE = f"{_COLUMNS} VALUES (OLD.account_id, OLD.doc_type, OLD.status, OLD.archived, -1)"
_CHANGED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.archived IS DISTINCT FROM NEW.archived"
    " OR OLD.doc_type IS DISTINCT FROM NEW.doc_type OR OLD.account_id IS DISTINCT FROM NEW.account_id"
)


def _sqlite() -> None:
    changed = _CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    op.execute(f"CREATE TRIGGER document_counts_insert AFTER INSERT ON documents BEGIN {_ADD}; END")
    op.execute(f"CREATE TRIGGER document_counts_delete AFTER DELETE ON documents BEGIN {_REMOVE}; END")
    op.execute(
        "CREATE TRIGGER document_counts_update AFTER UPDATE OF status, archived, doc_type, account_id ON documents"
        f" WHEN {changed} BEGIN {_REMOVE}; {_ADD}; END"
    )


def _postgresql() -> None:
    op.execute(
        "CREATE FUNCTION document_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {_REMOVE}; END IF;\n"
        f"  IF TG_OP IN ('UPDATE', 'INSERT') THEN {_ADD}; END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER document_counts_insert_delete AFTER INSERT OR DELETE ON documents"
        " FOR EACH ROW EXECUTE FUNCTION document_counts_track()"
    )
    op.execute(
        "CREATE TRIGGER document_counts_update AFTER UPDATE OF status, archived, doc_type, account_id ON documents"
        f" FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION document_counts_track()"
    )


def upgrade() -> None:
    op.create_table(
        "document_counts",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "doc_type", "status", "archived", name=op.f("pk_document_counts")),
    )
    op.create_table(
        "document_count_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_count_changes")),
    )
    op.create_index("ix_document_count_changes_account", "document_count_changes", ["account_id"])
    # Plain index operations, never a batch table copy (which would drop the triggers).
    op.create_index("ix_document_lines_document_position", "document_lines", ["document_id", "position"])
    op.drop_index("ix_document_lines_document_id", table_name="document_lines")
    # It served counting totals; with the counts kept it only misled PostgreSQL's planner away
    # from ix_documents_account_date (a bitmap scan and sort of the whole account per page).
    op.drop_index("ix_documents_account_listing", table_name="documents")
    op.execute(
        "INSERT INTO document_counts (account_id, doc_type, status, archived, n)"
        " SELECT account_id, doc_type, status, archived, COUNT(*) FROM documents"
        " GROUP BY account_id, doc_type, status, archived"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER document_counts_update ON documents")
        op.execute("DROP TRIGGER document_counts_insert_delete ON documents")
        op.execute("DROP FUNCTION document_counts_track()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER document_counts_{name}")
    op.create_index("ix_documents_account_listing", "documents", ["account_id", "archived", "status", "doc_type"])
    op.drop_table("document_count_changes")
    op.drop_table("document_counts")
    op.create_index("ix_document_lines_document_id", "document_lines", ["document_id"])
    op.drop_index("ix_document_lines_document_position", table_name="document_lines")
