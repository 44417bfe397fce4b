"""The documents' text index (migrations 0018 and 0021): one row per document, keyed by its id,
holding its client name, reference and observations and its lines' names and descriptions, the
fields apart by U+001F (so that a text is never found across two of them).

The store notes a document whenever its text is written (`index`: a new document with its lines,
a draft's new content, an issue that froze another client name), and its write transaction
rewrites the rows of every document it noted once, just before its commit (`store/db.at_commit`):
one statement from the rows as they then are (two on SQLite when rows are replaced), whatever
the number of documents of the batch; no trigger, so that a line costs the index nothing of its
own. On SQLite that also keeps the FTS5 table out of the batch's savepoints, where it wrote its
pending text to the file at every use case (a segment each, then merges of those segments). A
use case undone by its savepoint leaves its note: the row is then written from what is there.

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

import orjson
from sqlalchemy import Connection, bindparam, column, select, table, text

from ixserver.store.db import at_commit
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


_IDS = {
    "sqlite": "(SELECT value FROM json_each(:ids))",  # a JSON list: one statement for any number
    "postgresql": "ANY(:ids)",  # an array
}
_INDEX = {
    "sqlite": (
        Prepared(text(f"DELETE FROM document_search WHERE rowid IN {_IDS['sqlite']}")),
        Prepared(
            text(
                f"INSERT INTO document_search (rowid, body) SELECT d.id, {_body('sqlite')}"
                f" FROM documents d WHERE d.id IN {_IDS['sqlite']}"
            )
        ),  # fmt: skip
    ),
    "postgresql": (
        None,  # the insert rewrites the rows it meets
        Prepared(
            text(
                f"INSERT INTO document_search (key, document_id, body) SELECT d.id, d.id, {_body('postgresql')}"
                f" FROM documents d WHERE d.id = {_IDS['postgresql']} ORDER BY d.id"
                " ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body"
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


class _Noted(dict[int, bool]):
    """The documents whose rows a write transaction rewrites before its commit: id -> whether it
    is new (has no row yet)."""

    def __call__(self, conn: Connection) -> None:
        _write(conn, self)


_NOTED = "document_search"


def index(conn: Connection, document_id: int, new: bool) -> None:
    """Note that the document's text was written (`new`: it has no row yet): its row is
    rewritten from its rows as they are at the end of the transaction, with every other noted
    one; at once outside a transaction of `Database.transaction`."""
    noted = at_commit(conn, _NOTED, _Noted)
    if noted is None:
        _write(conn, {document_id: new})
    else:
        noted[document_id] = noted.get(document_id, True) and new


def _write(conn: Connection, noted: dict[int, bool]) -> None:
    """Write the rows of the noted documents (sent: on PostgreSQL with the statement that follows,
    or the commit)."""
    dialect = conn.dialect.name
    forget, write = _INDEX[dialect]
    stale = sorted(i for i, new in noted.items() if not new)
    if forget is not None and stale:
        forget.send(conn, {"ids": _ids(dialect, stale)})
    write.send(conn, {"ids": _ids(dialect, sorted(noted))})


def _ids(dialect: str, ids: list[int]) -> Any:
    return orjson.dumps(ids).decode() if dialect == "sqlite" else ids


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
