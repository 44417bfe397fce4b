"""Invoice documents: create, update (drafts), change state, read, list (api-v2 §4).

A document is created as a draft without a number. Finalizing it, in one transaction: lock
the document, take the next number of its counter (store/counters.py), check what Portuguese
rules require against the head of the counter's signature chain, sign, and move the chain
forward. Any refusal rolls the whole use case back, number included.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering, signing, states
from ixserver.domain.accounts import Account, issuer_of, issuer_problems
from ixserver.domain.clients import Client, canonical_country
from ixserver.domain.doctypes import BY_KEY, RECEIPT_TYPES, DocType
from ixserver.domain.documents import (
    AT_DOC_CODE,
    CREDIT_NOTES,
    Day,
    Document,
    DocumentContent,
    DocumentFilters,
    DocumentLine,
    LineInput,
    Transport,
    address_problems,
    correction_problems,
    credit_line_problems,
    departure_problems,
    draft_problems,
    finalization_problems,
    total_problems,
    transport_problems,
)
from ixserver.domain.errors import DocumentNotFound, MissingElement, ProprietaryUidTaken, ValidationFailed, raise_if
from ixserver.domain.euros import converted, gross_in_euros
from ixserver.domain.items import Item
from ixserver.domain.sequences import TRAINING
from ixserver.domain.taxes import Tax
from ixserver.domain.totals import DocumentTotals, GlobalDiscount, Line, compute
from ixserver.domain.vat_moss import vat_moss_problems
from ixserver.resources import Resources
from ixserver.services import clients as client_service
from ixserver.services import items as item_service
from ixserver.services import seal as seal_service
from ixserver.services import sequences as sequence_service
from ixserver.services import taxes as tax_service
from ixserver.store import accounts as account_store
from ixserver.store import counters, document_lists
from ixserver.store import documents as store
from ixserver.store import items as item_store
from ixserver.store import seal as seal_store
from ixserver.store import sequences as sequence_store
from ixserver.store import taxes as tax_store
from ixserver.store.documents import CLIENT_FIELDS, Numbering
from ixserver.writes.use_cases import of_account

# The families whose documents say where and when goods travel: guides' transport (api-v2 §6.2),
# purchase orders' delivery (§7).
_STATUS_WORDS = {states.FINAL: "finalized", states.SETTLED: "settled", states.CANCELED: "canceled",
                 states.DELETED: "deleted", states.ACCEPTED: "accepted", states.REFUSED: "refused"}  # fmt: skip


@dataclass(frozen=True)
class TransportInput:
    """A guide's transport as a request describes it (api-v2 §6.2); a purchase order's delivery
    (§7: `loaded_at` a date, `delivery_site`)."""

    loaded_at: datetime | date | None
    license_plate: str | None
    address_from: dict[str, str] | None
    address_to: dict[str, str] | None
    load_site: str | None = None
    delivery_site: str | None = None


@dataclass(frozen=True)
class DocumentInput:
    """A document as a request describes it; `given` names the fields the request carried."""

    date: Day | None = None
    due_date: Day | None = None
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
    transport: TransportInput | None = None  # guides
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
    ids, total = document_lists.list_document_ids(conn, account_id, filters, page, per_page)
    return store.fetch_documents(conn, account_id, ids), total


def issuer_of_document(document: Document, account: Account) -> dict[str, str]:
    """The issuer a document prints: as frozen when it was issued; a draft (and a document issued
    before issuers were kept), the account as it is now."""
    return document.issuer or issuer_of(asdict(account))


def related_documents(conn: Connection, account_id: int, document_id: int) -> list[Document]:
    document = get_document(conn, account_id, document_id)
    ids = store.related_ids(conn, account_id, document_id, document.owner_document_id)
    return store.fetch_documents(conn, account_id, [i for i in ids if i != document_id])


# -- create and update drafts --------------------------------------------------------------


@of_account
def create_document(conn: Connection, account_id: int, doc_type: str, data: DocumentInput) -> Document:
    """A new draft. With a `proprietary_uid` already used, the document made then (api-v2 §4.3);
    a UID that names a document of another type is a conflict, not a repeat."""
    if data.proprietary_uid:
        existing = store.document_id_by_uid(conn, account_id, data.proprietary_uid)
        if existing is not None:
            document = get_document(conn, account_id, existing)
            if document.doc_type != doc_type:
                raise ProprietaryUidTaken(data.proprietary_uid, BY_KEY[document.doc_type].type_name)
            return document
    content, lines = _prepare(conn, account_id, _type(doc_type), data, None)
    return store.insert_document(
        conn,
        account_id=account_id,
        doc_type=doc_type,
        permalink_token=secrets.token_hex(20),
        proprietary_uid=data.proprietary_uid,
        plugin_id=data.plugin_id,
        now=clock.now(),
        content=content,
        lines=lines,
    )


@of_account
def update_document(
    conn: Connection, account_id: int, doc_type: str, document_id: int, data: DocumentInput
) -> Document:
    """Replace a draft (a client PUTs back the whole document it read)."""
    store.lock_document(conn, account_id, document_id)
    current = get_document(conn, account_id, document_id, doc_type)
    if current.status != states.DRAFT:
        raise ValidationFailed(
            f"{_type(doc_type).type_name} has been {_STATUS_WORDS[current.status]} so can't be changed anymore"
        )
    if data.client is None:
        raise MissingElement("client")
    content, lines = _prepare(conn, account_id, _type(doc_type), data, current)
    store.update_draft(conn, document_id, content, lines, clock.now())
    return get_document(conn, account_id, document_id)


def _keep(data: DocumentInput, name: str, current: Document | None, current_value: Any) -> Any:
    """The request's value for a field, or, on update, the draft's when the request left it out."""
    if name in data.given or current is None:
        return getattr(data, name)
    return current_value


def _prepare(
    conn: Connection, account_id: int, doc_type: DocType, data: DocumentInput, current: Document | None
) -> tuple[DocumentContent, list[DocumentLine]]:
    """Validate a draft's content and resolve its client, items and taxes."""
    doc_date, due_date = _dates(doc_type, data, current)
    retention = _keep(data, "retention", current, current.retention if current else None)
    exemption = _keep(data, "tax_exemption", current, current.tax_exemption if current else None)
    currency = (_keep(data, "currency_code", current, current.currency_code if current else None) or "EUR").upper()
    rate = _keep(data, "rate", current, current.exchange_rate if current else None)
    discount = _keep(data, "global_discount", current, current.global_discount if current else None)
    problems = draft_problems(
        retention=retention,
        tax_exemption=exemption,
        currency=currency,
        rate=rate,
        global_discount=discount,
        lines=data.lines,
        has_client=data.client is not None,
        manual_number=bool(data.manual_sequence_number),
        mb_reference=bool(data.mb_reference),
        doc_date=doc_date,
        due_date=due_date,
    )
    sub_sequence_id = current.sub_sequence_id if current else None
    if "sequence_id" in data.given and data.sequence_id is not None:
        sub_sequence_id = sequence_store.counter_of(conn, account_id, data.sequence_id, doc_type.key)
        if sub_sequence_id is None:
            problems.append("Sequence not found")
    owner_id = _keep(data, "owner_invoice_id", current, current.owner_document_id if current else None)
    if owner_id is not None and store.get_document(conn, account_id, owner_id) is None:
        problems.append("Owner invoice not found")
    transport = _draft_transport(doc_type, data, current, problems)
    raise_if(problems)
    assert data.client is not None and data.lines

    # the account's taxes and the lines' items, read in the round trip of the client's look-up
    taxes = tax_store.list_taxes_later(conn, account_id)
    names = sorted({(line.name or "").strip() for line in data.lines})
    known = item_store.items_by_names_later(conn, account_id, names)
    client = client_service.resolve_for_document(conn, account_id, data.client)
    lines, totals = _priced_lines(
        conn, account_id, data.lines, discount, retention, rate if currency != "EUR" else None, taxes(), known()
    )
    content = DocumentContent(
        date=doc_date,
        due_date=due_date,
        reference=_keep(data, "reference", current, current.reference if current else None),
        observations=_keep(data, "observations", current, current.observations if current else None),
        retention=retention,
        tax_exemption=exemption,
        sub_sequence_id=sub_sequence_id,
        currency_code=currency,
        exchange_rate=rate if currency != "EUR" else None,
        global_discount=discount,
        owner_document_id=owner_id,
        owner_reference=_keep(data, "owner_reference", current, current.owner_reference if current else None),
        sum=totals.sum,
        discount=totals.discount,
        before_taxes=totals.before_taxes,
        taxes=totals.taxes,
        total=totals.total,
        retention_amount=totals.retention,
        client_id=client.id,
        client=_snapshot(client),
        transport=transport,
    )
    return content, lines


