"""The payment rules (domain/payments.py), without HTTP: what a payment may be, what is left
open, and the share of the document each receipt carries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ixserver.domain import states
from ixserver.domain.payments import Settlement, open_amount, payment_problems, receipt_amounts

D = Decimal
TODAY = date(2026, 6, 15)
NOT_PAYABLE = "Payments are only possible on invoices, simplified invoices, debit notes and VAT MOSS invoices"


def problems(amount: str | None = "10", *, doc_type: str = "invoice", status: str = states.FINAL, left: str = "123",
             paid_on: date = TODAY) -> list[str]:  # fmt: skip
    return payment_problems(
        doc_type=doc_type, status=status, amount=D(amount) if amount is not None else None, open_=D(left),
        payment_date=paid_on, document_date=date(2026, 6, 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({}, []),
        ({"amount": "123"}, []),
        ({"amount": "123.01"}, ["Amount can't be greater than the amount left to pay (123.00)"]),
        ({"amount": "0"}, ["Amount must be greater than 0"]),
        ({"amount": "-1"}, ["Amount must be greater than 0"]),
        ({"amount": None}, ["Amount can't be blank"]),
        ({"amount": "1.001"}, ["Amount can have at most 2 decimal places"]),
        ({"amount": "1.100"}, []),  # trailing zeros are not decimals
        ({"doc_type": "credit_note"}, [NOT_PAYABLE]),
        ({"doc_type": "invoice_receipt"}, [NOT_PAYABLE]),
        ({"doc_type": "quote"}, [NOT_PAYABLE]),
        ({"status": states.DRAFT}, ["The document must be finalized before it can be paid"]),
        ({"status": states.CANCELED}, ["A canceled document can't be paid"]),
        ({"status": states.SETTLED}, ["The document is settled: there is nothing left to pay"]),
        ({"left": "0"}, ["The document is settled: there is nothing left to pay"]),
        ({"paid_on": date(2026, 5, 31)}, ["Payment date can't be before the document's date (01/06/2026)"]),
        ({"paid_on": date(1999, 1, 1)}, ["Payment date must be between 01/01/2000 and 31/12/2099",
                                          "Payment date can't be before the document's date (01/06/2026)"]),
    ],
)  # fmt: skip
def test_payment_problems(case: dict, expected: list[str]) -> None:
    assert problems(**case) == expected


def settlement(doc_type: str, total: str, retention: str = "0", before_taxes: str | None = None) -> Settlement:
    return Settlement(doc_type, D(before_taxes or total), D(total), D(retention))


@pytest.mark.parametrize(
    ("status", "retention", "settled", "left"),
    [
        (states.FINAL, "0", [], "123"),
        (states.FINAL, "25", [], "98"),  # the withholding is paid to the State
        (states.FINAL, "0", [settlement("receipt", "100")], "23"),
        (states.FINAL, "0", [settlement("credit_note", "12.30"), settlement("receipt", "100")], "10.70"),
        (states.FINAL, "0", [settlement("credit_note", "123"), settlement("receipt", "100")], "0"),  # never below 0
        (states.FINAL, "25", [settlement("receipt", "61.50", "12.50")], "49"),
        (states.SETTLED, "0", [], "0"),
        (states.CANCELED, "0", [], "0"),
        (states.DRAFT, "0", [], "0"),
    ],
)
def test_open_amount(status: str, retention: str, settled: list[Settlement], left: str) -> None:
    assert open_amount(status, D("123"), D(retention), settled) == D(left)


@pytest.mark.parametrize(
    ("before_taxes", "total", "retention", "payments"),
    [
        ("100", "123", "0", ["100", "23"]),
        ("100", "123", "0", ["0.01", "0.01", "122.98"]),
        ("100", "123", "0", ["41", "41", "41"]),
        ("100", "123", "25", ["49", "49"]),
        ("33.33", "41", "3.33", ["12.34", "25.33"]),
        ("0.01", "0.01", "0", ["0.01"]),
        ("100", "100", "25", ["0.01", "0.02", "0.05", "74.92"]),  # 0 % VAT with a withholding: taxes stay 0
        ("999999999999.99", "999999999999.99", "0", ["333333333333.33", "333333333333.33", "333333333333.33"]),
    ],
)
def test_the_receipts_of_a_document_add_up_to_it(
    before_taxes: str, total: str, retention: str, payments: list[str]
) -> None:
    earlier: list[Settlement] = []
    for amount in payments:
        share = receipt_amounts(before_taxes=D(before_taxes), total=D(total), retention_amount=D(retention),
                                amount=D(amount), earlier=earlier)  # fmt: skip
        assert share.total - share.retention_amount == D(amount), "a receipt is for what was paid"
        assert share.before_taxes + share.taxes == share.total
        assert min(share.before_taxes, share.taxes, share.retention_amount) >= 0
        assert all(v == v.quantize(D("0.01")) for v in (share.before_taxes, share.taxes, share.retention_amount))
        earlier.append(Settlement("receipt", share.before_taxes, share.total, share.retention_amount))
    assert sum(s.before_taxes for s in earlier) == D(before_taxes)
    assert sum(s.total for s in earlier) == D(total)
    assert sum(s.retention_amount for s in earlier) == D(retention)
