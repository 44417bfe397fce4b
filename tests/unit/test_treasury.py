"""A client's current account (domain/treasury.py): the balance rule and what a request may set."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from ixserver.domain import states
from ixserver.domain.payments import Settlement
from ixserver.domain.treasury import (
    ABOVE_REMAINING,
    PAYMENT,
    REIMBURSEMENT,
    ClientDocument,
    Figures,
    Movement,
    balance,
    document_due,
    initial_balance_problems,
    movement_problems,
    movement_type,
    payment_method,
    regularization_number,
    regularization_problems,
)

TODAY = date(2026, 6, 15)
D = Decimal


def doc(
    total: str = "123",
    before_taxes: str = "100",
    *,
    status: str = states.FINAL,
    due: date = TODAY,
    retention: str = "0",
    rate: str | None = None,
    settled: tuple[tuple[str, str], ...] = (),
    doc_type: str = "invoice",
) -> ClientDocument:
    """A document; `settled`: (doc_type, total) of its live receipts and credit notes."""
    settlements = tuple(Settlement(kind, D(amount), D(amount), D(0)) for kind, amount in settled)
    return ClientDocument(
        doc_type, status, due, D(before_taxes), D(total), D(retention), D(rate) if rate else None, settlements
    )


@pytest.mark.parametrize(
    ("document", "with_vat", "without_vat"),
    [
        (doc(), "123", "100.00"),
        (doc(settled=(("receipt", "23"),)), "100", "81.30"),  # 100 × 100/123
        (doc(settled=(("credit_note", "61.50"), ("receipt", "61.50"))), "0", "0"),
        (doc(settled=(("receipt", "100"), ("credit_note", "123"))), "-100", "-81.30"),  # a refund is owed back
        (doc(retention="25"), "98", "79.67"),  # the withholding is not owed to us
        (doc(status=states.SETTLED), "0", "0"),  # settled by hand: paid
        (doc(status=states.SETTLED, settled=(("receipt", "123"), ("credit_note", "123"))), "-123", "-100.00"),
        (doc(doc_type="invoice_receipt", status=states.SETTLED), "0", "0"),  # paid when issued
        (
            doc(doc_type="invoice_receipt", status=states.SETTLED, settled=(("credit_note", "12.30"),)),
            "-12.30",
            "-10.00",
        ),
        (doc(status=states.CANCELED), "0", "0"),
        (doc(status=states.DRAFT), "0", "0"),
        (doc("110", "100", rate="1.1"), "100.00", "90.91"),  # USD at 1.1 per euro, in euros
        (doc("0", "0"), "0", "0"),
    ],
    ids=[
        "open",
        "part-paid",
        "credited-and-paid",
        "refunded",
        "withholding",
        "settled",
        "settled-then-refunded",
        "invoice-receipt",
        "invoice-receipt-refunded",
        "canceled",
        "draft",
        "other-currency",
        "zero",
    ],  # fmt: skip
)
def test_what_a_document_still_asks(document: ClientDocument, with_vat: str, without_vat: str) -> None:
    assert document_due(document) == Figures(D(with_vat), D(without_vat))


YESTERDAY = TODAY - timedelta(days=1)


@pytest.mark.parametrize(
    ("initial", "documents", "movements", "regularizations", "expected"),
    [
        # expected: balance with/without VAT, overdue with/without VAT, remaining total/value
        ("0", [], [], [], ("0", "0", "0", "0", "0", "0")),
        ("100", [], [], [], ("100", "100", "0", "0", "100", "100")),
        ("-50", [], [], [], ("-50", "-50", "0", "0", "-50", "-50")),
        ("0", [doc()], [], [], ("123", "100", "0", "0", "123", "123")),  # due today: not overdue
        ("0", [doc(due=YESTERDAY)], [], [], ("123", "100", "123", "100", "123", "123")),
        ("10", [doc(due=YESTERDAY), doc("61.5", "50")], [], [], ("194.5", "160", "123", "100", "194.5", "194.5")),
        (
            "100",
            [],
            [Movement(PAYMENT, D("50")), Movement(REIMBURSEMENT, D("20"))],
            [],
            ("70", "70", "0", "0", "70", "70"),
        ),
        (
            "100",
            [doc(due=YESTERDAY)],
            [Movement(PAYMENT, D("23"))],
            [D("30")],
            ("170", "147", "123", "100", "200", "170"),
        ),  # fmt: skip
        ("100", [], [Movement(PAYMENT, D("100"))], [], ("0", "0", "0", "0", "0", "0")),
    ],
    ids=[
        "empty",
        "initial",
        "initial-credit",
        "invoice",
        "overdue",
        "two-documents",
        "movements",
        "everything",
        "paid-off",
    ],  # fmt: skip
)
def test_the_balance(
    initial: str,
    documents: list[ClientDocument],
    movements: list[Movement],
    regularizations: list[Decimal],
    expected: tuple[str, ...],
) -> None:
    found = balance(
        initial=D(initial), documents=documents, movements=movements, regularizations=regularizations, today=TODAY
    )
    got = (*(found.balance.with_vat, found.balance.without_vat), found.overdue.with_vat, found.overdue.without_vat,
           found.remaining_total, found.remaining_value)  # fmt: skip
    assert got == tuple(D(e) for e in expected)


def test_a_balance_of_zero_is_never_negative_zero() -> None:
    found = balance(
        initial=D("-0.00"), documents=[], movements=[Movement(PAYMENT, D("0.00"))], regularizations=[], today=TODAY
    )
    for value in (found.balance.with_vat, found.balance.without_vat, found.remaining_total, found.remaining_value):
        assert not value.is_signed()


@pytest.mark.parametrize(
    ("number", "text"), [(1, "NR00000001"), (2, "NR00000002"), (12345678, "NR12345678"), (123456789, "NR123456789")]
)
def test_regularization_numbers(number: int, text: str) -> None:
    assert regularization_number(number) == text


A_DATE = date(2023, 5, 19)


@pytest.mark.parametrize(
    ("value", "when", "problems"),
    [
        ("123.45", A_DATE, []),
        ("-123.45", A_DATE, []),  # the client starts in credit
        ("0", A_DATE, []),
        (None, A_DATE, ["Value can't be blank"]),
        ("123.45", None, ["Date can't be blank"]),
        (None, None, ["Value can't be blank", "Date can't be blank"]),
        ("1.234", A_DATE, ["Value can have at most 2 decimal places"]),
        ("1000000000000", A_DATE, ["Value must be at least -999999999999.99 and at most 999999999999.99"]),
        ("1", date(1970, 1, 1), ["Date must be between 01/01/2000 and 31/12/2099"]),
    ],
)
def test_initial_balance_problems(value: str | None, when: date | None, problems: list[str]) -> None:
    assert initial_balance_problems(D(value) if value is not None else None, when) == problems


@pytest.mark.parametrize(
    ("value", "when", "remaining", "problems"),
    [
        ("10", A_DATE, "10", []),
        ("10.01", A_DATE, "10", [ABOVE_REMAINING]),
        ("1", A_DATE, "0", [ABOVE_REMAINING]),
        ("1", A_DATE, "-5", [ABOVE_REMAINING]),
        ("0", A_DATE, "10", ["Value must be greater than 0 and at most 999999999999.99"]),
        ("-1", A_DATE, "10", ["Value must be greater than 0 and at most 999999999999.99"]),
        (None, None, "10", ["Value can't be blank", "Date can't be blank"]),
        ("10", None, "5", [ABOVE_REMAINING, "Date can't be blank"]),
    ],
)
def test_regularization_problems(value: str | None, when: date | None, remaining: str, problems: list[str]) -> None:
    assert regularization_problems(D(value) if value is not None else None, when, D(remaining)) == problems


@pytest.mark.parametrize(
    ("value", "kind", "method", "when", "problems"),
    [
        ("123.45", "Reimbursement", "MB", A_DATE, []),
        ("1", "payment", None, A_DATE, []),
        (None, None, None, None, ["Value can't be blank", "Movement type can't be blank", "Date can't be blank"]),
        ("0", "Payment", None, A_DATE, ["Value must be greater than 0 and at most 999999999999.99"]),
        ("1", "Refund", None, A_DATE, ["Movement type is not included in the list (Reimbursement, Payment)"]),
        ("1", "Payment", "XX", A_DATE, [
            "Payment method is not included in the list (CC, CD, CH, CI, CO, CS, DE, LC, MB, NU, OU, PR, TB, TR)"]),
    ],
)  # fmt: skip
def test_movement_problems(
    value: str | None, kind: str | None, method: str | None, when: date | None, problems: list[str]
) -> None:
    assert movement_problems(D(value) if value is not None else None, kind, method, when) == problems


def test_movement_types_and_methods_are_read_in_any_case() -> None:
    assert (movement_type(" payment "), movement_type("REIMBURSEMENT"), movement_type("x"), movement_type(None)) == (
        PAYMENT, REIMBURSEMENT, None, None,
    )  # fmt: skip
    assert (payment_method(" mb"), payment_method(""), payment_method(None)) == ("MB", None, None)


def test_every_text_a_movement_stores_fits_its_column() -> None:
    """What the API reads is bounded by its column; the type and the method are stored as one of
    their known values (at most as long as the column)."""
    from sqlalchemy import String

    from ixserver.api import treasury as api
    from ixserver.domain.payments import PAYMENT_MECHANISMS
    from ixserver.domain.treasury import MOVEMENT_TYPES
    from ixserver.store.tables import regularizations, treasury_movements

    columns = treasury_movements.c
    assert isinstance(columns.serie.type, String) and api.TEXT_LIMITS["serie"] <= columns.serie.type.length
    assert isinstance(columns.movement_type.type, String)
    assert max(map(len, MOVEMENT_TYPES)) <= columns.movement_type.type.length
    assert isinstance(columns.payment_method.type, String)
    assert max(map(len, PAYMENT_MECHANISMS)) <= columns.payment_method.type.length
    assert not isinstance(columns.observation.type, String) or columns.observation.type.length is None
    assert (
        not isinstance(regularizations.c.observation.type, String) or regularizations.c.observation.type.length is None
    )
