"""A client's current account (api-v2 §12, the v3 treasury endpoints): its balance, and what
its initial balance, treasury movements and regularizations may be.

The account is a ledger in euros, of what the client owes (debits) and what settles it (credits):

    debits   the initial balance (it may be negative: a credit the client starts with);
             each issued document of the client (`payments.LEDGER_TYPES`: invoice, simplified
             invoice, debit note, VAT MOSS invoice, invoice-receipt) for what it is still due
             (`payments.balance_due`: total less withholding, less its live receipts and credit
             notes, less itself for an invoice-receipt, paid when issued; negative when a credit
             note refunds what was paid; a settled document adds no debt, only such a credit; a
             canceled or draft document nothing);
             each `Reimbursement` movement (money given back to the client)
    credits  each `Payment` movement (money the client paid outside a receipt);
             each regularization (an amount written off, numbered NR00000001, NR00000002 …)

A document in another currency counts its open amount in euros at its own exchange rate
(`totals.in_euros`), to the cent. Then:

    balance.with_vat            debits − credits
    balance.without_vat         the same, each document's open amount scaled by its
                                before_taxes / total (to the cent); the initial balance,
                                movements and regularizations count as they are
    overdue_balance             the open amounts (with and without VAT) of the documents whose
                                due date is before today, alone
    remaining_balance.total     balance.with_vat before regularizations
    remaining_balance.value     balance.with_vat: what is left to regularize; a regularization
                                may not exceed it
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ixserver.domain.limits import MAX_AMOUNT, date_problems, number_problems
from ixserver.domain.money import ZERO, to_cents
from ixserver.domain.payments import PAYMENT_MECHANISMS, Settlement, balance_due
from ixserver.domain.totals import in_euros

REIMBURSEMENT, PAYMENT = "Reimbursement", "Payment"
MOVEMENT_TYPES = (REIMBURSEMENT, PAYMENT)
NUMBER_PREFIX = "NR"
NUMBER_DIGITS = 8
ABOVE_REMAINING = "The regularization amount must be less than or equal to the remaining balance"
MONEY_PLACES = 2  # amounts of the current account are in euros and cents


def regularization_number(number: int) -> str:
    """NR00000001: the regularization's number in its account's gapless counter."""
    return f"{NUMBER_PREFIX}{number:0{NUMBER_DIGITS}d}"


@dataclass(frozen=True)
class ClientDocument:
    """An issued document of the client, as the current account counts it (in its currency)."""

    doc_type: str
    status: str
    due_date: date
    before_taxes: Decimal
    total: Decimal
    retention_amount: Decimal
    exchange_rate: Decimal | None  # units of the document's currency per euro; None in euros
    settlements: tuple[Settlement, ...] = ()


@dataclass(frozen=True)
class Movement:
    movement_type: str  # REIMBURSEMENT or PAYMENT
    value: Decimal


@dataclass(frozen=True)
class Figures:
    with_vat: Decimal
    without_vat: Decimal


@dataclass(frozen=True)
class Balance:
    balance: Figures
    overdue: Figures
    remaining_total: Decimal
    remaining_value: Decimal


def _clean(value: Decimal) -> Decimal:
    """No negative zero ("-0.00") on the wire."""
    return value if value else ZERO


def document_due(document: ClientDocument) -> Figures:
    """What the client still owes on a document, in euros, with and without VAT (negative: what
    the client is owed back)."""
    left = balance_due(
        document.doc_type, document.status, document.total, document.retention_amount, document.settlements
    )
    if not left or not document.total:
        return Figures(ZERO, ZERO)
    with_vat = in_euros(left, document.exchange_rate)
    return Figures(with_vat, to_cents(with_vat * document.before_taxes / document.total))


def balance(
    *,
    initial: Decimal,
    documents: Iterable[ClientDocument],
    movements: Iterable[Movement],
    regularizations: Iterable[Decimal],
    today: date,
) -> Balance:
    """The client's current account (the rule of this module's docstring)."""
    owed, owed_net, overdue, overdue_net = ZERO, ZERO, ZERO, ZERO
    for document in documents:
        due = document_due(document)
        owed, owed_net = owed + due.with_vat, owed_net + due.without_vat
        if document.due_date < today:
            overdue, overdue_net = overdue + due.with_vat, overdue_net + due.without_vat
    moved = sum((m.value if m.movement_type == REIMBURSEMENT else -m.value for m in movements), ZERO)
    regularized = sum(regularizations, ZERO)
    before_regularizations = initial + moved + owed
    with_vat = before_regularizations - regularized
    without_vat = initial + moved + owed_net - regularized
    return Balance(
        balance=Figures(_clean(with_vat), _clean(without_vat)),
        overdue=Figures(_clean(overdue), _clean(overdue_net)),
        remaining_total=_clean(before_regularizations),
        remaining_value=_clean(with_vat),
    )


# -- what a request may set --------------------------------------------------------------


def _value_problems(value: Decimal | None, *, positive: bool) -> list[str]:
    if value is None:
        return ["Value can't be blank"]
    low = ZERO if positive else -MAX_AMOUNT
    return number_problems(value, "Value", low=low, high=MAX_AMOUNT, places=MONEY_PLACES, above_low=positive)


def _date_problems(when: date | None) -> list[str]:
    return ["Date can't be blank"] if when is None else date_problems(when, "Date")


def initial_balance_problems(value: Decimal | None, when: date | None) -> list[str]:
    """An initial balance: any amount in euros and cents (negative: the client starts in credit)."""
    return _value_problems(value, positive=False) + _date_problems(when)


def regularization_problems(value: Decimal | None, when: date | None, remaining: Decimal) -> list[str]:
    """A regularization: an amount above zero, at most what is left to regularize."""
    problems = _value_problems(value, positive=True)
    if not problems and value is not None and value > remaining:
        problems.append(ABOVE_REMAINING)
    return problems + _date_problems(when)


def movement_type(text: str | None) -> str | None:
    """The movement type a request names (any case), or None when it names none of them."""
    if text is None:
        return None
    return next((known for known in MOVEMENT_TYPES if known.lower() == text.strip().lower()), None)


def payment_method(text: str | None) -> str | None:
    """The SAF-T payment mechanism code a request names (any case)."""
    return text.strip().upper() if text is not None and text.strip() else None


def movement_problems(
    value: Decimal | None, movement_type_sent: str | None, method: str | None, when: date | None
) -> list[str]:
    """A treasury movement: an amount above zero, a known type, a known payment method if any."""
    problems = _value_problems(value, positive=True)
    if movement_type_sent is None or not movement_type_sent.strip():
        problems.append("Movement type can't be blank")
    elif movement_type(movement_type_sent) is None:
        problems.append(f"Movement type is not included in the list ({', '.join(MOVEMENT_TYPES)})")
    if method is not None and method not in PAYMENT_MECHANISMS:
        problems.append(f"Payment method is not included in the list ({', '.join(PAYMENT_MECHANISMS)})")
    return problems + _date_problems(when)


@dataclass(frozen=True)
class InitialBalance:
    """A client's initial balance in the current account."""

    value: Decimal
    date: date
    observation: str | None


@dataclass(frozen=True)
class Regularization:
    """A regularization of a client's current account, as stored."""

    id: int
    number: int
    value: Decimal
    date: date
    observation: str | None


@dataclass(frozen=True)
class TreasuryMovement:
    """A treasury movement of a client (a payment or a reimbursement), as stored: `Movement` is
    what the balance counts of it."""

    id: int
    movement_type: str
    payment_method: str | None
    value: Decimal
    date: date
    serie: str | None
    observation: str | None
