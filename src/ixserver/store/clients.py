"""Queries on clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.clients import Client
from ixserver.store.common import delete_account_rows, insert_row, page, update_row
from ixserver.store.prepared import Prepared
from ixserver.store.tables import clients, documents

_c = clients.c

# Every column a client object is rendered from, in the table's order.
FIELDS = (
    "id", "name", "code", "email", "language", "address", "city", "postal_code", "country", "fiscal_id",
    "website", "phone", "fax", "contact_name", "contact_email", "contact_phone", "contact_mobile",
    "observations", "send_options", "payment_days", "tax_exemption_code", "statement_token",
)  # fmt: skip


_LIST = select(*(getattr(_c, f) for f in FIELDS)).where(_c.account_id == bindparam("account_id")).order_by(_c.id)
_ONE = Prepared(_LIST.where(_c.id == bindparam("client_id")))
_BY_NAME = Prepared(_LIST.where(_c.name == bindparam("name")))
_BY_CODE = Prepared(_LIST.where(_c.code == bindparam("code")))


def _first(conn: Connection, query: Prepared, params: dict[str, Any]) -> Client | None:
    r = query.first(conn, params)
    return Client(*r) if r else None


def get_client(conn: Connection, account_id: int, client_id: int) -> Client | None:
    return _first(conn, _ONE, {"account_id": account_id, "client_id": client_id})


def client_by_name(conn: Connection, account_id: int, name: str) -> Client | None:
    return _first(conn, _BY_NAME, {"account_id": account_id, "name": name})


def client_by_code(conn: Connection, account_id: int, code: str) -> Client | None:
    return _first(conn, _BY_CODE, {"account_id": account_id, "code": code})


def list_clients(
    conn: Connection, account_id: int, page_number: int, per_page: int, *, fiscal_id: str | None = None
) -> tuple[list[Client], int]:
    query = _LIST.params(account_id=account_id)
    if fiscal_id is not None:
        query = query.where(_c.fiscal_id == fiscal_id)
    rows, total = page(conn, query, page_number, per_page)
    return [Client(*r) for r in rows], total


def insert_client(conn: Connection, *, account_id: int, created_at: datetime, **values: Any) -> int:
    return insert_row(conn, clients, account_id=account_id, created_at=created_at, **values)


def update_client(conn: Connection, client_id: int, **values: Any) -> None:
    update_row(conn, clients, client_id, **values)


def client_by_statement_token(conn: Connection, token: str) -> tuple[int, Client] | None:
    """The client whose public statement this token opens, with its account's id."""
    row = conn.execute(
        select(_c.account_id, *(getattr(_c, f) for f in FIELDS)).where(_c.statement_token == token)
    ).first()
    return (int(row[0]), Client(*row[1:])) if row else None


def delete_account_clients(conn: Connection, account_id: int) -> None:
    delete_account_rows(conn, clients, account_id)


def has_issued_documents(conn: Connection, client_id: int) -> bool:
    d = documents.c
    return bool(conn.execute(select(exists().where(d.client_id == client_id, d.status.in_(states.ISSUED)))).scalar())
