"""Queries on a client's current account (api-v2 §12): its initial balance, treasury movements,
regularizations and their counter, and the client's documents as the balance counts them.

Amounts are fetched row by row and added by the caller, in Decimal (SQLite keeps money as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.payments import LEDGER_TYPES
from ixserver.domain.treasury import InitialBalance, Regularization, TreasuryMovement
from ixserver.store.common import delete_account_rows, page
from ixserver.store.tables import (
    client_initial_balances,
    clients,
    documents,
    regularization_counters,
    regularizations,
    treasury_movements,
)

_b = client_initial_balances.c
_r = regularizations.c
_m = treasury_movements.c
_d = documents.c
_k = regularization_counters.c


@dataclass(frozen=True)
class DocumentRow:
    """An issued document of the client, as its current account counts it."""

    id: int
    doc_type: str
    status: str
    due_date: date
    before_taxes: Decimal
    total: Decimal
    retention_amount: Decimal
    exchange_rate: Decimal | None


def lock_client(conn: Connection, account_id: int, client_id: int) -> bool:
    """Whether the account has this client, whose row is then locked until the transaction
    ends (PostgreSQL: SELECT … FOR UPDATE, so that the writes of one client's current account,
    each checked against its balance, run one after the other; SQLite's write transaction is
    exclusive already)."""
    query = select(clients.c.id).where(clients.c.account_id == account_id, clients.c.id == client_id)
    return conn.execute(query.with_for_update()).first() is not None


# -- initial balance -----------------------------------------------------------------------


def initial_balance(conn: Connection, client_id: int) -> InitialBalance | None:
    row = conn.execute(select(_b.value, _b.date, _b.observation).where(_b.client_id == client_id)).first()
    return InitialBalance(*row) if row else None


def set_initial_balance(
    conn: Connection,
    *,
    account_id: int,
    client_id: int,
    value: Decimal,
    when: date,
    observation: str | None,
    now: datetime,
) -> None:
    """Set (or replace) the client's initial balance; the caller holds the client's lock."""
    values = {"value": value, "date": when, "observation": observation}
    changed = conn.execute(update(client_initial_balances).where(_b.client_id == client_id).values(**values))
    if not changed.rowcount:
        conn.execute(
            insert(client_initial_balances).values(client_id=client_id, account_id=account_id, created_at=now, **values)
        )


# -- regularizations -----------------------------------------------------------------------

_REGULARIZATION = (_r.id, _r.number, _r.value, _r.date, _r.observation)


def take_regularization_number(conn: Connection, account_id: int) -> int:
    """The account's next regularization number, gapless: taken in the caller's write
    transaction, so that a regularization rolled back consumes nothing. One statement on both
    databases, INSERT … ON CONFLICT DO UPDATE … RETURNING: the account's first number creates
    the counter; on PostgreSQL the update locks the counter row until commit as SELECT … FOR
    UPDATE does (store/counters.py), and sees the number the previous holder committed; on
    SQLite the transaction holds the database's write lock already."""
    if not conn.in_transaction():
        raise RuntimeError("take_regularization_number must run inside the caller's write transaction")
    dialect_insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(regularization_counters)
        .values(account_id=account_id, current_number=1)
        .on_conflict_do_update(index_elements=[_k.account_id], set_={"current_number": _k.current_number + 1})
        .returning(_k.current_number)
    )
    return int(conn.execute(statement).scalar_one())


def insert_regularization(
    conn: Connection,
    *,
    account_id: int,
    client_id: int,
    number: int,
    value: Decimal,
    when: date,
    observation: str | None,
    now: datetime,
) -> int:
    statement = (
        insert(regularizations)
        .values(
            account_id=account_id,
            client_id=client_id,
            number=number,
            value=value,
            date=when,
            observation=observation,
            created_at=now,
        )
        .returning(_r.id)
    )
    return int(conn.execute(statement).scalar_one())


def _of_client(account_id: int, client_id: int) -> Any:
    return select(*_REGULARIZATION).where(_r.account_id == account_id, _r.client_id == client_id)


def get_regularization(
    conn: Connection, account_id: int, client_id: int, regularization_id: int
) -> Regularization | None:
    row = conn.execute(_of_client(account_id, client_id).where(_r.id == regularization_id)).first()
    return Regularization(*row) if row else None


def list_regularizations(
    conn: Connection, account_id: int, client_id: int, page_number: int, per_page: int
) -> tuple[list[Regularization], int]:
    """One page of the client's regularizations, in number order."""
    rows, total = page(conn, _of_client(account_id, client_id).order_by(_r.number), page_number, per_page)
    return [Regularization(*r) for r in rows], total


def regularization_values(conn: Connection, account_id: int, client_id: int) -> list[Decimal]:
    query = select(_r.value).where(_r.account_id == account_id, _r.client_id == client_id)
    return list(conn.scalars(query).all())


def delete_regularization(conn: Connection, account_id: int, client_id: int, regularization_id: int) -> bool:
    """Whether there was such a regularization (its number is not given again)."""
    statement = delete(regularizations).where(
        _r.account_id == account_id, _r.client_id == client_id, _r.id == regularization_id
    )
    return bool(conn.execute(statement).rowcount)


# -- treasury movements --------------------------------------------------------------------

_MOVEMENT = (_m.id, _m.movement_type, _m.payment_method, _m.value, _m.date, _m.serie, _m.observation)


def insert_movement(
    conn: Connection,
    *,
    account_id: int,
    client_id: int,
    movement_type: str,
    payment_method: str | None,
    value: Decimal,
    when: date,
    serie: str | None,
    observation: str | None,
    now: datetime,
) -> TreasuryMovement:
    statement = (
        insert(treasury_movements)
        .values(
            account_id=account_id,
            client_id=client_id,
            movement_type=movement_type,
            payment_method=payment_method,
            value=value,
            date=when,
            serie=serie,
            observation=observation,
            created_at=now,
        )
        .returning(*_MOVEMENT)
    )
    return TreasuryMovement(*conn.execute(statement).one())


def movements(conn: Connection, account_id: int, client_id: int) -> list[TreasuryMovement]:
    query = select(*_MOVEMENT).where(_m.account_id == account_id, _m.client_id == client_id).order_by(_m.id)
    return [TreasuryMovement(*r) for r in conn.execute(query)]


def delete_movement(conn: Connection, account_id: int, client_id: int, movement_id: int) -> bool:
    statement = delete(treasury_movements).where(
        _m.account_id == account_id, _m.client_id == client_id, _m.id == movement_id
    )
    return bool(conn.execute(statement).rowcount)


# -- the client's documents ----------------------------------------------------------------


def ledger_documents(conn: Connection, account_id: int, client_id: int) -> list[DocumentRow]:
    """The client's issued, not canceled documents whose amounts reach its current account
    (payments.LEDGER_TYPES, payments.balance_due)."""
    query = select(
        _d.id, _d.doc_type, _d.status, _d.due_date, _d.before_taxes, _d.total, _d.retention_amount, _d.exchange_rate
    ).where(
        _d.account_id == account_id,
        _d.client_id == client_id,
        _d.doc_type.in_(LEDGER_TYPES),
        _d.status.in_(states.LIVE),
    )
    return [DocumentRow(*r) for r in conn.execute(query.order_by(_d.id))]


# -- the account ---------------------------------------------------------------------------


def delete_account_treasury(conn: Connection, account_id: int) -> None:
    """Everything of the account's current accounts, its regularization counter included (a
    sandbox reset: a new account numbers from NR00000001)."""
    for table in (treasury_movements, regularizations, client_initial_balances, regularization_counters):
        delete_account_rows(conn, table, account_id)
