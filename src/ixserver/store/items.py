"""Queries on catalogue items (with their tax)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection

from ixserver.domain.items import Item
from ixserver.store.common import delete_account_rows, delete_row, insert_row, page, update_row
from ixserver.store.prepared import PerLength
from ixserver.store.tables import document_lines, items, taxes

_i = items.c
_t = taxes.c


_LIST = (
    select(_i.id, _i.name, _i.description, _i.unit_price, _i.unit, _i.tax_id, _t.name, _t.value)
    .select_from(items.outerjoin(taxes, _t.id == _i.tax_id))
    .where(_i.account_id == bindparam("account_id"))
    .order_by(_i.id)
)
_ONE = _LIST.where(_i.id == bindparam("item_id"))
_BY_NAME = _LIST.where(_i.name == bindparam("name"))
# A statement per number of names (cheaper than an expanding IN).
_BY_NAMES = PerLength(lambda count: _LIST.where(_i.name.in_([bindparam(f"n{k}") for k in range(count)])))


def get_item(conn: Connection, account_id: int, item_id: int) -> Item | None:
    r = conn.execute(_ONE, {"account_id": account_id, "item_id": item_id}).first()
    return Item(*r) if r else None


def item_by_name(conn: Connection, account_id: int, name: str) -> Item | None:
    r = conn.execute(_BY_NAME, {"account_id": account_id, "name": name}).first()
    return Item(*r) if r else None


def items_by_names(conn: Connection, account_id: int, names: list[str]) -> dict[str, Item]:
    return items_by_names_later(conn, account_id, names)()


def items_by_names_later(conn: Connection, account_id: int, names: list[str]) -> Callable[[], dict[str, Item]]:
    """`items_by_names`, read with the connection's next waited statement (`Prepared.later`)."""
    params: dict[str, Any] = {"account_id": account_id, **{f"n{k}": name for k, name in enumerate(names)}}
    pending = _BY_NAMES(len(names)).later(conn, params)
    return lambda: {row[1]: Item(*row) for row in pending.rows()}


def list_items(conn: Connection, account_id: int, page_number: int, per_page: int) -> tuple[list[Item], int]:
    rows, total = page(conn, _LIST.params(account_id=account_id), page_number, per_page)
    return [Item(*r) for r in rows], total


def insert_item(conn: Connection, *, account_id: int, created_at: datetime, **values: Any) -> int:
    return insert_row(conn, items, account_id=account_id, created_at=created_at, **values)


def update_item(conn: Connection, item_id: int, **values: Any) -> None:
    update_row(conn, items, item_id, **values)


def delete_item(conn: Connection, item_id: int) -> None:
    delete_row(conn, items, item_id)


def delete_account_items(conn: Connection, account_id: int) -> None:
    delete_account_rows(conn, items, account_id)


def is_on_documents(conn: Connection, item_id: int) -> bool:
    """Whether a document line, of a draft or not, was made from this item."""
    return bool(conn.execute(select(exists().where(document_lines.c.item_id == item_id))).scalar())
