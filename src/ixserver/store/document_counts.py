"""The documents' counts per account, type, status and archived flag, and the same per date and
per month: what the lists' totals add up instead of counting the account's documents, and where
a deep page starts.

Database triggers (migrations 0005 and 0018) record every change of a document's type, status,
archived flag or date as rows of `document_count_changes`, in the transaction of the change. They
only insert, so no writer ever waits on another there. Writers fold those rows into
`document_counts`, `document_day_counts` and `document_month_counts` between batches
(writes/batches.py); a count is the kept one plus the changes not folded yet
(store/document_lists.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, cast, delete, func, literal, null, select, type_coerce, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ixserver.store.prepared import Prepared
from ixserver.store.tables import (
    document_count_changes,
    document_counts,
    document_day_counts,
    document_month_counts,
    documents,
)

_d = documents.c


_COUNT_KEY = ("account_id", "doc_type", "status", "archived")
_c = document_count_changes.c
# The changes recorded, taken out (a prepared statement: the rows, thousands between two folds
# of a busy writer, are converted without a Result's per-row work).
_TAKE_CHANGES = Prepared(
    delete(document_count_changes).returning(_c.account_id, _c.doc_type, _c.status, _c.archived, _c.date, _c.delta)
)


def fold_count_changes(conn: Connection) -> int:
    """Fold the recorded count changes into `document_counts`, `document_day_counts` and
    `document_month_counts`; how many were folded. Safe to run in several processes at once: each
    change row is deleted, so added, once; the rows are upserted table by table, each in key
    order, so two folds never deadlock."""
    rows = _TAKE_CHANGES.rows(conn)
    totals: dict[tuple[Any, ...], int] = {}
    days: dict[tuple[Any, ...], int] = {}
    months: dict[tuple[Any, ...], int] = {}
    folded = 0
    for account_id, doc_type, status, archived, day, delta in rows:
        key = (account_id, doc_type, status, bool(archived))
        totals[key] = totals.get(key, 0) + delta
        if day is not None:
            days[(*key, day)] = days.get((*key, day), 0) + delta
            month = (*key, day.replace(day=1))
            months[month] = months.get(month, 0) + delta
        folded += 1
    _add(conn, document_counts, _COUNT_KEY, totals)
    _add(conn, document_day_counts, (*_COUNT_KEY, "date"), days)
    _add(conn, document_month_counts, (*_COUNT_KEY, "month"), months)
    return folded


def _add(conn: Connection, table: Any, key_columns: tuple[str, ...], amounts: dict[tuple[Any, ...], int]) -> None:
    upsert = _dialect_insert(conn)(table)
    upsert = upsert.on_conflict_do_update(index_elements=list(key_columns), set_={"n": table.c.n + upsert.excluded.n})
    rows = [{**dict(zip(key_columns, key, strict=True)), "n": n} for key, n in sorted(amounts.items()) if n]
    # sorted: one order in every process, so two folds never deadlock
    for row in rows:
        conn.execute(upsert, row)


def _dialect_insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def month_of(dialect: str, day: Any) -> Any:
    """The first day of the month of a date column, as a date."""
    if dialect == "sqlite":
        return type_coerce(func.date(day, "start of month"), Date)
    return cast(func.date_trunc("month", day), Date)


def count_disagreements(conn: Connection, account_id: int) -> list[tuple[str, str, bool, str, date | None, int, int]]:
    """(type, status, archived, period, date, kept count, actual count) wherever the kept counts
    are wrong: the totals (period "total", date None), the counts per date ("day") and per month
    ("month", the date its first day). One statement, so one state of the database: a fold or a
    write committed meanwhile cannot make counts that agree look as if they did not."""
    c, dc, mc, ch = document_counts.c, document_day_counts.c, document_month_counts.c, document_count_changes.c
    zero, one = literal(0), literal(1)
    total, day, month = literal("total"), literal("day"), literal("month")
    ch_month, d_month = month_of(conn.dialect.name, ch.date), month_of(conn.dialect.name, _d.date)
    rows = union_all(
        select(c.doc_type, c.status, c.archived, total.label("period"), cast(null(), Date).label("date"),
               c.n.label("kept"), zero.label("actual")).where(c.account_id == account_id),
        select(ch.doc_type, ch.status, ch.archived, total, null(), ch.delta, zero).where(ch.account_id == account_id),
        select(_d.doc_type, _d.status, _d.archived, total, null(), zero, one).where(_d.account_id == account_id),
        select(dc.doc_type, dc.status, dc.archived, day, dc.date, dc.n, zero).where(dc.account_id == account_id),
        select(ch.doc_type, ch.status, ch.archived, day, ch.date, ch.delta, zero).where(ch.account_id == account_id),
        select(_d.doc_type, _d.status, _d.archived, day, _d.date, zero, one).where(_d.account_id == account_id),
        select(mc.doc_type, mc.status, mc.archived, month, mc.month, mc.n, zero).where(mc.account_id == account_id),
        select(ch.doc_type, ch.status, ch.archived, month, ch_month, ch.delta, zero).where(ch.account_id == account_id),
        select(_d.doc_type, _d.status, _d.archived, month, d_month, zero, one).where(_d.account_id == account_id),
    ).subquery()  # fmt: skip
    key = [rows.c.doc_type, rows.c.status, rows.c.archived, rows.c.period, rows.c.date]
    kept, actual = func.sum(rows.c.kept), func.sum(rows.c.actual)
    query = select(*key, kept, actual).group_by(*key).having(kept != actual).order_by(*key)
    return [(r[0], r[1], bool(r[2]), r[3], r[4], int(r[5]), int(r[6])) for r in conn.execute(query)]
