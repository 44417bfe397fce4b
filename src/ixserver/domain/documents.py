"""Documents as the rules see them, and what must hold before one is issued (pt-compliance
§6–7, api-v2 §4.6)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ixserver.domain import exemptions, states
from ixserver.domain.clients import FINAL_CONSUMER_NIF, canonical_country
from ixserver.domain.doctypes import BY_KEY, INVOICE_TYPES, DocType, with_article
from ixserver.domain.errors import MissingElement
from ixserver.domain.items import UNITS, price_problems
from ixserver.domain.limits import (
    AMOUNT_PLACES,
    EXCHANGE_RATE_PLACES,
    MAX_AMOUNT,
    MAX_EXCHANGE_RATE,
    MAX_QUANTITY,
    MIN_EXCHANGE_RATE,
    QUANTITY_PLACES,
    date_problems,
    number_problems,
)
from ixserver.domain.money import HUNDRED, to_cents
from ixserver.domain.reference import CURRENCIES
from ixserver.domain.totals import GlobalDiscount

# Corrective notes and the types of document they may correct.
CORRECTS: dict[str, tuple[str, ...]] = {
    "credit_note": ("invoice", "invoice_receipt", "simplified_invoice", "debit_note"),
    "debit_note": ("invoice", "invoice_receipt", "simplified_invoice"),
    "vat_moss_credit_note": ("vat_moss_invoice",),
}
CREDIT_NOTES = ("credit_note", "vat_moss_credit_note")
# CIVA art. 40 (pt-compliance §7): simplified invoices up to 1 000 € for retail sales of goods
# to non-taxable persons, up to 100 € for anything else. In the API, a line is a service when
# its unit is one of SERVICE_UNITS (else goods: "unit", "other", none), and a client is a
# non-taxable person without a NIF, with the final consumer's, or with a natural person's NIF
# (first digits 1, 2, 3 or 45).
SIMPLIFIED_LIMIT = Decimal("100")
SIMPLIFIED_LIMIT_RETAIL = Decimal("1000")
SERVICE_UNITS = ("service", "hour", "day", "month")
NATURAL_PERSON_NIF = ("1", "2", "3", "45")


def retail_sale(client_fiscal_id: str | None, units: list[str | None]) -> bool:
    """Whether a sale may take a simplified invoice up to 1 000 €: goods only, to a consumer."""
    nif = (client_fiscal_id or "").strip()
    consumer = nif in ("", FINAL_CONSUMER_NIF) or nif.startswith(NATURAL_PERSON_NIF)
    return consumer and all(unit not in SERVICE_UNITS for unit in units)


# Documents and lines are read by the page (a list builds 25 documents and their lines per
# request): plain slotted dataclasses, which build 7x faster than frozen ones. What may not
# change once issued is kept by the services and the database, not by these objects.
Day = date  # a field named `date` hides the type inside its class


@dataclass(slots=True)
class DocumentLine:
    name: str
    description: str
    unit_price: Decimal
    quantity: Decimal
    unit: str | None
    discount: Decimal
    tax_id: int | None
    tax_name: str
    tax_value: Decimal
    tax_region: str
    tax_code: str
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    item_id: int | None = None
    tax_exemption: str | None = None  # its own exemption code (M01…), else the document's


@dataclass(frozen=True)
class Transport:
    """What a guide says of the transport (api-v2 §6.2); a purchase order, of its delivery (§7)."""

    loaded_at: str  # start of transport, local time "YYYY-MM-DDTHH:MM:SS"; a purchase order's "YYYY-MM-DD"
    license_plate: str | None
    address_from: dict[str, str]  # detail, city, postal_code, country
    address_to: dict[str, str]
    load_site: str | None = None
    delivery_site: str | None = None


@dataclass(slots=True)
class DocumentContent:
    """What a draft says, as its last create or update set it: dates, client, lines' totals,
    currency, the series it asks for, the document it corrects. Finalization freezes it."""

    date: Day
    due_date: Day
    reference: str | None
    observations: str | None
    retention: Decimal | None
    tax_exemption: str | None
    client_id: int | None
    client: dict[str, Any]  # the client's fields as the document keeps them (frozen when issued)
    currency_code: str
    exchange_rate: Decimal | None
    global_discount: GlobalDiscount | None
    sum: Decimal
    discount: Decimal
    before_taxes: Decimal
    taxes: Decimal
    total: Decimal
    retention_amount: Decimal
    owner_document_id: int | None
    owner_reference: str | None
    sub_sequence_id: int | None
    transport: Transport | None  # guides only


@dataclass(slots=True)
class Document(DocumentContent):
    """A stored document: its content, and who it is, where it stands, how it was issued."""

    id: int
    account_id: int
    doc_type: str
    status: str
    archived: bool
    permalink_token: str
    number: int | None
    serie: str | None
    atcud: str | None
    gross_total_eur: Decimal | None
    system_entry_date: str | None
    signature: str | None
    key_version: int | None
    status_reason: str | None
    at_doc_code: str | None  # guides: the code AT gave the transport document
    payment_mechanism: str | None = None  # receipts: how the payment was made (TB, MB, NU…)
    status_changed_at: datetime | None = None  # UTC: when its status last changed (SAF-T status date)
    # The issuer as it was when the document was issued (domain/accounts.ISSUER_FIELDS); None for
    # a draft, and for documents issued before issuers were kept (they show the account's).
    issuer: dict[str, Any] | None = None
    lines: list[DocumentLine] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentFilters:
    """The filters of GET /invoices.json (api-v2 §4.1); None = not filtered."""

    types: tuple[str, ...] = INVOICE_TYPES
    statuses: tuple[str, ...] | None = None  # None: every status but deleted
    archived: bool | None = False  # False: non-archived only; True: archived only; None: both
    text: str | None = None
    reference: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    due_date_from: date | None = None
    due_date_to: date | None = None
    before_taxes_from: Decimal | None = None
    before_taxes_to: Decimal | None = None
    loaded_from: date | None = None  # guides and purchase orders: the day their load starts
    loaded_to: date | None = None
    client_id: int | None = None
    newest_first: bool = True


@dataclass(frozen=True)
class LineInput:
    """A document line as a request describes it; None = not given."""

    name: str | None
    description: str | None
    unit_price: Decimal | None
    quantity: Decimal | None
    unit: str | None
    discount: Decimal | None
    tax_name: str | None
    tax_value: Decimal | None
    tax_exemption: str | None = None


MAX_RETENTION = Decimal("99.99")
DUE_BEFORE_DATE = "Due date must be equal to or later than the document date"
TRANSPORT_STARTED = "Loaded at must be later than now: a guide is issued before its transport starts"


def draft_problems(
    *,
    retention: Decimal | None,
    tax_exemption: str | None,
    currency: str,
    rate: Decimal | None,
    global_discount: GlobalDiscount | None,
    lines: list[LineInput] | None,
    has_client: bool,
    manual_number: bool,
    mb_reference: bool,
    doc_date: date | None = None,
    due_date: date | None = None,
) -> list[str]:
    """What is wrong with a draft's content, whatever the database holds (api-v2 §4.3): the due
    date (an estimate's validity) no earlier than the date, as finalization will ask again."""
    problems: list[str] = date_problems(doc_date, "Date") + date_problems(due_date, "Due date")
    if not problems and doc_date is not None and due_date is not None and due_date < doc_date:
        problems.append(DUE_BEFORE_DATE)
    if retention is not None and not Decimal(0) <= retention <= MAX_RETENTION:
        problems.append("Retention must be a number between 0 and 99.99")
    if tax_exemption is not None and not exemptions.is_known(tax_exemption):
        problems.append(exemptions.should_be_one_of())
    if manual_number:
        problems.append("Manual numbering is not enabled for this sequence")
    if mb_reference:
        problems.append("Option to generate MB reference is set but no payment provider is configurated")
    if currency not in CURRENCIES:
        problems.append(f"Currency {currency} is not valid")
    elif currency != "EUR" and (rate is None or rate <= 0):
        problems.append("Rate must be a number greater than 0 for a document in another currency")
    elif currency != "EUR":
        problems.extend(
            number_problems(rate, "Rate", low=MIN_EXCHANGE_RATE, high=MAX_EXCHANGE_RATE, places=EXCHANGE_RATE_PLACES)
        )
    if global_discount is not None:
        if global_discount.kind not in ("percentage", "absolute"):
            problems.append("Global discount value_type must be percentage or absolute")
        elif global_discount.value < 0 or (global_discount.kind == "percentage" and global_discount.value > HUNDRED):
            problems.append("Global discount value is not valid")
        else:
            problems.extend(
                number_problems(
                    global_discount.value,
                    "Global discount value",
                    low=Decimal(0),
                    high=MAX_AMOUNT,
                    places=AMOUNT_PLACES,
                )
            )
    if not lines:
        problems.append("Document should have at least one item")
    else:
        for number, line in enumerate(lines, start=1):
            problems.extend(f"Item {number}: {p}" for p in line_problems(line))
    if not has_client:
        problems.append(str(MissingElement("client")))
    return problems


def line_problems(line: LineInput) -> list[str]:
    problems = []
    if not line.name or not line.name.strip():
        problems.append("Name can't be blank")
    if line.unit_price is not None and line.unit_price < 0:
        problems.append("Unit price can't be negative")
    else:
        problems.extend(price_problems(line.unit_price, "Unit price"))
    if line.quantity is None or line.quantity <= 0:
        problems.append("Quantity must be a number greater than 0")
    else:
        problems.extend(
            number_problems(line.quantity, "Quantity", low=Decimal(0), high=MAX_QUANTITY, places=QUANTITY_PLACES)
        )
    if line.discount is not None and not 0 <= line.discount <= HUNDRED:
        problems.append("Discount must be a number between 0 and 100")
    if line.unit is not None and line.unit not in UNITS:
        problems.append(f"Unit {line.unit} is not included in the list of accepted units")
    if line.tax_exemption is not None and not exemptions.is_known(line.tax_exemption):
        problems.append(exemptions.should_be_one_of())
    return problems


def total_problems(gross: Decimal, total: Decimal, total_eur: Decimal) -> list[str]:
    """A document's amounts stay below 10^12: the sum of its lines before discounts (so every
    line does), and its total in its currency and in euros."""
    if max(gross, total, total_eur) > MAX_AMOUNT:
        return [f"The document's amounts can't exceed {MAX_AMOUNT} (before discounts, and in euros)"]
    return []


def finalization_problems(
    *,
    doc_type: DocType,
    doc_date: date,
    due_date: date,
    today: date,
    last_date: date | None,
    tax_rates: list[Decimal],
    tax_exemption: str | None,
    total_eur: Decimal,
    client_fiscal_id: str | None,
    serie: str,
    validation_code: str | None,
    units: list[str | None],
    line_exemptions: list[str | None],
) -> list[str]:
    """What prevents a draft from being issued now; empty when it may be."""
    problems = numbering_problems(doc_type, serie, validation_code, doc_date, today, last_date)
    if not tax_rates:
        problems.append("Document should have at least one item")
    if due_date < doc_date:
        problems.append(DUE_BEFORE_DATE)
    # every 0 % line needs an exemption code: its own, else the document's (AT allows one per line)
    codes = [line_exemptions[n] if n < len(line_exemptions) else None for n in range(len(tax_rates))]
    if any(rate == 0 and not _exempts(code or tax_exemption) for rate, code in zip(tax_rates, codes, strict=True)):
        problems.append(exemptions.should_be_one_of())
    if doc_type.key == "simplified_invoice":
        retail = retail_sale(client_fiscal_id, units)
        limit = SIMPLIFIED_LIMIT_RETAIL if retail else SIMPLIFIED_LIMIT
        if total_eur > limit:
            what = (
                "for retail sales of goods to consumers"
                if retail
                else "unless they sell goods only, to a consumer (not to a company, not services)"
            )
            problems.append(f"Simplified invoices can't exceed {limit:.2f} € {what}; issue an invoice instead")
    return problems


def numbering_problems(
    doc_type: DocType, serie: str, validation_code: str | None, doc_date: date, today: date, last_date: date | None
) -> list[str]:
    """What prevents any document, receipts included, from taking the next number of its series:
    a series not communicated to AT, a date in the future or before the series' last document."""
    problems: list[str] = []
    if doc_type.atcud and not validation_code:  # DL 28/2019 art. 35: communicated before use
        problems.append(
            f"The series {serie} is not registered with the Tax Authority (AT) for the {doc_type.label} type:"
            " register it before issuing (PUT /sequences/{id}/register.json; on a production server,"
            f" ixserver series register ACCOUNT {serie} --code {doc_type.saft_code}=CODE)"
        )
    if doc_date > today:
        problems.append("Date can't be in the future")
    if last_date is not None and doc_date < last_date:
        problems.append(f"Date cannot be earlier than the last {doc_type.label} of this sequence[{last_date:%d %b %y}]")
    return problems


def _exempts(code: str | None) -> bool:
    return bool(code) and code != exemptions.NONE and code in exemptions.EXEMPTIONS


def correction_problems(
    *,
    doc_type: DocType,
    owner: Document | None,
    owner_given: bool,
    external_reference: str | None,
    client_id: int | None,
    total: Decimal,
    already_credited: Decimal,
    currency: str,
    doc_date: date,
) -> list[str]:
    """What a credit or debit note needs of the document it corrects (pt-compliance §7): a
    live document of a type it may correct, of the same client, in the same currency, dated no
    earlier than it; a credit note takes back no more than is left."""
    if doc_type.key not in CORRECTS:
        return []
    if owner is None:
        if owner_given:
            return ["Owner invoice not found"]
        if external_reference:
            return []  # corrects a document issued elsewhere ("raw_owner_invoice")
        return [f"A {doc_type.label} needs owner_invoice_id: the document it corrects"]
    problems: list[str] = []
    if owner.doc_type not in CORRECTS[doc_type.key]:
        problems.append(f"A {doc_type.label} can't correct {with_article(BY_KEY[owner.doc_type].label)}")
    if owner.status == states.CANCELED:
        problems.append("A canceled document can't be corrected")
    elif owner.status not in states.LIVE:
        problems.append("The owner invoice must be finalized first")
    if owner.client_id != client_id:
        problems.append("The owner invoice belongs to another client")
    if currency != owner.currency_code:
        problems.append(f"A {doc_type.label} is in the currency of the document it corrects ({owner.currency_code})")
    if doc_date < owner.date:
        problems.append(f"A {doc_type.label} can't be dated before the document it corrects ({owner.date:%d/%m/%Y})")
    if doc_type.key in CREDIT_NOTES and not problems:
        left = owner.total - already_credited
        if total > left:
            problems.append(f"Credit notes can't exceed what is left to credit on the owner invoice ({left:.2f})")
    return problems


def net(line: DocumentLine) -> Decimal:
    """A line's value before VAT, after its discounts (SAF-T Credit/DebitAmount)."""
    return line.subtotal - line.discount_amount


def credit_line_problems(
    owner_lines: list[DocumentLine], credited_lines: list[DocumentLine], note_lines: list[DocumentLine]
) -> list[str]:
    """A credit note takes back lines of the document it corrects (pt-compliance §7: quantities
    and values): per line, by item name and VAT rate, at most the quantity and the value (before
    VAT, after discounts) invoiced, less what earlier credit notes took back."""

    def totals(lines: list[DocumentLine]) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal]]:
        found: dict[tuple[str, Decimal], tuple[Decimal, Decimal]] = {}
        for line in lines:
            quantity, value = found.get((line.name, line.tax_value), (Decimal(0), Decimal(0)))
            found[(line.name, line.tax_value)] = (quantity + line.quantity, value + net(line))
        return found

    invoiced, taken, asked = totals(owner_lines), totals(credited_lines), totals(note_lines)
    problems: list[str] = []
    for (name, rate), (quantity, value) in asked.items():
        if (name, rate) not in invoiced:
            problems.append(f"{name} at {rate.normalize():f}% VAT is not on the document it corrects")
            continue
        had_quantity, had_value = invoiced[(name, rate)]
        took_quantity, took_value = taken.get((name, rate), (Decimal(0), Decimal(0)))
        if quantity > had_quantity - took_quantity:
            left = (had_quantity - took_quantity).normalize()
            problems.append(f"Can't credit {quantity.normalize():f} of {name}: {left:f} left to credit")
        elif to_cents(value) > to_cents(had_value) - to_cents(took_value):  # values as the documents show them
            left_value = to_cents(had_value) - to_cents(took_value)
            problems.append(f"Can't credit {to_cents(value)} of {name}: {left_value} left to credit")
    return problems


