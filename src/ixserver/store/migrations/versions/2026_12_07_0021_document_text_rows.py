"""the text index, one row per document (issues 23 and 27)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 10:00:00

0018's index held a row per document and one per line, kept by triggers: each line written cost
an index row of its own (on SQLite ~32 µs a line: 8 ms of the one writer's time for a document
of 250 lines, which every other account's writes waited on). Now one row per document holds its
text and its lines' (the fields apart by U+001F, so a text is never found across two of them),
written once per write of the document by the store (store/document_search.py), no trigger:
on SQLite an FTS5 table with the trigram tokenizer that keeps its text (so that a row can be
rewritten without the text it had), on PostgreSQL 0018's table with a row per document.
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_0018 = "ixserver.store.migrations.versions.2026_12_06_0018_large_accounts"


def _all_documents_text(sqlite: bool) -> str:
    """Every document's id and text, as the store writes them (store/document_search.py)."""
    sep, joined = ("char(31)", "group_concat") if sqlite else ("chr(31)", "string_agg")
    lines = (
        f"(SELECT {sep} || {joined}(l.name || {sep} || l.description, {sep})"
        " FROM document_lines l WHERE l.document_id = d.id)"
    )
    body = (
        f"d.client_name || {sep} || coalesce(d.reference, '') || {sep} || coalesce(d.observations, '')"
        f" || coalesce({lines}, '')"
    )
    return f"SELECT d.id, {'' if sqlite else 'd.id, '}{body} FROM documents d"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in ("document_search", "document_search_line"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {name}_{event}")
        op.execute("DROP TABLE document_search")
        op.execute("CREATE VIRTUAL TABLE document_search USING fts5(body, tokenize = 'trigram', columnsize = 0)")
        op.execute(f"INSERT INTO document_search (rowid, body) {_all_documents_text(True)}")
    else:
        op.execute("DROP TRIGGER document_search_lines ON document_lines")
        op.execute("DROP TRIGGER document_search_documents ON documents")
        op.execute("DROP FUNCTION document_search_track()")
        op.execute("DELETE FROM document_search")
        op.execute(f"INSERT INTO document_search (key, document_id, body) {_all_documents_text(False)}")


def downgrade() -> None:
    large_accounts = importlib.import_module(_0018)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE document_search")
        large_accounts._sqlite_search()
    else:
        op.execute("DROP TABLE document_search")
        large_accounts._postgresql_search()
