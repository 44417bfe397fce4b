"""The documents' text index (migration 0018), kept by triggers in `document_search`: a row per
document (key: its id; its client name, reference and observations) and a row per line (key:
minus the line's id; its name and description), the fields apart by U+001F.

- SQLite: a contentless FTS5 table with the trigram tokenizer (case folded), whose rowid is the
  key; a text is found as a phrase (`MATCH '"…"'`), which is a substring search for texts of at
  least three characters. Shorter texts cannot be looked up in trigrams: the caller searches the
  account's documents row by row instead.
- PostgreSQL: a table (key, document_id, body) with a pg_trgm GIN index on `body`, searched with
  `ILIKE '%…%'`.

Neither can be declared in SQLAlchemy's metadata; this module holds their SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, column, select, table, text

TRIGRAM = 3  # the shortest text the trigram index finds

_search = table("document_search", column("document_id"), column("body"))
# a line's row is keyed by minus its id: its document is the line's
_SQLITE = text(
    "SELECT CASE WHEN s.rowid > 0 THEN s.rowid"
    " ELSE (SELECT l.document_id FROM document_lines l WHERE l.id = -s.rowid) END AS document_id"
    " FROM document_search s WHERE document_search MATCH :phrase"
).columns(column("document_id"))


def indexed(dialect: str, needle: str) -> bool:
    """Whether the index finds `needle` (else search the documents themselves)."""
    return dialect == "postgresql" or len(needle) >= TRIGRAM


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