def _dates(doc_type: DocType, data: DocumentInput, current: Document | None) -> tuple[date, date]:
    """A draft's date (today without one) and due date: an estimate's is its validity, 30 days
    unless given (api-v2 §5.2); another document's is its date unless given."""
    doc_date = _keep(data, "date", current, current.date if current else None) or clock.today()
    validity = timedelta(days=doc_type.family.validity_days)
    due_date = _keep(data, "due_date", current, current.due_date if current else None) or doc_date + validity
    if "due_date" not in data.given and due_date < doc_date:
        # an update that moves the date past the draft's due date and sends none: the default for
        # the new date, as a create without it (InvoiceXpress's PUT replaces the document)
        due_date = doc_date + validity
    return doc_date, due_date


def _draft_transport(
    doc_type: DocType, data: DocumentInput, current: Document | None, problems: list[str]
) -> Transport | None:
    """A guide's transport or a purchase order's delivery, as the request changes the draft's; a
    guide's problems added to `problems` (a start the request sets must be later than now; one
    the draft keeps is checked at finalization)."""
    if not doc_type.family.transported:
        return None
    transport = current.transport if current is not None else None
    if data.transport is not None and "transport" in data.given:
        transport = _transport(data.transport, transport)
    if doc_type.family.moves_goods:
        sets_start = data.transport is not None and data.transport.loaded_at is not None
        problems += transport_problems(
            transport.loaded_at if transport else None,
            transport.address_from if transport else None,
            transport.address_to if transport else None,
            signing.entry_date(clock.local_now()) if sets_start else None,
        )
    return transport


