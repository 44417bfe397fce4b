"""large accounts (issue 15): counts per day, a covering listing index, a text index

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:00:00

- `document_day_counts` and `document_month_counts`: the documents per account, type, status,
  archived flag and date (month), folded from `document_count_changes` (which now records the
  date) like `document_counts`: the totals of lists filtered by date, and where a deep page
  starts (its month, then its day), without reading the documents.
- `ix_documents_account_date` also holds type, status and archived: a page of a list is found
  in the index alone.
- `document_search`: the searchable text of each document (client name, reference, observations)
  and of each line (name, description), kept by triggers; an FTS5 table with the
  trigram tokenizer on SQLite, a table with a pg_trgm GIN index (ILIKE) on PostgreSQL. Neither can be
  declared in SQLAlchemy's metadata: store/document_search.py holds their SQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# -- counts ---------------------------------------------------------------------------------------
_KEY = "account_id, doc_type, status, archived"
_COLUMNS = f"INSERT INTO document_count_changes ({_KEY}, date, delta)"
_ADD = f"{_COLUMNS} VALUES (NEW.account_id, NEW.doc_type, NEW.status, NEW.archived, NEW.date, 1)"
_REMOVE = f"{_COLUMNS} VALUES (OLD.account_id, OLD.doc_type, OLD.status, OLD.archived, OLD.date, -1)"
_CHANGED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.archived IS DISTINCT FROM NEW.archived"
    " OR OLD.doc_type IS DISTINCT FROM NEW.doc_type OR OLD.account_id IS DISTINCT FROM NEW.account_id"
    " OR OLD.date IS DISTINCT FROM NEW.date"
)
_OLD_CHANGED = _CHANGED.rsplit(" OR ", 1)[0]
_TRACKED = "status, archived, doc_type, account_id, date"


def _count_triggers(sqlite: bool, add: str, remove: str, changed: str, tracked: str) -> None:
    if sqlite:
        changed = changed.replace("IS DISTINCT FROM", "IS NOT")
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS document_counts_{name}")
        op.execute(f"CREATE TRIGGER document_counts_insert AFTER INSERT ON documents BEGIN {add}; END")
        op.execute(f"CREATE TRIGGER document_counts_delete AFTER DELETE ON documents BEGIN {remove}; END")
        op.execute(
            f"CREATE TRIGGER document_counts_update AFTER UPDATE OF {tracked} ON documents"
            f" WHEN {changed} BEGIN {remove}; {add}; END"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS document_counts_update ON documents")
    op.execute(
        "CREATE OR REPLACE FUNCTION document_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {remove}; END IF;\n"
        f"  IF TG_OP IN ('UPDATE', 'INSERT') THEN {add}; END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    op.execute(
        f"CREATE TRIGGER document_counts_update AFTER UPDATE OF {tracked} ON documents"
        f" FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION document_counts_track()"
    )


def _fold_pending(sqlite: bool) -> None:
    """The changes recorded before this revision have no date: fold them into document_counts now."""
    conflict = "ON CONFLICT (account_id, doc_type, status, archived) DO UPDATE SET n = document_counts.n + excluded.n"
    where = " WHERE true" if sqlite else ""  # SQLite's parser needs it before an upsert's ON CONFLICT
    op.execute(
        f"INSERT INTO document_counts ({_KEY}, n) SELECT {_KEY}, sum(delta) FROM document_count_changes{where}"
        f" GROUP BY {_KEY} {conflict}"
    )
    op.execute("DELETE FROM document_count_changes")


# -- text search ----------------------------------------------------------------------------------
# One row per document (key: its id; its client name, reference and observations) and one per
# line (key: minus the line's id; its name and description), the fields apart by U+001F: a write
# indexes what it wrote, nothing else (a document's whole text rebuilt at each of its lines cost
# ~180 µs a document on SQLite).
def _text(sqlite: bool, row: str, line: bool) -> str:
    sep = "char(31)" if sqlite else "chr(31)"
    if line:
        return f"{row}.name || {sep} || {row}.description"
    return f"{row}.client_name || {sep} || coalesce({row}.reference, '') || {sep} || coalesce({row}.observations, '')"


def _sqlite_search() -> None:
    # contentless (the text is in documents and document_lines): removing a row gives the FTS
    # table the text it indexed, which triggers have as OLD
    op.execute(
        "CREATE VIRTUAL TABLE document_search USING fts5(body, tokenize = 'trigram', content = '', columnsize = 0)"
    )

    def add(key: str, row: str, line: bool) -> str:
        return f"INSERT INTO document_search (rowid, body) VALUES ({key}, {_text(True, row, line)});"

    def remove(key: str, row: str, line: bool) -> str:
        return (
            "INSERT INTO document_search (document_search, rowid, body)"
            f" VALUES ('delete', {key}, {_text(True, row, line)});"
        )

    for table, key, line, fields in (("documents", "id", False, "client_name, reference, observations"),
                                     ("document_lines", "-{}.id", True, "name, description")):  # fmt: skip
        name = "document_search" if not line else "document_search_line"
        new_key, old_key = key.format("NEW") if line else "NEW.id", key.format("OLD") if line else "OLD.id"
        op.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {add(new_key, 'NEW', line)} END")
        op.execute(
            f"CREATE TRIGGER {name}_update AFTER UPDATE OF {fields} ON {table}"
            f" BEGIN {remove(old_key, 'OLD', line)} {add(new_key, 'NEW', line)} END"
        )
        op.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {remove(old_key, 'OLD', line)} END")
    op.execute(f"INSERT INTO document_search (rowid, body) SELECT d.id, {_text(True, 'd', False)} FROM documents d")
    op.execute(
        f"INSERT INTO document_search (rowid, body) SELECT -l.id, {_text(True, 'l', True)} FROM document_lines l"
    )


def _postgresql_search() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE document_search (key BIGINT PRIMARY KEY,"
        " document_id BIGINT NOT NULL REFERENCES documents (id) ON DELETE CASCADE, body TEXT NOT NULL)"
    )
    op.execute("CREATE INDEX ix_document_search_body ON document_search USING gin (body gin_trgm_ops)")  # for ILIKE
    op.execute("CREATE INDEX ix_document_search_document ON document_search (document_id)")
    op.execute(
        "CREATE FUNCTION document_search_track() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_TABLE_NAME = 'documents' THEN\n"
        "    IF TG_OP = 'INSERT' THEN\n"
        "      INSERT INTO document_search (key, document_id, body)"
        f" VALUES (NEW.id, NEW.id, {_text(False, 'NEW', False)});\n"
        "    ELSE\n"
        f"      UPDATE document_search SET body = {_text(False, 'NEW', False)} WHERE key = NEW.id;\n"
        "    END IF;\n"
        "  ELSIF TG_OP = 'INSERT' THEN\n"
        "    INSERT INTO document_search (key, document_id, body)"
        f" VALUES (-NEW.id, NEW.document_id, {_text(False, 'NEW', True)});\n"
        "  ELSIF TG_OP = 'UPDATE' THEN\n"
        f"    UPDATE document_search SET document_id = NEW.document_id, body = {_text(False, 'NEW', True)}"
        " WHERE key = -NEW.id;\n"
        "  ELSE\n"
        "    DELETE FROM document_search WHERE key = -OLD.id;\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER document_search_documents AFTER INSERT OR UPDATE OF client_name, reference, observations"
        " ON documents FOR EACH ROW EXECUTE FUNCTION document_search_track()"
    )
    op.execute(
        "CREATE TRIGGER document_search_lines AFTER INSERT OR DELETE OR UPDATE OF name, description, document_id"
        " ON document_lines FOR EACH ROW EXECUTE FUNCTION document_search_track()"
    )
    op.execute(
        "INSERT INTO document_search (key, document_id, body)"
        f" SELECT d.id, d.id, {_text(False, 'd', False)} FROM documents d"
    )
    op.execute(
        "INSERT INTO document_search (key, document_id, body)"
        f" SELECT -l.id, l.document_id, {_text(False, 'l', True)} FROM document_lines l"
    )


def _counts_per(name: str, period: str) -> None:
    op.create_table(
        name,
        sa.Column("account_id", ID, nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", period, "doc_type", "status", "archived", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_documents_account_date", table_name="documents")
    op.create_index(
        "ix_documents_account_date", "documents", ["account_id", "date", "id", "doc_type", "status", "archived"]
    )
    _fold_pending(sqlite)
    op.add_column("document_count_changes", sa.Column("date", sa.Date(), nullable=True))
    _counts_per("document_day_counts", "date")
    op.execute(
        f"INSERT INTO document_day_counts ({_KEY}, date, n) SELECT {_KEY}, date, COUNT(*) FROM documents"
        f" GROUP BY {_KEY}, date"
    )
    _counts_per("document_month_counts", "month")
    month = "date(date, 'start of month')" if sqlite else "CAST(date_trunc('month', date) AS DATE)"
    op.execute(
        f"INSERT INTO document_month_counts ({_KEY}, month, n) SELECT {_KEY}, {month}, sum(n) FROM document_day_counts"
        f" GROUP BY {_KEY}, {month}"
    )
    _count_triggers(sqlite, _ADD, _REMOVE, _CHANGED, _TRACKED)
    if sqlite:
        _sqlite_search()
    else:
        _postgresql_search()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in ("document_search", "document_search_line"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {name}_{event}")
        op.execute("DROP TABLE document_search")
    else:
        op.execute("DROP TRIGGER document_search_lines ON document_lines")
        op.execute("DROP TRIGGER document_search_documents ON documents")
        op.execute("DROP FUNCTION document_search_track()")
        op.execute("DROP TABLE document_search")
    _fold_pending(sqlite)
    old_add = _ADD.replace(", date, delta", ", delta").replace(", NEW.date, 1", ", 1")
    old_remove = _REMOVE.replace(", date, delta", ", delta").replace(", OLD.date, -1", ", -1")
    _count_triggers(sqlite, old_add, old_remove, _OLD_CHANGED, _TRACKED.rsplit(", ", 1)[0])
    op.drop_table("document_month_counts")
    op.drop_table("document_day_counts")
    # no batch copy on SQLite (it would drop the table under its triggers): SQLite >= 3.35 drops a column
    op.execute("ALTER TABLE document_count_changes DROP COLUMN date")
    op.drop_index("ix_documents_account_date", table_name="documents")
    op.create_index("ix_documents_account_date", "documents", ["account_id", "date", "id"])
