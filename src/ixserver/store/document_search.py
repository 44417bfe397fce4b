"""The documents' text index (migration 0018): each document's client name, reference,
observations and lines' names and descriptions, kept by triggers in `document_search`.

- SQLite: an FTS5 table with the trigram tokenizer (case folded), whose rowid is the document's
  id; a text is found as a phrase (`MATCH '"…"'`), which is a substring search for texts of at
  least three characters. Shorter texts cannot be looked up in trigrams: the caller searches the
  account's documents row by row instead.
- PostgreSQL: a table with a pg_trgm GIN index on `body`, searched with `ILIKE '%…%'`.

Neither can be declared in SQLAlchemy's metadata; this module holds their SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, column, literal_column, select, table, text

TRIGRAM = 3  # the shortest text the trigram index finds

_search = table("document_search", column("document_id"), column("body"))


def indexed(dialect: str, needle: str) -> bool:
    """Whether the index finds `needle` (else search the documents themselves)."""
    return dialect == "postgresql" or len(needle) >= TRIGRAM


def matching_ids(dialect: str) -> Any:
    """The ids of the documents (of any account) whose text holds the bound `text` (a LIKE operand
    escaped with "/", on PostgreSQL) or `phrase` (an FTS5 phrase, on SQLite); see `params`."""
    if dialect == "sqlite":
        return select(literal_column("rowid")).select_from(text("document_search")).where(text("document_search MATCH :phrase"))
    return select(_search.c.document_id).where(_search.c.body.icontains(bindparam("text"), escape="/"))


def params(dialect: str, needle: str) -> dict[str, str]:
    """What `matching_ids` binds besides `text`."""
    return {"phrase": '"' + needle.replace('"', '""') + '"'} if dialect == "sqlite" else {}