def _priced_lines(
    conn: Connection, account_id: int, lines_in: list[LineInput], discount: GlobalDiscount | None,
    retention: Decimal | None, rate: Decimal | None, taxes: list[Tax], known: dict[str, Item],
) -> tuple[list[DocumentLine], DocumentTotals]:  # fmt: skip
    """The lines with their items (made or updated by name) and taxes resolved, and the
    document's totals; refused when a total, or its gross in euros by the rule AT reads
    (domain/euros.py, `rate` for a document in another currency), is out of the limits.
    `taxes`: the account's; `known`: its items of the lines' names."""
    line_taxes = [tax_service.pick(taxes, line.tax_name, line.tax_value) for line in lines_in]
    items = item_service.upsert_for_lines(
        conn,
        account_id,
        [
            item_service.LineItem((line.name or "").strip(), line.description, line.unit_price, line.unit, tax.id)
            for line, tax in zip(lines_in, line_taxes, strict=True)
        ],
        known,
    )
    priced = [
        Line(item.unit_price, _quantity(line), line.discount or Decimal(0), tax.value)
        for line, tax, item in zip(lines_in, line_taxes, items, strict=True)
    ]
    totals = compute(priced, discount, retention)
    total_eur = totals.total if rate is None else converted(priced, discount, retention, rate).total
    raise_if(total_problems(totals.sum, totals.total, total_eur))
    lines = [
        DocumentLine(
            name=item.name,
            description=line.description or item.description,
            unit_price=item.unit_price,
            quantity=_quantity(line),
            unit=line.unit or item.unit,
            discount=line.discount or Decimal(0),
            tax_id=tax.id,
            tax_name=tax.name,
            tax_value=tax.value,
            tax_region=tax.region,
            tax_code=tax.code,
            subtotal=amounts.subtotal,
            discount_amount=amounts.discount_amount,
            tax_amount=amounts.tax_amount,
            total=amounts.total,
            item_id=item.id,
            tax_exemption=line.tax_exemption,
        )
        for line, tax, item, amounts in zip(lines_in, line_taxes, items, totals.lines, strict=True)
    ]
    return lines, totals


def _transport(given: TransportInput, current: Transport | None) -> Transport:
    """A guide's transport (a purchase order's delivery): what the request gives, over what the
    draft had."""
    if isinstance(given.loaded_at, datetime):
        loaded_at = signing.entry_date(given.loaded_at)
    else:
        loaded_at = given.loaded_at.isoformat() if given.loaded_at else (current.loaded_at if current else "")

    def kept(name: str) -> str | None:
        value = getattr(given, name)
        return value if value is not None else (getattr(current, name) if current else None)

    return Transport(
        loaded_at=loaded_at,
        license_plate=kept("license_plate"),
        address_from=_address(given.address_from) or (current.address_from if current else {}),
        address_to=_address(given.address_to) or (current.address_to if current else {}),
        load_site=kept("load_site"),
        delivery_site=kept("delivery_site"),
    )


def _address(given: dict[str, str] | None) -> dict[str, str] | None:
    """An address as stored: its country as the country list names it, when it names one
    (`transport_problems` refuses one that does not)."""
    if not given or not given.get("country"):
        return given
    return {**given, "country": canonical_country(given["country"]) or given["country"]}


def _quantity(line: LineInput) -> Decimal:
    assert line.quantity is not None  # draft_problems refuses a line without one
    return line.quantity


