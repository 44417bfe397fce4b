"""A document's PDF (pt-compliance §3.2 and §7; api-v2 §4.8), with typst.

Python prepares every text — labels and titles in the client's language (pt, en, es), the legal
mentions in Portuguese, amounts formatted — and the template (templates/document.typ, package
data) lays it out: issuer and client with their NIFs ("Consumidor final" without one), type and
number, the document a note corrects, ATCUD on every page, dates, lines, the tax summary per rate
with exemption reasons, totals and withholding, currency, the hash characters and the program
mention, the QR code with the ATCUD right above it, Original/Duplicado, the draft, canceled and
training marks, "Este documento não serve de fatura" where Despacho 8632/2014 §1.2 asks for it,
carried-over totals and page n of N. Only typst's embedded fonts are used and the PDF carries no
date: the same document gives the same bytes. typst draws it in a bounded child process
(render/children.py `Renderers`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ixserver.domain import numbering, states
from ixserver.domain.clients import FINAL_CONSUMER, FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import CORRECTS, Document, net
from ixserver.domain.euros import euro_totals, in_document_currency
from ixserver.domain.exemptions import EXEMPTIONS
from ixserver.domain.families import INVOICES
from ixserver.domain.money import to_cents
from ixserver.domain.payments import PAYMENT_MECHANISMS, payable
from ixserver.domain.sequences import TRAINING_MENTION
from ixserver.domain.signing import printed_mention
from ixserver.render import qr as render_qr

LANGUAGES = ("pt", "en", "es")
EURO = "EUR"
# The legal mentions are in Portuguese whatever the client's language; each is written once,
# here or beside the rule it comes with: the program's (domain/signing.py printed_mention), the
# training one (domain/sequences.py TRAINING_MENTION), the exemption reasons (domain/exemptions.py),
# the final consumer (domain/clients.py FINAL_CONSUMER). Only LABELS and TITLES are translated.
ORIGINAL, DUPLICATE = "Original", "Duplicado"
NOT_AN_INVOICE = "Este documento não serve de fatura"  # Despacho 8632/2014 §1.2

TITLES: dict[str, dict[str, str]] = {
    "pt": {"invoice": "Fatura", "invoice_receipt": "Fatura-Recibo", "simplified_invoice": "Fatura Simplificada",
           "credit_note": "Nota de Crédito", "debit_note": "Nota de Débito", "receipt": "Recibo",
           "shipping": "Guia de Remessa", "transport": "Guia de Transporte", "devolution": "Guia de Devolução",
           "proforma": "Fatura Pró-Forma", "quote": "Orçamento", "fees_note": "Nota de Honorários",
           "purchase_order": "Nota de Encomenda", "vat_moss_invoice": "Fatura (VAT MOSS)",
           "vat_moss_credit_note": "Nota de Crédito (VAT MOSS)", "vat_moss_receipt": "Recibo (VAT MOSS)"},
    "en": {"invoice": "Invoice", "invoice_receipt": "Invoice-Receipt", "simplified_invoice": "Simplified Invoice",
           "credit_note": "Credit Note", "debit_note": "Debit Note", "receipt": "Receipt",
           "shipping": "Delivery Note", "transport": "Transport Document", "devolution": "Return Note",
           "proforma": "Pro-Forma Invoice", "quote": "Quote", "fees_note": "Fees Note",
           "purchase_order": "Purchase Order", "vat_moss_invoice": "Invoice (VAT MOSS)",
           "vat_moss_credit_note": "Credit Note (VAT MOSS)", "vat_moss_receipt": "Receipt (VAT MOSS)"},
    "es": {"invoice": "Factura", "invoice_receipt": "Factura-Recibo", "simplified_invoice": "Factura Simplificada",
           "credit_note": "Nota de Crédito", "debit_note": "Nota de Débito", "receipt": "Recibo",
           "shipping": "Albarán", "transport": "Guía de Transporte", "devolution": "Guía de Devolución",
           "proforma": "Factura Proforma", "quote": "Presupuesto", "fees_note": "Minuta de Honorarios",
           "purchase_order": "Pedido", "vat_moss_invoice": "Factura (VAT MOSS)",
           "vat_moss_credit_note": "Nota de Crédito (VAT MOSS)", "vat_moss_receipt": "Recibo (VAT MOSS)"},
}  # fmt: skip

LABELS: dict[str, dict[str, Any]] = {
    "pt": {"client": "Cliente", "fiscal_id": "NIF", "date": "Data", "due_date": "Vencimento",
           "valid_until": "Válido até", "reference": "Referência", "page": "Página", "of": "de",
           "columns": ["Artigo", "Descrição", "Qtd.", "Preço", "Desc.", "IVA", "Total"], "rate": "Taxa",
           "base": "Incidência", "vat": "IVA", "exemption": "Motivo de isenção", "sum": "Soma",
           "discount": "Descontos", "before_taxes": "Total sem IVA", "taxes": "IVA", "total": "Total",
           "retention": "Retenção na fonte", "to_pay": "Total a pagar", "exchange": "Câmbio",
           "observations": "Observações", "carried_from": "Transporte", "carried_to": "A transportar",
           "draft_mark": "RASCUNHO — documento sem valor fiscal", "draft_word": "RASCUNHO", "canceled": "ANULADO",
           "load_place": "Local de carga", "unload_place": "Local de descarga", "loaded_at": "Início do transporte",
           "license_plate": "Matrícula", "at_code": "Código AT", "paid_document": "Documento pago",
           "payment_mechanism": "Meio de pagamento", "amount_paid": "Valor pago", "payment_date": "Data do pagamento",
           "corrected": "Documento retificado", "dated": "de", "taxes_in_euros": "IVA em euros"},
    "en": {"client": "Client", "fiscal_id": "VAT no.", "date": "Date", "due_date": "Due date",
           "valid_until": "Valid until", "reference": "Reference", "page": "Page", "of": "of",
           "columns": ["Item", "Description", "Qty", "Price", "Disc.", "VAT", "Total"], "rate": "Rate",
           "base": "Base", "vat": "VAT", "exemption": "Exemption reason", "sum": "Sum",
           "discount": "Discounts", "before_taxes": "Total before VAT", "taxes": "VAT", "total": "Total",
           "retention": "Withholding tax", "to_pay": "Total to pay", "exchange": "Exchange rate",
           "observations": "Notes", "carried_from": "Carried from previous page", "carried_to": "Carried to next page",
           "draft_mark": "DRAFT — not a fiscal document", "draft_word": "DRAFT", "canceled": "CANCELED",
           "load_place": "Loading place", "unload_place": "Unloading place", "loaded_at": "Transport starts",
           "license_plate": "License plate", "at_code": "AT code", "paid_document": "Paid document",
           "payment_mechanism": "Payment method", "amount_paid": "Amount paid", "payment_date": "Payment date",
           "corrected": "Corrected document", "dated": "dated", "taxes_in_euros": "VAT in euros"},
    "es": {"client": "Cliente", "fiscal_id": "NIF", "date": "Fecha", "due_date": "Vencimiento",
           "valid_until": "Válido hasta", "reference": "Referencia", "page": "Página", "of": "de",
           "columns": ["Artículo", "Descripción", "Cant.", "Precio", "Dto.", "IVA", "Total"], "rate": "Tipo",
           "base": "Base", "vat": "IVA", "exemption": "Motivo de exención", "sum": "Suma",
           "discount": "Descuentos", "before_taxes": "Total sin IVA", "taxes": "IVA", "total": "Total",
           "retention": "Retención", "to_pay": "Total a pagar", "exchange": "Cambio",
           "observations": "Observaciones", "carried_from": "Suma anterior", "carried_to": "Suma y sigue",
           "draft_mark": "BORRADOR — documento sin valor fiscal", "draft_word": "BORRADOR", "canceled": "ANULADO",
           "load_place": "Lugar de carga", "unload_place": "Lugar de descarga", "loaded_at": "Inicio del transporte",
           "license_plate": "Matrícula", "at_code": "Código AT", "paid_document": "Documento pagado",
           "payment_mechanism": "Medio de pago", "amount_paid": "Importe pagado", "payment_date": "Fecha de pago",
           "corrected": "Documento rectificado", "dated": "de", "taxes_in_euros": "IVA en euros"},
}  # fmt: skip


@dataclass(frozen=True)
class Issuer:
    name: str
    fiscal_id: str
    address: tuple[str, ...]  # lines: street, postal code and city


@dataclass(frozen=True)
class Related:
    """The document a note corrects (CIVA art. 36.6) or a receipt pays, as it was issued."""

    number: str  # "FT 2026/3"
    date: date


@dataclass(frozen=True)
class Context:
    """What a PDF says beyond the document itself."""

    issuer: Issuer
    language: str  # the client's: pt, en, es
    certificate: int  # IXSERVER_SOFTWARE_CERTIFICATE; 0: not certified, and the PDF does not claim it
    training: bool  # a document of a training series (sandbox)
    second_copy: bool
    qr_payload: str | None  # None: a draft, or a type SAF-T does not hold
    related: Related | None = None  # the issued document a note corrects or a receipt pays


def mention(document: Document, certificate: int) -> str:
    """The program mention an issued document prints (none on a draft)."""
    return "" if document.number is None else printed_mention(document.signature, certificate)


def _formatter(language: str) -> tuple[str, str]:
    return (",", ".") if language == "en" else (" ", ",")  # thousands, decimal


def _amount(value: Decimal, language: str) -> str:
    thousands, decimal = _formatter(language)
    text = f"{to_cents(value):,.2f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _number(value: Decimal, language: str, places: int = 0) -> str:
    """A quantity (or, with `places` 2, a price) as given: its own decimals, at least `places`."""
    text = format(value.normalize(), "f")
    decimals = len(text.partition(".")[2])
    if decimals < places:
        text = f"{value:.{places}f}"
    return text.replace(".", _formatter(language)[1])


def _percent(value: Decimal, language: str) -> str:
    return _number(value, language) + "%"


def data(document: Document, context: Context) -> dict[str, Any]:
    """Everything the template prints, as text."""
    language = context.language if context.language in LANGUAGES else "pt"
    labels = LABELS[language]
    kind = BY_KEY[document.doc_type]
    numbered = document.number is not None and document.serie is not None
    currency = document.currency_code

    def money(value: Decimal) -> str:
        return _amount(value, language)

    client = document.client
    fiscal_id = str(client.get("fiscal_id") or "").strip()
    facts = [[labels["date"], document.date.strftime("%d-%m-%Y")]]
    if kind.family.due_label is not None:
        due = labels[kind.family.due_label]
        facts.append([due, document.due_date.strftime("%d-%m-%Y")])
    if document.reference:
        facts.append([labels["reference"], document.reference])
    if document.doc_type in CORRECTS:
        related = context.related
        corrected = (
            f"{related.number} {labels['dated']} {related.date:%d-%m-%Y}" if related else document.owner_reference
        )
        if corrected:
            facts.append([labels["corrected"], corrected])
    lines = [
        {
            "name": line.name,
            "description": line.description,
            "quantity": _number(line.quantity, language),
            "unit": line.unit or "",
            "unit_price": _number(line.unit_price, language, 2),
            "discount": _percent(line.discount, language),
            "tax": _percent(line.tax_value, language),
            "total": money(net(line)),
            "cents": int(to_cents(net(line)) * 100),
            "exemption": line.tax_exemption if line.tax_value == 0 else None,
        }
        for line in document.lines
    ]
    rates = in_document_currency(document).rates
    exempt = {line.tax_exemption or document.tax_exemption for line in document.lines if line.tax_value == 0}
    exemption_codes = sorted(code for code in exempt if code and code != "M00")
    taxes = [
        {
            "rate": _percent(rate.rate, language),
            "base": money(rate.base),
            "vat": money(rate.tax),
            "reason": ", ".join(exemption_codes) if rate.rate == 0 else "",
        }
        for rate in rates
    ]
    payment = None
    if kind.family.receipt:
        totals = [[labels["before_taxes"], money(document.before_taxes)], [labels["taxes"], money(document.taxes)]]
        if document.retention_amount:
            totals.append([labels["retention"], f"-{money(document.retention_amount)}"])
        amount = payable(document.total, document.retention_amount)
        grand = [labels["amount_paid"], f"{money(amount)} {currency}"]
        mechanism = document.payment_mechanism or "OU"
        payment = {
            "document": context.related.number if context.related else "",
            "mechanism": f"{mechanism} — {PAYMENT_MECHANISMS.get(mechanism, '')}",
            "amount": f"{money(amount)} {currency}",
        }
    else:
        totals = [
            [labels["sum"], money(document.sum)],
            [labels["discount"], money(document.discount)],
            [labels["before_taxes"], money(document.before_taxes)],
            [labels["taxes"], money(document.taxes)],
        ]
        grand = [labels["total"], f"{money(document.total)} {currency}"]
        if document.retention_amount:  # the total, then what is withheld of it
            totals += [grand, [f"{labels['retention']} ({_percent(document.retention or Decimal(0), language)})",
                               f"-{money(document.retention_amount)}"]]  # fmt: skip
            grand = [labels["to_pay"], f"{money(payable(document.total, document.retention_amount))} {currency}"]
    if currency != EURO and document.exchange_rate is not None:
        # Directive 2006/112 art. 230: the rate, and the VAT in euros as AT reads it (domain/euros.py)
        totals += [[labels["exchange"], f"1 {EURO} = {_number(document.exchange_rate, language)} {currency}"],
                   [labels["taxes_in_euros"], f"{money(euro_totals(document).taxes)} {EURO}"]]  # fmt: skip
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
        "labels": labels,
        "decimal": _formatter(language)[1],
        "thousands": _formatter(language)[0],
        "title": TITLES[language][document.doc_type],
        "number": numbering.document_number(kind, document.serie, document.number) if numbered else "",  # type: ignore[arg-type]
        "copy": DUPLICATE if context.second_copy else ORIGINAL,
        "draft": not numbered,
        "canceled": labels["canceled"] if document.status == states.CANCELED else None,
        "training": TRAINING_MENTION if context.training else None,
        "not_invoice": None if kind.family is INVOICES else NOT_AN_INVOICE,
        "issuer": {
            "name": context.issuer.name,
            "fiscal_id": context.issuer.fiscal_id,
            "address": list(context.issuer.address),
        },
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
        "taxes": taxes,
        "exemptions": [f"{code}: {EXEMPTIONS[code]}" for code in exemption_codes if code in EXEMPTIONS],
        "observations": document.observations,
        "totals": totals,
        "grand": grand,
        "currency": currency,
        "atcud": f"ATCUD:{document.atcud}" if numbered and kind.atcud and document.atcud else "",
        "mention": mention(document, context.certificate),
        "qr": {"size": render_qr.SYMBOL_MM if context.qr_payload is not None else 0, "quiet": render_qr.QUIET_ZONE_MM},
    }


def _place(client: dict[str, Any]) -> str:
    return " ".join(str(part) for part in (client.get("postal_code"), client.get("city")) if part)


def _address(address: dict[str, str]) -> list[str]:
    return [part for part in (address.get("detail"), _place(address), address.get("country")) if part]


def inputs(document: Document, context: Context) -> dict[str, str]:
    """What the template (templates/document.typ) is given to draw the PDF: render/children.py
    draws it."""
    given = {"data": json.dumps(data(document, context), ensure_ascii=False)}
    if context.qr_payload is not None:
        given["qr"] = render_qr.svg(context.qr_payload)
    return given