# The code AT gives a transport document (ATDocCodeID), as an operator may enter it.
AT_DOC_CODE = re.compile(r"[A-Za-z0-9]{1,64}")


def transport_problems(
    loaded_at: str | None,
    address_from: dict[str, str] | None,
    address_to: dict[str, str] | None,
    now: str | None = None,
) -> list[str]:
    """What a guide must say of its transport (api-v2 §6.2): when it starts — later than `now`
    when given (a `loaded_at` the request sets) — and both addresses whole (detail, city, postal
    code, country)."""
    problems = [] if loaded_at else ["Loaded at can't be blank"]
    if loaded_at and now is not None:
        problems += departure_problems(loaded_at, now)
    for which, address in (("Address from", address_from), ("Address to", address_to)):
        missing = [key for key in ("detail", "city", "postal_code", "country") if not (address or {}).get(key)]
        problems += [f"{which}: {key.replace('_', ' ')} can't be blank" for key in missing]
    return problems + address_problems(address_from, address_to)


def address_problems(address_from: dict[str, str] | None, address_to: dict[str, str] | None) -> list[str]:
    """A guide's addresses are in countries of the country list (the spec's appendix, or their
    codes or Portuguese names: domain/clients.canonical_country), as a client's is."""
    problems = []
    for which, address in (("Address from", address_from), ("Address to", address_to)):
        country = (address or {}).get("country")
        if country and canonical_country(country) is None:
            problems.append(f"{which}: Country {country} was not found")
    return problems


def departure_problems(loaded_at: str, now: str) -> list[str]:
    """A guide is issued before its transport starts (api-v2 §6.2): `loaded_at` later than now,
    both `YYYY-MM-DDThh:mm:ss` in local time. Checked when a request sets it and again at
    finalization, since time passes in between."""
    return [] if loaded_at > now else [TRANSPORT_STARTED]
