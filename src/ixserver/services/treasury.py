"""A client's current account (api-v2 §12, v3): balance, initial balance, regularizations,
treasury movements. The rule of the balance is domain/treasury.py's.

Every write locks the client's row first (store/treasury.lock_client): the writes of one current
account run one after the other, each checked against the balance the previous one left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import treasury as rules
from ixserver.domain.errors import (
    ClientNotFound,
    RegularizationNotFound,
    TreasuryMovementInvalid,
    TreasuryMovementNotFound,
    raise_if,
)
from ixserver.domain.money import ZERO, to_cents
from ixserver.domain.treasury import InitialBalance, Regularization, TreasuryMovement
from ixserver.services import clients as client_service
from ixserver.services import clocks
from ixserver.store import sequences as sequence_store
from ixserver.store import treasury as store
from ixserver.store.documents import live_settlements
from ixserver.writes.use_cases import of_account


@dataclass(frozen=True)
class EntryInput:
    """An initial balance or a regularization as a request gives it; None = not given."""

    value: Decimal | None = None
    date: date | None = None
    observation: str | None = None


@dataclass(frozen=True)
class MovementInput:
    """A treasury movement as a request gives it; None = not given."""

    value: Decimal | None = None
    movement_type: str | None = None
    payment_method: str | None = None
    date: date | None = None
    serie: str | None = None
    observation: str | None = None


@dataclass(frozen=True)
class ClientBalance:
    initial: InitialBalance | None
    balance: rules.Balance


def _locked(conn: Connection, account_id: int, client_id: int) -> None:
    if not store.lock_client(conn, account_id, client_id):
        raise ClientNotFound()


def _balance(conn: Connection, account_id: int, client_id: int, today: date) -> ClientBalance:
    initial = store.initial_balance(conn, client_id)
    settlements = live_settlements(conn, account_id, client_id=client_id)
    documents = [
        rules.ClientDocument(
            doc_type=d.doc_type,
            status=d.status,
            due_date=d.due_date,
            before_taxes=d.before_taxes,
            total=d.total,
            retention_amount=d.retention_amount,
            exchange_rate=d.exchange_rate,
            settlements=tuple(settlements.get(d.id, ())),
        )
        for d in store.ledger_documents(conn, account_id, client_id)
    ]
    movements = [rules.Movement(m.movement_type, m.value) for m in store.movements(conn, account_id, client_id)]
    figures = rules.balance(
        initial=initial.value if initial else ZERO,
        documents=documents,
        movements=movements,
        regularizations=store.regularization_values(conn, account_id, client_id),
        today=today,
    )
    return ClientBalance(initial, figures)


# -- reads (on a snapshot) -----------------------------------------------------------------


def client_balance(conn: Connection, account_id: int, client_id: int) -> ClientBalance:
    client_service.get_client(conn, account_id, client_id)
    return _balance(conn, account_id, client_id, clocks.account_today(conn, account_id))


def list_regularizations(
    conn: Connection, account_id: int, client_id: int, page: int, per_page: int
) -> tuple[list[Regularization], int]:
    client_service.get_client(conn, account_id, client_id)
    return store.list_regularizations(conn, account_id, client_id, page, per_page)


# -- writes (in the writer's transaction) --------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    """A checked amount (at most two decimals) kept with exactly two (rounding: domain/money)."""
    return to_cents(value)


@of_account
def set_initial_balance(conn: Connection, account_id: int, client_id: int, sent: EntryInput) -> InitialBalance:
    _locked(conn, account_id, client_id)
    raise_if(rules.initial_balance_problems(sent.value, sent.date))
    assert sent.value is not None and sent.date is not None
    store.set_initial_balance(
        conn,
        account_id=account_id,
        client_id=client_id,
        value=_cents(sent.value),
        when=sent.date,
        observation=sent.observation,
        now=clock.now(),
    )
    found = store.initial_balance(conn, client_id)
    assert found is not None
    return found


@of_account
def create_regularization(conn: Connection, account_id: int, client_id: int, sent: EntryInput) -> Regularization:
    _locked(conn, account_id, client_id)
    remaining = _balance(conn, account_id, client_id, clock.today()).balance.remaining_value
    raise_if(rules.regularization_problems(sent.value, sent.date, remaining))
    assert sent.value is not None and sent.date is not None
    number = store.take_regularization_number(conn, account_id)
    regularization_id = store.insert_regularization(
        conn,
        account_id=account_id,
        client_id=client_id,
        number=number,
        value=_cents(sent.value),
        when=sent.date,
        observation=sent.observation,
        now=clock.now(),
    )
    found = store.get_regularization(conn, account_id, client_id, regularization_id)
    assert found is not None
    return found


@of_account
def delete_regularization(conn: Connection, account_id: int, client_id: int, regularization_id: int) -> None:
    _locked(conn, account_id, client_id)
    if not store.delete_regularization(conn, account_id, client_id, regularization_id):
        raise RegularizationNotFound()


@of_account
def create_movement(conn: Connection, account_id: int, client_id: int, sent: MovementInput) -> TreasuryMovement:
    _locked(conn, account_id, client_id)
    method = rules.payment_method(sent.payment_method)
    problems = rules.movement_problems(sent.value, sent.movement_type, method, sent.date)
    serie = sent.serie.strip() if sent.serie and sent.serie.strip() else None
    if serie is not None and not sequence_store.serie_exists(conn, account_id, serie):
        problems.append(f"Serie {serie} doesn't exist")
    if problems:
        raise TreasuryMovementInvalid(*problems)
    movement_type = rules.movement_type(sent.movement_type)
    assert sent.value is not None and sent.date is not None and movement_type is not None
    return store.insert_movement(
        conn,
        account_id=account_id,
        client_id=client_id,
        movement_type=movement_type,
        payment_method=method,
        value=_cents(sent.value),
        when=sent.date,
        serie=serie,
        observation=sent.observation,
        now=clock.now(),
    )


@of_account
def delete_movement(conn: Connection, account_id: int, client_id: int, movement_id: int) -> None:
    _locked(conn, account_id, client_id)
    if not store.delete_movement(conn, account_id, client_id, movement_id):
        raise TreasuryMovementNotFound()
