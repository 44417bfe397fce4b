"""What a document prints, as text (pt-compliance §3.2 and §7; api-v2 §4.8): its PDF
(render/pdf.py, typst) and its page (render/pages.py, Jinja2) are drawn from the same view, so
they say the same words and figures.

Labels, titles and units are the client's language's (pt, en, es: render/catalogue.py), numbers
and amounts written as it writes them (render/formats.py); the legal mentions are in Portuguese
whatever the language, each written once, here or beside the rule it comes with: the program's
(domain/signing.py printed_mention), the training one (domain/sequences.py TRAINING_MENTION), the
exemption reasons (domain/exemptions.py), the final consumer (domain/clients.py FINAL_CONSUMER),
Original/Duplicado and "Este documento não serve de fatura" (below), the issuer's share capital
and commercial registry (CSC art. 171, amounts in Portuguese).

The view has: the issuer (logo, name, NIF, address, contacts, bank details, capital, registry)
and the client with their NIFs ("Consumidor final" without one), type and number, the document
a note corrects, the ATCUD, dates, lines, the totals as Portuguese invoices show them (Total
ilíquido, Descontos, IVA per rate with its base, Total a pagar) with withholding and exemption
reasons, the currency, the hash characters and the program mention, Original/Duplicado, the
draft, canceled and training marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ixserver.domain import numbering, states
from ixserver.domain.accounts import printed_iban
from ixserver.domain.clients import FINAL_CONSUMER, FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import CORRECTS, CREDIT_NOTES, Document, net
from ixserver.domain.euros import euro_totals, in_document_currency
from ixserver.domain.exemptions import EXEMPTIONS
from ixserver.domain.families import INVOICES
from ixserver.domain.money import to_cents
from ixserver.domain.payments import PAYMENT_MECHANISMS, payable
from ixserver.domain.sequences import TRAINING_MENTION
from ixserver.domain.signing import printed_mention
from ixserver.render.catalogue import gettext, language_of, pgettext
from ixserver.render.formats import Formats

EURO = "EUR"
ORIGINAL, DUPLICATE = "Original", "Duplicado"
NOT_AN_INVOICE = "Este documento não serve de fatura"  # Despacho 8632/2014 §1.2
PORTUGUESE = Formats("pt")  # the legal mentions' amounts

# The types' names (message ids of render/locale/*.po).
TITLES = {
    "invoice": "Invoice", "invoice_receipt": "Invoice-Receipt", "simplified_invoice": "Simplified Invoice",
    "credit_note": "Credit Note", "debit_note": "Debit Note", "receipt": "Receipt", "shipping": "Delivery Note",
    "transport": "Transport Document", "devolution": "Return Note", "proforma": "Pro-Forma Invoice", "quote": "Quote",
    "fees_note": "Fees Note", "purchase_order": "Purchase Order", "vat_moss_invoice": "Invoice (VAT MOSS)",
    "vat_moss_credit_note": "Credit Note (VAT MOSS)", "vat_moss_receipt": "Receipt (VAT MOSS)",
}  # fmt: skip


def title(doc_type: str, language: str) -> str:
    """A type's name in `language`."""
    return gettext(language)(TITLES[doc_type])


def labels(language: str) -> dict[str, str]:
    """The words a document's layouts print, in `language`."""
    _ = gettext(language)
    return {
        "client": _("Client"), "fiscal_id": _("VAT no."), "date": _("Date"), "due_date": _("Due date"),
        "valid_until": _("Valid until"), "reference": _("Reference"), "page": _("Page"), "of": _("of"),
        "item": _("Item"), "description": _("Description"), "quantity": _("Qty"), "unit": _("Unit"),
        "unit_price": _("Unit price"), "discount": _("Disc."), "vat": _("VAT"), "amount": _("Amount"),
        "base": _("Base"), "notes": _("Notes"), "carried_from": _("Carried from previous page"),
        "carried_to": _("Carried to next page"), "draft_mark": _("DRAFT — not a fiscal document"),
        "draft_word": _("DRAFT"), "load_place": _("Loading place"), "unload_place": _("Unloading place"),
        "loaded_at": _("Transport starts"), "license_plate": _("License plate"), "at_code": _("AT code"),
        "paid_document": _("Paid document"), "payment_mechanism": _("Payment method"), "amount_paid": _("Amount paid"),
        "download": _("Download the PDF"), "qr_code": _("QR code"),
    }  # fmt: skip


