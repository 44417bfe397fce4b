"""The documents' text index (migrations 0018 and 0021): one row per document, keyed by its id,
holding its client name, reference and observations and its lines' names and descriptions, the
fields apart by U+001F (so that a text is never found across two of them).

The store writes a document's row once per write of its text (`index`: a new document with its
lines, a draft's new content, an issue that froze another client name), in one statement built
from the rows just written; no trigger, so that a line costs the index nothing of its own.

- SQLite: an FTS5 table with the trigram tokenizer (case folded) that keeps its text (so a row
  can be rewritten without giving the text it had); a text is found as a phrase (`MATCH '"…"'`),
  which is a substring search for texts of at least three characters. Shorter texts cannot be
  looked up in trigrams: the caller searches the account's documents row by row instead.
- PostgreSQL: a table (key, document_id, body) with a pg_trgm GIN index on `body`, searched with
  `ILIKE '%…%'`.

Neither can be declared in SQLAlchemy's metadata; this module holds their SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, column, select, table, text

from ixserver.store.prepared import Prepared

TRIGRAM = 3  # the shortest text the trigram index finds

_search = table("document_search", column("document_id"), column("body"))


def _body(dialect: str) -> str:
    """The indexed text of the document `d`, in SQL."""
    sep, joined = ("char(31)", "group_concat") if dialect == "sqlite" else ("chr(31)", "string_agg")
    lines = (
        f"(SELECT {sep} || {joined}(l.name || {sep} || l.description, {sep})"
        " FROM document_lines l WHERE l.document_id = d.id)"
    )
    return (
        f"d.client_name || {sep} || coalesce(d.reference, '') || {sep} || coalesce(d.observations, '')"
        f" || coalesce({lines}, '')"
    )


_INDEX = {
    "sqlite": (
        Prepared(text("DELETE FROM document_search WHERE rowid = :document_id")),
        Prepared(
            text(
                f"INSERT INTO document_search (rowid, body) SELECT d.id, {_body('sqlite')}"
                " FROM documents d WHERE d.id = :document_id"
            )
        ),  # fmt: skip
    ),
    "postgresql": (
        None,  # the insert rewrites the row it meets
        Prepared(
            text(
                f"INSERT INTO document_search (key, document_id, body) SELECT d.id, d.id, {_body('postgresql')}"
                " FROM documents d WHERE d.id = :document_id ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body"
            )
        ),  # fmt: skip
    ),
}
_FORGET = {
    "sqlite": text(
        "DELETE FROM document_search WHERE rowid IN (SELECT id FROM documents WHERE account_id = :account_id)"
    ),
    "postgresql": text(
        "DELETE FROM document_search WHERE key IN (SELECT id FROM documents WHERE account_id = :account_id)"
    ),
}


def index(conn: Connection, document_id: int, new: bool) -> None:
    """(Re)write the document's row from its rows as they are now (sent after them: on PostgreSQL
    with the statements it follows); `new`: it has no row yet."""
    forget, write = _INDEX[conn.dialect.name]
    if forget is not None and not new:
        forget.send(conn, {"document_id": document_id})
    write.send(conn, {"document_id": document_id})


def forget_account(conn: Connection, account_id: int) -> None:
    """Remove the rows of the account's documents, before they are deleted."""
    conn.execute(_FORGET[conn.dialect.name], {"account_id": account_id})


def indexed(dialect: str, needle: str) -> bool:
    """Whether the index finds `needle` (else search the documents themselves)."""
    return dialect == "postgresql" or len(needle) >= TRIGRAM


_SQLITE = text("SELECT s.rowid AS document_id FROM document_search s WHERE document_search MATCH :phrase").columns(
    column("document_id")
)


def matching_ids(dialect: str) -> Any:
    """The ids of the documents (of any account) whose text holds the bound `text` (a LIKE operand
    escaped with "/", on PostgreSQL) or `phrase` (an FTS5 phrase, on SQLite); see `params`."""
    if dialect == "sqlite":
        found = _SQLITE.subquery("found")
        return select(found.c.document_id)
    return select(_search.c.document_id).where(_search.c.body.icontains(bindparam("text"), escape="/"))


def params(dialect: str, needle: str) -> dict[str, str]:
    """What `matching_ids` binds besides `text`."""
    return {"phrase": '"' + needle.replace('"', '""') + '"'} if dialect == "sqlite" else {}
