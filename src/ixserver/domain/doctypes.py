"""The document types of InvoiceXpress and what Portuguese law says about each (api-v2 §2,
pt-compliance §1, tests/data/doc-types.csv)."""

from __future__ import annotations

from dataclasses import dataclass

from ixserver.domain.families import ESTIMATES, GUIDES, INVOICES, PURCHASE_ORDERS, RECEIPTS, Family


@dataclass(frozen=True)
class DocType:
    key: str  # singular, as in response root keys and `current_<key>_number`
    path: str  # URL segment, e.g. "invoice_receipts"
    type_name: str  # the `type` value, e.g. "InvoiceReceipt"
    family: Family
    saft_code: str | None  # SAF-T InvoiceType/MovementType/WorkType/PaymentType
    saft_class: str | None  # series class AT expects: SI, MG, WD, PY
    atcud: bool  # relevant for ATCUD (validation code "N/D" until registered, else "N/A")
    # The program's own code for the type, first token of the document number ("FT 2026/1").
    # One code per type across all tables (pt-compliance §1.2), so VAT MOSS gets its own.
    internal_code: str | None = None
    label: str = ""  # in messages: "invoice-receipt"
    # Signed (hash chain, SAF-T Hash): every type but receipts (Despacho 8632/2014 §1.1).
    signed: bool = True


# Order of the seed's sequence object (GET /sequences.json); every sequence has one
# sub-sequence per type.
DOC_TYPES: tuple[DocType, ...] = (
    DocType("invoice", "invoices", "Invoice", INVOICES, "FT", "SI", True, "FT", "invoice"),
    DocType(
        "invoice_receipt", "invoice_receipts", "InvoiceReceipt", INVOICES, "FR", "SI", True, "FR", "invoice-receipt"
    ),
    DocType(
        "simplified_invoice",
        "simplified_invoices",
        "SimplifiedInvoice",
        INVOICES,
        "FS",
        "SI",
        True,
        "FS",
        "simplified invoice",
    ),
    DocType("credit_note", "credit_notes", "CreditNote", INVOICES, "NC", "SI", True, "NC", "credit note"),
    DocType("debit_note", "debit_notes", "DebitNote", INVOICES, "ND", "SI", True, "ND", "debit note"),
    DocType("receipt", "receipts", "Receipt", RECEIPTS, "RG", "PY", True, "RG", "receipt", signed=False),
    DocType("shipping", "shippings", "Shipping", GUIDES, "GR", "MG", True, "GR", "shipping guide"),
    DocType("transport", "transports", "Transport", GUIDES, "GT", "MG", True, "GT", "transport guide"),
    DocType("devolution", "devolutions", "Devolution", GUIDES, "GD", "MG", True, "GD", "devolution guide"),
    DocType("proforma", "proformas", "Proforma", ESTIMATES, "PF", "WD", True, "PF", "proforma"),
    DocType("quote", "quotes", "Quote", ESTIMATES, "OR", "WD", True, "OR", "quote"),
    # Not relevant for ATCUD per the OpenAPI ("N/A"); api-v2 §8.1 treats purchase orders alike.
    DocType("fees_note", "fees_notes", "FeesNote", ESTIMATES, None, None, False, "NH", "fees note"),
    DocType(
        "purchase_order", "purchase_orders", "PurchaseOrder", PURCHASE_ORDERS, None, None, False, "NE", "purchase order"
    ),
    DocType(
        "vat_moss_invoice",
        "vat_moss_invoices",
        "VatMossInvoice",
        INVOICES,
        "FT",
        "SI",
        False,
        "FVM",
        "VAT MOSS invoice",
    ),
    DocType(
        "vat_moss_credit_note",
        "vat_moss_credit_notes",
        "VatMossCreditNote",
        INVOICES,
        "NC",
        "SI",
        False,
        "NCVM",
        "VAT MOSS credit note",
    ),
    DocType(
        "vat_moss_receipt",
        "vat_moss_receipts",
        "VatMossReceipt",
        RECEIPTS,
        "RG",
        "PY",
        False,
        "RGVM",
        "VAT MOSS receipt",
        signed=False,
    ),
)

BY_KEY: dict[str, DocType] = {t.key: t for t in DOC_TYPES}


def types_of(family: Family) -> tuple[str, ...]:
    """The keys of a family's types, in DOC_TYPES's order."""
    return tuple(t.key for t in DOC_TYPES if t.family is family)


INVOICE_TYPES = types_of(INVOICES)
RECEIPT_TYPES = types_of(RECEIPTS)
ESTIMATE_TYPES = types_of(ESTIMATES)
GUIDE_TYPES = types_of(GUIDES)
PURCHASE_ORDER_TYPES = types_of(PURCHASE_ORDERS)
BY_TYPE_NAME: dict[str, DocType] = {t.type_name: t for t in DOC_TYPES}

# The order in which InvoiceXpress hands out sub-sequence ids inside a new series (the seed:
# invoice 146090, simplified 146091, invoice_receipt 146092, receipt 146093, ...). The
# invoice sub-sequence id is also the series id.
ID_ALLOCATION_ORDER: tuple[str, ...] = (
    "invoice",
    "simplified_invoice",
    "invoice_receipt",
    "receipt",
    "debit_note",
    "credit_note",
    "vat_moss_invoice",
    "vat_moss_credit_note",
    "vat_moss_receipt",
    "purchase_order",
    "quote",
    "proforma",
    "fees_note",
    "shipping",
    "devolution",
    "transport",
)

assert sorted(ID_ALLOCATION_ORDER) == sorted(BY_KEY), "every type gets exactly one sub-sequence"


def with_article(label: str) -> str:
    """ "an invoice", "a credit note", "a VAT MOSS invoice"."""
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"
