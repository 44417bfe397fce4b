"""Invoice documents: create, update (drafts), change state, read, list (api-v2 §4).

A document is created as a draft without a number. Finalizing it, in one transaction: lock
the document, take the next number of its counter (store/counters.py), check what Portuguese
rules require against the head of the counter's signature chain, sign, and move the chain
forward. Any refusal rolls the whole use case back, number included.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering, signing, states
from ixserver.domain.doctypes import BY_KEY, DocType
from ixserver.domain.documents import (
    CREDIT_NOTES,
    Document,
    DocumentFilters,
    LineInput,
    correction_problems,
    draft_problems,
    finalization_problems,
)
from ixserver.domain.errors import DocumentNotFound, MissingElement, ValidationFailed, raise_if
from ixserver.domain.totals import GlobalDiscount, Line, compute, in_euros
from ixserver.keys import Signer
from ixserver.services import clients as client_service
from ixserver.services import items as item_service
from ixserver.services import taxes as tax_service
from ixserver.store import accounts as account_store
from ixserver.store import counters
from ixserver.store import documents as store
from ixserver.store import sequences as sequence_store
from ixserver.store import taxes as tax_store
from ixserver.store.clients import ClientRow

_STATUS_WORDS = {"final": "finalized", "settled": "settled", "canceled": "canceled", "deleted": "deleted"}


@dataclass(frozen=True)
class DocumentInput:
    """A document as a request describes it; `given` names the fields the request carried."""

    date: date | None = None
    due_date: date | None = None
    reference: str | None = None
    observations: str | None = None
    retention: Decimal | None = None
    tax_exemption: str | None = None
    sequence_id: int | None = None
    manual_sequence_number: str | None = None
    client: dict[str, Any] | None = None
    lines: list[LineInput] | None = None
    mb_reference: bool | None = None
    owner_invoice_id: int | None = None
    owner_reference: str | None = None
    currency_code: str | None = None
    rate: Decimal | None = None
    plugin_id: str | None = None
    global_discount: GlobalDiscount | None = None
    proprietary_uid: str | None = None
    given: frozenset[str] = field(default_factory=frozenset)


def _type(doc_type: str) -> DocType:
    return BY_KEY[doc_type]


# -- reads ---------------------------------------------------------------------------------


def get_document(conn: Connection, account_id: int, document_id: int, doc_type: str | None = None) -> Document:
    """A document of the account; with `doc_type`, only of that type (another type's id is 404)."""
    document = store.get_document(conn, account_id, document_id)
    if document is None or (doc_type is not None and document.doc_type != doc_type):
        raise DocumentNotFound()
    return document


def list_documents(
    conn: Connection, account_id: int, filters: DocumentFilters, page: int, per_page: int
) -> tuple[list[Document], int]:
    ids, total = store.list_document_ids(conn, account_id, filters, page, per_page)
    return store.fetch_documents(conn, account_id, ids), total


def public_document(conn: Connection, token: str) -> tuple[Document, str] | None:
    """The document behind a permalink, with its issuer's name and NIF as printed; drafts
    show too (marked so), deleted ones do not."""
    document = store.document_by_token(conn, token)
    if document is None or document.status == states.DELETED:
        return None
    account = account_store.account_by_id(conn, document.account_id)
    if account is None:
        return None
    issuer = account.organization_name or account.name
    if account.fiscal_id:
        issuer += f" — NIF {account.fiscal_id}"
    return document, issuer


def related_documents(conn: Connection, account_id: int, document_id: int) -> list[Document]:
    document = get_document(conn, account_id, document_id)
    ids = store.related_ids(conn, account_id, document_id, document.owner_document_id)
    return store.fetch_documents(conn, account_id, [i for i in ids if i != document_id])


# -- create and update drafts --------------------------------------------------------------


def create_document(conn: Connection, account_id: int, doc_type: str, data: DocumentInput) -> Document:
    """A new draft. With a `proprietary_uid` already used, the document made then (api-v2 §4.3)."""
    if data.proprietary_uid:
        existing = store.document_id_by_uid(conn, account_id, data.proprietary_uid)
        if existing is not None:
            return get_document(conn, account_id, existing)
    values, lines = _prepare(conn, account_id, _type(doc_type), data, None)
    now = clock.now()
    return store.insert_document(
        conn,
        lines,
        account_id=account_id,
        doc_type=doc_type,
        status=states.DRAFT,
        permalink_token=secrets.token_hex(20),
        proprietary_uid=data.proprietary_uid,
        plugin_id=data.plugin_id,
        created_at=now,
        updated_at=now,
        **values,
    )


def update_document(conn: Connection, account_id: int, doc_type: str, document_id: int, data: DocumentInput) -> Document:
    """Replace a draft (a client PUTs back the whole document it read)."""
    store.lock_document(conn, account_id, document_id)
    current = get_document(conn, account_id, document_id, doc_type)
    if current.status != states.DRAFT:
        raise ValidationFailed(
            f"{_type(doc_type).type_name} has been {_STATUS_WORDS[current.status]} so can't be changed anymore"
        )
    if data.client is None:
        raise MissingElement("client")
    values, lines = _prepare(conn, account_id, _type(doc_type), data, current)
    store.update_document(conn, document_id, updated_at=clock.now(), **values)
    store.replace_lines(conn, document_id, lines)
    return get_document(conn, account_id, document_id)


def _keep(data: DocumentInput, name: str, current: Document | None, current_value: Any) -> Any:
    """The request's value for a field, or, on update, the draft's when the request left it out."""
    if name in data.given or current is None:
        return getattr(data, name)
    return current_value


def _prepare(
    conn: Connection, account_id: int, doc_type: DocType, data: DocumentInput, current: Document | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate a draft's content and resolve its client, items and taxes."""
    doc_date = _keep(data, "date", current, current.date if current else None) or clock.today()
    due_date = _keep(data, "due_date", current, current.due_date if current else None) or doc_date
    retention = _keep(data, "retention", current, current.retention if current else None)
    exemption = _keep(data, "tax_exemption", current, current.tax_exemption if current else None)
    currency = (_keep(data, "currency_code", current, current.currency_code if current else None) or "EUR").upper()
    rate = _keep(data, "rate", current, current.exchange_rate if current else None)
    discount = _keep(data, "global_discount", current, current.global_discount if current else None)
    lines_in = data.lines
    problems = draft_problems(
        retention=retention,
        tax_exemption=exemption,
        currency=currency,
        rate=rate,
        global_discount=discount,
        lines=lines_in,
        has_client=data.client is not None,
        manual_number=bool(data.manual_sequence_number),
        mb_reference=bool(data.mb_reference),
    )
    sub_sequence_id = current.sub_sequence_id if current else None
    if "sequence_id" in data.given and data.sequence_id is not None:
        sub_sequence_id = sequence_store.counter_of(conn, account_id, data.sequence_id, doc_type.key)
        if sub_sequence_id is None:
            problems.append("Sequence not found")
    owner_id = _keep(data, "owner_invoice_id", current, current.owner_document_id if current else None)
    if owner_id is not None and store.get_document(conn, account_id, owner_id) is None:
        problems.append("Owner invoice not found")
    raise_if(problems)
    assert data.client is not None and lines_in

    client = client_service.resolve_for_document(conn, account_id, data.client)
    taxes = tax_store.list_taxes(conn, account_id)
    line_taxes = [tax_service.pick(taxes, line.tax_name, line.tax_value) for line in lines_in]
    items = item_service.upsert_for_lines(
        conn,
        account_id,
        [
            item_service.LineItem((line.name or "").strip(), line.description, line.unit_price, line.unit, tax.id)
            for line, tax in zip(lines_in, line_taxes, strict=True)
        ],
    )
    lines, computed = [], []
    for line, tax, item in zip(lines_in, line_taxes, items, strict=True):
        assert line.quantity is not None
        computed.append(Line(item.unit_price, line.quantity, line.discount or Decimal(0), tax.value))
        lines.append(
            {
                "item_id": item.id,
                "name": item.name,
                "description": line.description or item.description,
                "unit_price": item.unit_price,
                "quantity": line.quantity,
                "unit": line.unit or item.unit,
                "discount": line.discount or Decimal(0),
                "tax_id": tax.id,
                "tax_name": tax.name,
                "tax_value": tax.value,
                "tax_region": tax.region,
                "tax_code": tax.code,
            }
        )
    totals = compute(computed, discount, retention)
    for line_values, amounts in zip(lines, totals.lines, strict=True):
        line_values.update(
            subtotal=amounts.subtotal,
            discount_amount=amounts.discount_amount,
            tax_amount=amounts.tax_amount,
            total=amounts.total,
        )
    values = {
        "date": doc_date,
        "due_date": due_date,
        "reference": _keep(data, "reference", current, current.reference if current else None),
        "observations": _keep(data, "observations", current, current.observations if current else None),
        "retention": retention,
        "tax_exemption": exemption,
        "sub_sequence_id": sub_sequence_id,
        "currency_code": currency,
        "exchange_rate": rate if currency != "EUR" else None,
        "global_discount_type": discount.kind if discount else None,
        "global_discount_value": discount.value if discount else None,
        "owner_document_id": owner_id,
        "owner_reference": _keep(data, "owner_reference", current, current.owner_reference if current else None),
        "sum": totals.sum,
        "discount": totals.discount,
        "before_taxes": totals.before_taxes,
        "taxes": totals.taxes,
        "total": totals.total,
        "retention_amount": totals.retention,
        **_client_values(client),
    }
    return values, lines


def _client_values(client: ClientRow) -> dict[str, Any]:
    snapshot = {name: getattr(client, name) for name in store.CLIENT_FIELDS}
    return {"client_id": client.id, "client": orjson.dumps(snapshot).decode(), "client_name": client.name}


# -- change state --------------------------------------------------------------------------


def change_state(
    conn: Connection,
    account_id: int,
    doc_type: str,
    document_id: int,
    event: str,
    message: str | None,
    signer: Signer,
) -> Document:
    """PUT /{type}/{id}/change-state.json (api-v2 §4.6)."""
    store.lock_document(conn, account_id, document_id)
    found = store.get_document_and_client(conn, account_id, document_id)
    if found is None or found[0].doc_type != doc_type:
        raise DocumentNotFound()
    document, client = found
    kind = _type(doc_type)
    target = states.next_status(doc_type, kind.type_name, document.status, event)
    if event == "canceled":
        if not message or not message.strip():
            raise ValidationFailed("Cancel message can't be blank")
        if store.has_live_corrections(conn, document_id):
            raise ValidationFailed("The document has credit or debit notes: cancel them first")
    now = clock.now()
    values: dict[str, Any] = {
        "status": target,
        "status_reason": message.strip() if message and message.strip() else None,
        "status_changed_at": now,
        "updated_at": now,
    }
    serie = document.serie
    if event == "finalized":
        numbered, serie = _finalize(conn, account_id, kind, document, client, signer)
        values.update(numbered)
    store.update_document(conn, document_id, **values)
    shown = {k: v for k, v in values.items() if k in Document.__dataclass_fields__}
    if "client" in shown:
        shown["client"] = orjson.loads(shown["client"])
    return replace(document, serie=serie, **shown)


def _finalize(
    conn: Connection,
    account_id: int,
    kind: DocType,
    document: Document,
    client: dict[str, Any] | None,
    signer: Signer,
) -> tuple[dict[str, Any], str]:
    """Number and sign a draft; the values to store, and its series' name."""
    total_eur = in_euros(document.total, document.exchange_rate)
    rules = {
        "doc_type": kind,
        "doc_date": document.date,
        "due_date": document.due_date,
        "today": clock.today(),
        "tax_rates": [line.tax_value for line in document.lines],
        "tax_exemption": document.tax_exemption,
        "total_eur": total_eur,
        "client_fiscal_id": (client or document.client).get("fiscal_id"),
    }
    problems = finalization_problems(last_date=None, **rules)
    owner = store.get_document(conn, account_id, document.owner_document_id) if document.owner_document_id else None
    already = (
        store.credited_total(conn, owner.id, CREDIT_NOTES) if owner is not None and kind.key in CREDIT_NOTES else Decimal(0)
    )
    problems += correction_problems(
        doc_type=kind,
        owner=owner,
        owner_given=document.owner_document_id is not None,
        external_reference=document.owner_reference,
        client_id=document.client_id,
        total=document.total,
        already_credited=already,
    )
    raise_if(problems)

    taken = counters.take_number(conn, document.sub_sequence_id, account_id=account_id, doc_type=kind.key)
    sub_id, serie, number, head = taken.sub_sequence_id, taken.serie, taken.number, taken.head
    raise_if(finalization_problems(last_date=head.last_date, **rules))  # rolls the number back too
    entry = signing.entry_date(clock.local_now())
    if head.last_entry and entry < head.last_entry:
        entry = head.last_entry  # the clock went back: SystemEntryDate never does
    document_number = numbering.document_number(kind, serie, number)
    signature = signer.sign(signing.message(document.date, entry, document_number, total_eur, head.last_hash or ""))
    values: dict[str, Any] = {
        "sub_sequence_id": sub_id,
        "number": number,
        "atcud": numbering.atcud(kind, head.validation_code, number),
        "gross_total_eur": total_eur,
        "system_entry_date": entry,
        "signature": signature,
        "key_version": signer.version,
    }
    if client is not None:
        values.update(client=orjson.dumps(client).decode(), client_name=client["name"])
    counters.advance_chain(conn, sub_id, document.date, entry, signature)
    return values, serie
