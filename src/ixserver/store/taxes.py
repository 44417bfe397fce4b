"""Queries on taxes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.taxes import Tax
from ixserver.store.common import delete_account_rows, delete_row, insert_row, update_row
from ixserver.store.common import make_default as _make_default
from ixserver.store.prepared import Prepared
from ixserver.store.tables import document_lines, documents, taxes

_t = taxes.c
_COLUMNS = (_t.id, _t.name, _t.value, _t.region, _t.code, _t.is_default)


def _row(r: Any) -> Tax:
    return Tax(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


_LIST = select(*_COLUMNS).where(_t.account_id == bindparam("account_id")).order_by(_t.id)
_ALL = Prepared(_LIST)
_ONE = _LIST.where(_t.id == bindparam("tax_id"))
_BY_NAME = _LIST.where(_t.name == bindparam("name"))


def list_taxes(conn: Connection, account_id: int) -> list[Tax]:
    return [_row(r) for r in _ALL.rows(conn, {"account_id": account_id})]


def list_taxes_later(conn: Connection, account_id: int) -> Callable[[], list[Tax]]:
    """`list_taxes`, read with the connection's next waited statement (`Prepared.later`)."""
    pending = _ALL.later(conn, {"account_id": account_id})
    return lambda: [_row(r) for r in pending.rows()]


def get_tax(conn: Connection, account_id: int, tax_id: int) -> Tax | None:
    r = conn.execute(_ONE, {"account_id": account_id, "tax_id": tax_id}).first()
    return _row(r) if r else None


def tax_by_name(conn: Connection, account_id: int, name: str) -> Tax | None:
    r = conn.execute(_BY_NAME, {"account_id": account_id, "name": name}).first()
    return _row(r) if r else None


def insert_tax(conn: Connection, *, account_id: int, created_at: datetime, **values: Any) -> int:
    return insert_row(conn, taxes, account_id=account_id, created_at=created_at, **values)


def update_tax(conn: Connection, tax_id: int, **values: Any) -> None:
    update_row(conn, taxes, tax_id, **values)


def delete_tax(conn: Connection, tax_id: int) -> None:
    delete_row(conn, taxes, tax_id)


def make_default(conn: Connection, account_id: int, tax_id: int) -> None:
    _make_default(conn, taxes, account_id, tax_id)


def delete_account_taxes(conn: Connection, account_id: int) -> None:
    delete_account_rows(conn, taxes, account_id)


def is_on_issued_documents(conn: Connection, tax_id: int) -> bool:
    """Whether a line of a numbered document carries this tax (its rate may not change then)."""
    d, line = documents.c, document_lines.c
    used = exists().where(line.tax_id == tax_id, d.id == line.document_id, d.status.in_(states.ISSUED))
    return bool(conn.execute(select(used)).scalar())