@dataclass(frozen=True)
class Issuer:
    """The issuer as the document froze it (domain/accounts.issuer_of), its logo drawn apart."""

    name: str
    fiscal_id: str
    address: tuple[str, ...]  # lines: street, postal code and city
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    iban: str | None = None
    swift: str | None = None
    share_capital: Decimal | None = None
    registry_office: str | None = None
    registry_number: str | None = None
    logo: bool = False  # it has one: the PDF is given it (render/pdf.py), the page links it

    @classmethod
    def of(cls, frozen: dict[str, str]) -> Issuer:
        place = " ".join(part for part in (frozen.get("postal_code"), frozen.get("city")) if part)
        capital = frozen.get("share_capital")
        return cls(
            name=frozen.get("name", ""),
            fiscal_id=frozen.get("fiscal_id", ""),
            address=tuple(part for part in (frozen.get("address"), place) if part),
            phone=frozen.get("phone"),
            email=frozen.get("email"),
            website=frozen.get("website"),
            iban=frozen.get("iban"),
            swift=frozen.get("swift"),
            share_capital=Decimal(capital) if capital else None,
            registry_office=frozen.get("registry_office"),
            registry_number=frozen.get("registry_number"),
            logo=bool(frozen.get("logo")),
        )


@dataclass(frozen=True)
class Related:
    """The document a note corrects (CIVA art. 36.6) or a receipt pays, as it was issued."""

    number: str  # "FT 2026/3"
    date: date


@dataclass(frozen=True)
class Context:
    """What a document prints beyond the document itself."""

    issuer: Issuer
    language: str  # the client's: pt, en, es
    certificate: int  # IXSERVER_SOFTWARE_CERTIFICATE; 0: not certified, and the document does not claim it
    training: bool  # a document of a training series (sandbox)
    second_copy: bool
    qr_payload: str | None  # None: a draft, or a type SAF-T does not hold
    related: Related | None = None  # the issued document a note corrects or a receipt pays


def mention(document: Document, certificate: int) -> str:
    """The program mention an issued document prints (none on a draft)."""
    return "" if document.number is None else printed_mention(document.signature, certificate)


def issuer_view(issuer: Issuer, language: str) -> dict[str, Any]:
    """The issuer's block: contacts in the client's language, the legal mentions in Portuguese."""
    _ = gettext(language)
    contacts = [f"{label} {value}" for label, value in ((_("Phone"), issuer.phone), (_("Email"), issuer.email),
                                                        (_("Website"), issuer.website)) if value]  # fmt: skip
    bank = ([f"IBAN {printed_iban(issuer.iban)}"] if issuer.iban else []) + (
        [f"SWIFT/BIC {issuer.swift}"] if issuer.swift else []
    )
    legal = []  # CSC art. 171: the registry office, the number there, the share capital
    if issuer.share_capital is not None:
        legal.append(f"Capital social {PORTUGUESE.money(issuer.share_capital, EURO)}")
    if issuer.registry_office or issuer.registry_number:
        number = f"n.º {issuer.registry_number}" if issuer.registry_number else ""
        legal.append(" ".join(part for part in ("Matrícula", issuer.registry_office, number) if part))
    return {
        "name": issuer.name,
        "fiscal_id": issuer.fiscal_id,
        "address": list(issuer.address),
        "contacts": contacts,
        "bank": bank,
        "legal": legal,
        "logo": issuer.logo,
    }


