"""Payments: a partial payment issues a receipt; cancelling the receipt undoes it (api-v2
§4.11–4.12; the rules in domain/payments.py).

One write transaction each. Paying locks the paid document first (its cancellation, a credit
note on it and another payment take the same lock and wait), reads what is still open, takes
the next number of the receipt counter, and settles the document when nothing is left open.
Receipts are numbered and carry an ATCUD, but are not signed: their counter's chain keeps only
the date and entry time that order the series.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering, signing, states
from ixserver.domain.doctypes import BY_KEY, RECEIPT_TYPES, DocType
from ixserver.domain.documents import Document, DocumentContent, numbering_problems
from ixserver.domain.errors import DocumentNotFound, InvalidPaymentMechanism, ValidationFailed, raise_if
from ixserver.domain.euros import gross_in_euros
from ixserver.domain.payments import (
    DEFAULT_MECHANISM,
    PAYMENT_MECHANISMS,
    RECEIPT_FOR,
    ReceiptAmounts,
    open_amount,
    payment_problems,
    receipt_amounts,
)
from ixserver.resources import Resources
from ixserver.services import seal as seal_service
from ixserver.services.documents import changed_document, issuer_at_issue
from ixserver.store import counters
from ixserver.store import documents as store
from ixserver.store import sequences as sequence_store
from ixserver.store.documents import Numbering
from ixserver.writes.use_cases import of_account


@dataclass(frozen=True)
class PaymentInput:
    """A partial payment as the request describes it (api-v2 §4.11); None = not given."""

    amount: Decimal | None
    payment_mechanism: str | None
    note: str | None
    serie: str | None
    payment_date: date | None


@of_account
def pay(conn: Connection, resources: Resources, account_id: int, document_id: int, payment: PaymentInput) -> Document:
    """POST /documents/{id}/partial_payments.json: the receipt of a payment of the document."""
    mechanism = (payment.payment_mechanism or DEFAULT_MECHANISM).strip().upper()
    if mechanism not in PAYMENT_MECHANISMS:
        raise InvalidPaymentMechanism()
    store.lock_document(conn, account_id, document_id)
    paid = store.get_document(conn, account_id, document_id)
    if paid is None:
        raise DocumentNotFound()
    earlier = store.live_settlements(conn, account_id, owner_id=paid.id).get(paid.id, [])
    left = open_amount(paid.status, paid.total, paid.retention_amount, earlier)
    payment_date = payment.payment_date or clock.today()
    raise_if(
        payment_problems(
            doc_type=paid.doc_type,
            status=paid.status,
            amount=payment.amount,
            open_=left,
            payment_date=payment_date,
            document_date=paid.date,
        )
    )
    assert payment.amount is not None
    kind = BY_KEY[RECEIPT_FOR[paid.doc_type]]
    counter = _receipt_counter(conn, account_id, kind, payment.serie)
    taken = counters.take_number(conn, counter, account_id=account_id, doc_type=kind.key)
    head = taken.head
    issuer, issuer_problems = issuer_at_issue(taken)
    raise_if(
        numbering_problems(kind, taken.serie, head.validation_code, payment_date, clock.today(), head.last_date)
        + issuer_problems
    )
    entry = signing.next_entry(clock.local_now(), taken.latest_entry)
    counters.advance_chain(conn, taken, payment_date, entry, None)

    receipts = [s for s in earlier if s.doc_type in RECEIPT_TYPES]
    amounts = receipt_amounts(
        before_taxes=paid.before_taxes,
        total=paid.total,
        retention_amount=paid.retention_amount,
        amount=payment.amount,
        earlier=receipts,
    )
    content = _receipt_content(paid, payment, payment_date, amounts, taken.sub_sequence_id)
    now = clock.now()
    draft = store.insert_document(
        conn,
        account_id=account_id,
        doc_type=kind.key,
        permalink_token=secrets.token_hex(20),
        proprietary_uid=None,
        plugin_id=None,
        now=now,
        content=content,
        lines=[],
    )
    issued = Numbering(
        sub_sequence_id=taken.sub_sequence_id,
        number=taken.number,
        atcud=numbering.atcud(kind, head.validation_code, taken.number),
        gross_total_eur=gross_in_euros(draft),  # what AT reads of it: in euros
        system_entry_date=entry,
        signature=None,
        key_version=None,
        client=None,
        payment_mechanism=mechanism,
        issuer=issuer,
    )
    store.set_status(conn, draft.id, states.FINAL, None, now, issued)
    receipt = changed_document(draft, states.FINAL, None, (issued, taken.serie))
    seal_service.record(conn, resources.seal_key, receipt, "finalized")
    if payment.amount == left:  # nothing left open: the document is settled (api-v2 §15)
        _set_status(conn, resources, paid, states.SETTLED, "settled")
    return receipt


def _receipt_counter(conn: Connection, account_id: int, kind: DocType, serie: str | None) -> int | None:
    """The counter of the series a payment names (None: the default series'); a series that
    does not exist is a 422, not a 404: the document is there, the series named is not."""
    if serie is None or not serie.strip():
        return None
    sequence_id = sequence_store.sequence_id_by_serie(conn, account_id, serie.strip())
    if sequence_id is None:
        raise ValidationFailed(f"Serie {serie.strip()} doesn't exist")
    return sequence_store.counter_of(conn, account_id, sequence_id, kind.key)


def _receipt_content(
    paid: Document, payment: PaymentInput, payment_date: date, amounts: ReceiptAmounts, counter: int
) -> DocumentContent:
    """What a receipt says: the paid document's client, currency and retention, the payment's
    amounts, its note."""
    return DocumentContent(
        date=payment_date,
        due_date=payment_date,
        reference=None,
        observations=payment.note.strip() or None if payment.note else None,
        retention=paid.retention,
        tax_exemption=None,
        client_id=paid.client_id,
        client=paid.client,
        currency_code=paid.currency_code,
        exchange_rate=paid.exchange_rate,
        global_discount=None,
        sum=amounts.before_taxes,
        discount=Decimal("0.00"),
        before_taxes=amounts.before_taxes,
        taxes=amounts.taxes,
        total=amounts.total,
        retention_amount=amounts.retention_amount,
        owner_document_id=paid.id,
        owner_reference=None,
        sub_sequence_id=counter,
        transport=None,
    )


@of_account
def cancel_receipt(
    conn: Connection, resources: Resources, account_id: int, receipt_id: int, event: str, message: str | None
) -> Document:
    """PUT /receipts/{id}/change-state.json: cancel a payment; the document it paid is open
    again, and final if it was settled (api-v2 §4.12)."""
    store.lock_document(conn, account_id, receipt_id)
    receipt = store.get_document(conn, account_id, receipt_id)
    if receipt is None or receipt.doc_type not in RECEIPT_TYPES:
        raise DocumentNotFound()
    kind = BY_KEY[receipt.doc_type]
    target = kind.family.next_status(receipt.doc_type, kind.type_name, receipt.status, event)
    reason = message.strip() if message and message.strip() else None
    if reason is None:
        raise ValidationFailed("Cancel message can't be blank")
    paid = None
    if receipt.owner_document_id is not None:
        store.lock_document(conn, account_id, receipt.owner_document_id)  # as paying does: one order
        paid = store.get_document(conn, account_id, receipt.owner_document_id)
    now = clock.now()
    store.set_status(conn, receipt.id, target, reason, now, None)
    canceled = replace(receipt, status=target, status_reason=reason)
    seal_service.record(conn, resources.seal_key, canceled, event)
    if paid is not None and paid.status == states.SETTLED:
        _set_status(conn, resources, paid, states.FINAL, "unsettled")
    return canceled


def _set_status(conn: Connection, resources: Resources, document: Document, status: str, event: str) -> None:
    store.set_status(conn, document.id, status, None, clock.now(), None)
    seal_service.record(conn, resources.seal_key, replace(document, status=status, status_reason=None), event)