def _snapshot(client: Client) -> dict[str, Any]:
    """The client's fields a document keeps (frozen at finalization)."""
    return {name: getattr(client, name) for name in CLIENT_FIELDS}


# -- change state --------------------------------------------------------------------------


@of_account
def change_state(
    conn: Connection,
    resources: Resources,
    account_id: int,
    doc_type: str,
    document_id: int,
    event: str,
    message: str | None,
) -> Document:
    """PUT /{type}/{id}/change-state.json (api-v2 §4.6). Run with the writer's resources: a
    finalization signs with its key."""
    kind = _type(doc_type)
    event = kind.family.aliases.get(event, event)
    read = store.document_and_client_later(conn, account_id, document_id, lock=True)
    # a finalization's number, and its account's seal head, come in the same round trip, after
    # the draft's lock
    number = None
    if event == "finalized":
        number = counters.take_number_later(conn, document_id, account_id=account_id, doc_type=kind.key)
        seal_store.lock_head_later(conn, account_id)
    found = read()
    if found is None or found[0].doc_type != doc_type:
        raise DocumentNotFound()
    document, client = found
    target = kind.family.next_status(doc_type, kind.type_name, document.status, event)
    reason = message.strip() if message and message.strip() else None
    if event == "canceled":
        if reason is None:
            raise ValidationFailed("Cancel message can't be blank")
        dependents = store.live_dependent_types(conn, document_id)
        if dependents & set(RECEIPT_TYPES):
            raise ValidationFailed("The document has receipts: cancel its payments first")
        if dependents:
            raise ValidationFailed("The document has credit or debit notes: cancel them first")
    issued = _finalize(conn, resources, account_id, kind, document, client, number) if number is not None else None
    store.set_status(
        conn,
        document_id,
        target,
        reason,
        clock.now(),
        issued[0] if issued else None,
        client_name=document.client["name"],
    )
    changed = changed_document(document, target, reason, issued)
    if changed.number is not None:  # an issued document: the change is sealed
        seal_service.record(conn, resources.seal_key, changed, event)
    return changed


def changed_document(
    document: Document, target: str, reason: str | None, issued: tuple[Numbering, str] | None
) -> Document:
    """The document as a change of state leaves it (as it is now stored); `issued`: what its
    finalization (or a receipt's issue) wrote, and its series' name."""
    if issued is None:
        return replace(document, status=target, status_reason=reason)
    numbered, serie = issued
    return replace(
        document,
        status=target,
        status_reason=reason,
        serie=serie,
        sub_sequence_id=numbered.sub_sequence_id,
        number=numbered.number,
        atcud=numbered.atcud,
        gross_total_eur=numbered.gross_total_eur,
        system_entry_date=numbered.system_entry_date,
        signature=numbered.signature,
        key_version=numbered.key_version,
        client=numbered.client if numbered.client is not None else document.client,
        at_doc_code=numbered.at_doc_code,
        payment_mechanism=numbered.payment_mechanism,
        issuer=numbered.issuer,
    )


def _finalize(
    conn: Connection,
    resources: Resources,
    account_id: int,
    kind: DocType,
    document: Document,
    client: dict[str, Any] | None,
    number: Callable[[], counters.Numbered],
) -> tuple[Numbering, str]:
    """Number and sign a draft: what to store, and its series' name. The number is taken first
    (`number`: `counters.take_number_later`'s, sent with the draft's read), so that every rule,
    the series' chronology included, is checked once; a refusal rolls the whole use case back,
    number included."""
    taken = number()
    head = taken.head
    total_eur = gross_in_euros(document)  # what is signed: GrossTotal in euros (domain/euros.py)
    problems = finalization_problems(
        doc_type=kind,
        doc_date=document.date,
        due_date=document.due_date,
        today=clock.today(),
        last_date=head.last_date,
        tax_rates=[line.tax_value for line in document.lines],
        tax_exemption=document.tax_exemption,
        total_eur=total_eur,
        client_fiscal_id=(client or document.client).get("fiscal_id"),
        serie=taken.serie,
        validation_code=head.validation_code,
        units=[line.unit for line in document.lines],
        line_exemptions=[line.tax_exemption for line in document.lines],
    )
    issuer, issuer_problems = issuer_at_issue(taken)
    problems += issuer_problems
    problems += vat_moss_problems(
        kind.key, (client or document.client).get("country"), [line.tax_value for line in document.lines]
    )
    if kind.family.moves_goods and document.transport:
        problems += departure_problems(document.transport.loaded_at, signing.entry_date(clock.local_now()))
        # a draft saved before countries were checked is not issued to "Narnia"
        problems += address_problems(document.transport.address_from, document.transport.address_to)
    problems += _correction_problems(conn, account_id, kind, document, checked=problems)
    raise_if(problems)

    entry = signing.next_entry(clock.local_now(), taken.latest_entry)
    document_number = numbering.document_number(kind, taken.serie, taken.number)
    signer = resources.signer
    signature = signer.sign(signing.message(document.date, entry, document_number, total_eur, head.last_hash or ""))
    counters.advance_chain(conn, taken, document.date, entry, signature)
    numbered = Numbering(
        sub_sequence_id=taken.sub_sequence_id,
        number=taken.number,
        atcud=numbering.atcud(kind, head.validation_code, taken.number),
        gross_total_eur=total_eur,
        system_entry_date=entry,
        signature=signature,
        key_version=signer.version,
        client=client,
        at_doc_code=_communicate_transport(conn, resources, account_id, document, document_number),
        issuer=issuer,
    )
    return numbered, taken.serie


