"""Payments of issued documents (api-v2 §4.11–4.12, pt-compliance §7 "FR vs RG").

A partial payment of an invoice issues a receipt (SAF-T Payments, `RG`): numbered in the
receipt counter of a series, with an ATCUD, and **not signed** (Despacho 8632/2014 §1.1). What a
document still asks of its client is its *open amount*:

    payable = total − retention_amount      (the withholding goes to the State, not to us)
    open    = payable − Σ live receipts − Σ live credit notes that correct it

(a receipt's and a credit note's own payable, in the document's currency). A settled or
canceled document is open for nothing. When receipts leave nothing open the document is
settled; cancelling one of its receipts returns it to final.

A receipt carries its share of the document's amounts, so that its SAF-T DocumentTotals and
lines (values without tax) add up: the cumulative share paid of `before_taxes` and of the
withholding, each to the cent, less what the earlier live receipts carry — so the receipts of a
fully paid document add up exactly to the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ixserver.domain import states
from ixserver.domain.limits import MAX_AMOUNT, date_problems, number_problems
from ixserver.domain.money import ZERO, to_cents

# SAF-T PaymentMechanism codes (api-v2 §4.11; CI from the treasury docs).
PAYMENT_MECHANISMS: dict[str, str] = {
    "CC": "Cartão de crédito",
    "CD": "Cartão de débito",
    "CH": "Cheque bancário",
    "CI": "Crédito documentário internacional",
    "CO": "Cheque ou cartão oferta",
    "CS": "Compensação de saldos em conta corrente",
    "DE": "Dinheiro eletrónico",
    "LC": "Letra comercial",
    "MB": "Referências de pagamento para Multibanco",
    "NU": "Numerário",
    "OU": "Outros meios aqui não assinalados",
    "PR": "Permuta de bens",
    "TB": "Transferência bancária ou débito direto autorizado",
    "TR": "Ticket restaurante",
}
# What a payment without a mechanism is recorded as.
DEFAULT_MECHANISM = "OU"
# The documents a partial payment may pay, and the receipt type each gets.
RECEIPT_FOR: dict[str, str] = {
    "invoice": "receipt",
    "simplified_invoice": "receipt",
    "debit_note": "receipt",
    "vat_moss_invoice": "vat_moss_receipt",
}


def payable(total: Decimal, retention_amount: Decimal) -> Decimal:
    """What the client pays for a document: its total less the withholding."""
    return total - retention_amount


@dataclass(frozen=True)
class Settlement:
    """A live receipt or credit note, as it counts against the document it pays or corrects."""

    doc_type: str
    before_taxes: Decimal
    total: Decimal
    retention_amount: Decimal

    @property
    def amount(self) -> Decimal:
        return payable(self.total, self.retention_amount)


def open_amount(status: str, total: Decimal, retention_amount: Decimal, settlements: Iterable[Settlement]) -> Decimal:
    """What the client still owes on a document: what a payment may pay (never below zero)."""
    if status != states.FINAL:
        return ZERO
    left = payable(total, retention_amount) - sum((s.amount for s in settlements), ZERO)
    return max(left, ZERO)


# The documents whose amounts reach the client's current account: those a payment pays, and
# invoice-receipts (paid when issued: only their credit notes count).
LEDGER_TYPES = (*RECEIPT_FOR, "invoice_receipt")


def balance_due(
    doc_type: str, status: str, total: Decimal, retention_amount: Decimal, settlements: Iterable[Settlement]
) -> Decimal:
    """What a document adds to its client's balance. Unlike the open amount it may be negative:
    a credit note on a document already paid (a refund) leaves the client in credit. A settled
    document is paid: it adds nothing owed (settled by hand without receipts), only such a
    credit; a canceled one or a draft adds nothing."""
    if status not in states.LIVE:
        return ZERO
    left = payable(total, retention_amount) - sum((s.amount for s in settlements), ZERO)
    if doc_type == "invoice_receipt":
        left -= payable(total, retention_amount)  # paid when it was issued
    return left if status == states.FINAL else min(left, ZERO)


def payment_problems(
    *,
    doc_type: str,
    status: str,
    amount: Decimal | None,
    open_: Decimal,
    payment_date: date,
    document_date: date,
) -> list[str]:
    """What prevents a payment of `amount` on a document (the receipt's series checks its date
    against today and its last receipt: `documents.numbering_problems`)."""
    if doc_type not in RECEIPT_FOR:
        return ["Payments are only possible on invoices, simplified invoices, debit notes and VAT MOSS invoices"]
    if status == states.DRAFT:
        return ["The document must be finalized before it can be paid"]
    if status == states.CANCELED:
        return ["A canceled document can't be paid"]
    if status == states.SETTLED or open_ <= 0:
        return ["The document is settled: there is nothing left to pay"]
    problems: list[str] = date_problems(payment_date, "Payment date")
    if amount is None:
        problems.append("Amount can't be blank")
    elif amount <= 0:
        problems.append("Amount must be greater than 0")
    else:
        problems += number_problems(amount, "Amount", low=ZERO, high=MAX_AMOUNT, places=2)  # money paid: cents
        if amount > open_:
            problems.append(f"Amount can't be greater than the amount left to pay ({open_:.2f})")
    if payment_date < document_date:
        problems.append(f"Payment date can't be before the document's date ({document_date:%d/%m/%Y})")
    return problems


@dataclass(frozen=True)
class ReceiptAmounts:
    before_taxes: Decimal
    taxes: Decimal
    total: Decimal  # before_taxes + taxes: the gross share paid
    retention_amount: Decimal  # the withholding's share; total − retention_amount = the amount paid


def receipt_amounts(
    *, before_taxes: Decimal, total: Decimal, retention_amount: Decimal, amount: Decimal, earlier: list[Settlement]
) -> ReceiptAmounts:
    """The share of a document a payment of `amount` carries, after the `earlier` live receipts."""
    whole = payable(total, retention_amount)
    paid = sum((r.amount for r in earlier), ZERO) + amount
    net = to_cents(before_taxes * paid / whole) - sum((r.before_taxes for r in earlier), ZERO)
    withheld = to_cents(retention_amount * paid / whole) - sum((r.retention_amount for r in earlier), ZERO)
    gross = amount + withheld
    return ReceiptAmounts(before_taxes=net, taxes=gross - net, total=gross, retention_amount=withheld)
