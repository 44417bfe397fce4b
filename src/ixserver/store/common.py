"""Query shapes several resources share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection


def make_default(conn: Connection, table: Table, account_id: int, row_id: int) -> None:
    """Exactly one default per account (series, taxes): clear the old one, set the new one."""
    c = table.c
    conn.execute(update(table).where(c.account_id == account_id, c.is_default, c.id != row_id).values(is_default=False))
    conn.execute(update(table).where(c.id == row_id).values(is_default=True))


def page(
    conn: Connection, query: Select[Any], page_number: int, per_page: int
) -> tuple[list[Any], int]:  # rows (Row), unpacked by position
    """One page of `query` (already ordered) and the total number of rows it has."""
    total = int(conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())
    offset = page_offset(page_number, per_page, total)
    if offset is None:
        return [], total
    rows = conn.execute(query.limit(per_page).offset(offset)).all()
    return list(rows), total


def page_offset(page_number: int, per_page: int, total: int) -> int | None:
    """Where a page starts among `total` rows; None past the end (whose offset may be more than
    a BIGINT holds: it is never sent to the database)."""
    offset = (page_number - 1) * per_page
    return offset if offset < total else None


def insert_row(conn: Connection, table: Table, *, account_id: int, created_at: datetime, **values: Any) -> int:
    """Insert an account's row; its new id."""
    statement = insert(table).values(account_id=account_id, created_at=created_at, **values).returning(table.c.id)
    return int(conn.execute(statement).scalar_one())


def update_row(conn: Connection, table: Table, row_id: int, **values: Any) -> None:
    if values:
        conn.execute(update(table).where(table.c.id == row_id).values(**values))


def delete_row(conn: Connection, table: Table, row_id: int) -> None:
    conn.execute(delete(table).where(table.c.id == row_id))


def delete_account_rows(conn: Connection, table: Table, account_id: int) -> None:
    conn.execute(delete(table).where(table.c.account_id == account_id))