def document_view(document: Document, context: Context) -> dict[str, Any]:
    """Everything a document prints, as text."""
    language = language_of(context.language)
    _ = gettext(language)
    unit_name = pgettext(language)
    words = labels(language)
    formats = Formats(language)
    kind = BY_KEY[document.doc_type]
    numbered = document.number is not None and document.serie is not None
    currency = document.currency_code

    def money(value: Decimal) -> str:
        return formats.money(value, currency)

    client = document.client
    fiscal_id = str(client.get("fiscal_id") or "").strip()
    facts = [[words["date"], formats.date(document.date)]]
    if kind.family.due_label is not None:
        facts.append([words[kind.family.due_label], formats.date(document.due_date)])
    if document.reference:
        facts.append([words["reference"], document.reference])
    if document.doc_type in CORRECTS:
        related = context.related
        dated = _("dated")
        corrected = f"{related.number} {dated} {formats.date(related.date)}" if related else document.owner_reference
        if corrected:
            facts.append([_("Corrected document"), corrected])
    lines = [
        {
            "name": line.name,
            "description": line.description,
            "quantity": formats.quantity(line.quantity),
            "unit": unit_name("unit", line.unit) if line.unit else "",
            "unit_price": formats.price(line.unit_price),
            "discount": formats.percent(line.discount),
            "tax": formats.percent(line.tax_value),
            "total": formats.amount(net(line)),
            "cents": int(to_cents(net(line)) * 100),
            "exemption": line.tax_exemption if line.tax_value == 0 else None,
        }
        for line in document.lines
    ]
    exempt = {line.tax_exemption or document.tax_exemption for line in document.lines if line.tax_value == 0}
    exemption_codes = sorted(code for code in exempt if code and code != "M00")
    # VAT per rate, with the base it is charged on (CIVA art. 36.5 d): the totals block's lines
    taxes = [
        {
            "label": f"{words['vat']} {formats.percent(rate.rate)}"
            + (f" ({', '.join(exemption_codes)})" if rate.rate == 0 and exemption_codes else ""),
            "base": money(rate.base),
            "value": money(rate.tax),
        }
        for rate in in_document_currency(document).rates
    ]
    payment = None
    withholding = _("Withholding tax")
    if kind.family.receipt:
        amount = payable(document.total, document.retention_amount)
        totals = [_row(_("Total before VAT"), money(document.before_taxes)), *taxes]
        if document.retention_amount:
            totals.append(_row(withholding, money(-document.retention_amount)))
        grand = _row(words["amount_paid"], money(amount))
        mechanism = document.payment_mechanism or "OU"
        payment = {
            "document": context.related.number if context.related else "",
            "mechanism": f"{mechanism} — {PAYMENT_MECHANISMS.get(mechanism, '')}",
            "amount": money(amount),
        }
    else:
        discount = -document.discount if document.discount else Decimal(0)
        totals = [_row(_("Gross total"), money(document.sum)), _row(_("Discounts"), money(discount)), *taxes]
        to_pay = kind.family is INVOICES and document.doc_type not in CREDIT_NOTES
        grand = _row(_("Total to pay") if to_pay else _("Document total"), money(document.total))
        if document.retention_amount:  # the document's total, then what is withheld of it
            rate = formats.percent(document.retention or Decimal(0))
            totals += [_row(_("Document total"), money(document.total)),
                       _row(f"{withholding} ({rate})", money(-document.retention_amount))]  # fmt: skip
            grand = _row(_("Total to pay"), money(payable(document.total, document.retention_amount)))
    if currency != EURO and document.exchange_rate is not None:
        # Directive 2006/112 art. 230: the rate, and the VAT in euros as AT reads it (domain/euros.py)
        totals += [_row(_("Exchange rate"), f"1 {EURO} = {formats.quantity(document.exchange_rate)} {currency}"),
                   _row(_("VAT in euros"), formats.money(euro_totals(document).taxes, EURO))]  # fmt: skip
    transport = None
    if document.transport is not None and kind.family.moves_goods:
        t = document.transport
        transport = {
            "from": _address(t.address_from) + ([t.load_site] if t.load_site else []),
            "to": _address(t.address_to) + ([t.delivery_site] if t.delivery_site else []),
            "loaded_at": t.loaded_at.replace("T", " ") if t.loaded_at else "",
            "plate": t.license_plate or "",
            "at_code": document.at_doc_code,
        }
    return {
        "lang": language,
        "labels": words,
        "money": formats.money_parts(currency),
        "title": title(document.doc_type, language),
        "number": numbering.document_number(kind, document.serie, document.number) if numbered else "",  # type: ignore[arg-type]
        "copy": DUPLICATE if context.second_copy else ORIGINAL,
        "draft": not numbered,
        "canceled": _("CANCELED") if document.status == states.CANCELED else None,
        "training": TRAINING_MENTION if context.training else None,
        "not_invoice": None if kind.family is INVOICES else NOT_AN_INVOICE,
        "issuer": issuer_view(context.issuer, language),
        "client": {
            "name": str(client.get("name") or ""),
            # a final consumer's line is "Consumidor final" (Despacho 8632/2014 §2.2.5), not a NIF
            "fiscal_id": None if fiscal_id in ("", FINAL_CONSUMER_NIF) else fiscal_id,
            "final_consumer": FINAL_CONSUMER,
            "address": [part for part in (client.get("address"), _place(client), client.get("country")) if part],
        },
        "facts": facts,
        "transport": transport,
        "lines": lines,
        "payment": payment,
        "exemptions": [f"{code}: {EXEMPTIONS[code]}" for code in exemption_codes if code in EXEMPTIONS],
        "observations": document.observations,
        "totals": totals,
        "grand": grand,
        "currency": currency,
        "atcud": f"ATCUD:{document.atcud}" if numbered and kind.atcud and document.atcud else "",
        "mention": mention(document, context.certificate),
    }


def _row(label: str, value: str, base: str = "") -> dict[str, str]:
    """A line of the totals block: what it is, the base it is of (VAT), its amount."""
    return {"label": label, "base": base, "value": value}


def _place(client: dict[str, Any]) -> str:
    return " ".join(str(part) for part in (client.get("postal_code"), client.get("city")) if part)


def _address(address: dict[str, str]) -> list[str]:
    return [part for part in (address.get("detail"), _place(address), address.get("country")) if part]