def _correction_problems(
    conn: Connection, account_id: int, kind: DocType, document: Document, checked: list[str]
) -> list[str]:
    """What keeps a note from correcting its document (a credit note more than is left of it,
    lines it never had, the lines only when nothing else, `checked` included, is wrong). The
    corrected document is locked for the checks and the number: its cancellation, and another
    note on it, take the same lock and wait (row lock on PostgreSQL; SQLite's write transaction
    is exclusive already)."""
    owner, credited = None, []
    if document.owner_document_id:
        store.lock_document(conn, account_id, document.owner_document_id)
        owner = store.get_document(conn, account_id, document.owner_document_id)
        if owner is not None and kind.key in CREDIT_NOTES:
            credited = store.fetch_documents(conn, account_id, store.live_correction_ids(conn, owner.id, CREDIT_NOTES))
    problems = correction_problems(
        doc_type=kind,
        owner=owner,
        owner_given=document.owner_document_id is not None,
        external_reference=document.owner_reference,
        client_id=document.client_id,
        total=document.total,
        already_credited=sum((note.total for note in credited), Decimal(0)),
        currency=document.currency_code,
        doc_date=document.date,
    )
    if owner is not None and kind.key in CREDIT_NOTES and not problems and not checked:
        earlier = [line for note in credited for line in note.lines]
        problems += credit_line_problems(owner.lines, earlier, document.lines)
    return problems


def issuer_at_issue(taken: counters.Numbered) -> tuple[dict[str, str], list[str]]:
    """The issuer a document freezes when it is issued (with its number: the account's fields
    come with it), and what keeps the account from issuing in a series AT receives: its name,
    address and NIF (a training series, the sandbox's, issues without them)."""
    problems = [] if taken.head.series_type == TRAINING else issuer_problems(taken.account)
    return issuer_of(taken.account), problems


def _communicate_transport(
    conn: Connection, resources: Resources, account_id: int, document: Document, document_number: str
) -> str | None:
    """A guide's transport communicated to AT, its code back: at once with the sandbox's
    simulator; with the manual adapter (production) None, for the operator to enter."""
    if document.transport is None or not BY_KEY[document.doc_type].family.moves_goods or not resources.at.instant:
        return None
    account = account_store.account_by_id(conn, account_id)
    assert account is not None
    taxpayer = sequence_service.taxpayer_of(account, resources.vault)
    return resources.at.communicate_transport(taxpayer, document_number, document.transport.loaded_at)


@of_account
def enter_transport_code(
    conn: Connection, resources: Resources, account_id: int, document_id: int, code: str
) -> Document:
    """The code AT's portal gave an issued guide's transport (production, where the manual
    adapter communicates nothing): kept once, and sealed. The same code again changes nothing."""
    code = code.strip()
    if not AT_DOC_CODE.fullmatch(code):
        raise ValidationFailed("The AT code must be 1 to 64 letters or digits")
    store.lock_document(conn, account_id, document_id)
    document = store.get_document(conn, account_id, document_id)
    if document is None or not BY_KEY[document.doc_type].family.moves_goods:
        raise DocumentNotFound()
    if document.status != states.FINAL:
        raise ValidationFailed("Only an issued guide, not canceled, takes the code AT gave its transport")
    if document.at_doc_code == code:
        return document
    if document.at_doc_code:
        raise ValidationFailed(f"The guide has AT's code already: {document.at_doc_code}")
    store.set_at_doc_code(conn, document_id, code, clock.now())
    changed = replace(document, at_doc_code=code)
    seal_service.record(conn, resources.seal_key, changed, "at_doc_code")
    return changed
