"""The documents' counts per account, type, status and archived flag: what the lists' totals
add up instead of counting the account's documents.

Database triggers (migration 0005) record every change of a document's type, status or archived
flag as a row of `document_count_changes`, in the transaction of the change. They only insert, so
no writer ever waits on another there. Writers fold those rows into `document_counts` between
batches (writes/batches.py); a list's total is the sum of both tables (store/document_lists.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ixserver.store.tables import document_count_changes, document_counts, documents

_d = documents.c


_COUNT_KEY = ("account_id", "doc_type", "status", "archived")


def fold_count_changes(conn: Connection) -> int:
    """Fold the recorded count changes into `document_counts`; how many were folded. Safe to
    run in several processes at once: each change row is deleted, so added, once."""
    c = document_count_changes.c
    rows = conn.execute(
        delete(document_count_changes).returning(c.account_id, c.doc_type, c.status, c.archived, c.delta)
    )
    totals: dict[tuple[int, str, str, bool], int] = {}
    folded = 0
    for account_id, doc_type, status, archived, delta in rows:
        key = (account_id, doc_type, status, bool(archived))
        totals[key] = totals.get(key, 0) + delta
        folded += 1
    upsert = _dialect_insert(conn)(document_counts)
    upsert = upsert.on_conflict_do_update(
        index_elements=list(_COUNT_KEY), set_={"n": document_counts.c.n + upsert.excluded.n}
    )
    for key in sorted(totals):  # one order in every process: no deadlock between two folds
        if totals[key]:
            conn.execute(upsert, {**dict(zip(_COUNT_KEY, key, strict=True)), "n": totals[key]})
    return folded


def _dialect_insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def count_disagreements(conn: Connection, account_id: int) -> list[tuple[str, str, bool, int, int]]:
    """(type, status, archived, kept count, actual count) wherever the kept counts are wrong.
    One statement, so one state of the database: a fold or a write committed meanwhile cannot
    make counts that agree look as if they did not."""
    c, ch = document_counts.c, document_count_changes.c
    key = ("doc_type", "status", "archived")
    zero, one = literal(0), literal(1)
    rows = union_all(
        select(c.doc_type, c.status, c.archived, c.n.label("kept"), zero.label("actual")).where(
            c.account_id == account_id
        ),
        select(ch.doc_type, ch.status, ch.archived, ch.delta, zero).where(ch.account_id == account_id),
        select(_d.doc_type, _d.status, _d.archived, zero, one).where(_d.account_id == account_id),
    ).subquery()
    kept, actual = func.sum(rows.c.kept), func.sum(rows.c.actual)
    query = (
        select(*(rows.c[k] for k in key), kept, actual)
        .group_by(*(rows.c[k] for k in key))
        .having(kept != actual)
        .order_by(*(rows.c[k] for k in key))
    )
    return [(r[0], r[1], bool(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]
