"""The SAF-T (PT) 1.04_01 file (pt-compliance §5), written with lxml as a stream: each document
becomes its element and is written out at once, so memory stays flat in the number of documents.

The caller (services/saft.py) hands over the header, the master files the period uses, and per
table its control totals and its documents (computed in a first pass, since SAF-T puts the totals
before the documents). Amounts are the documents' in euros (a document in another currency adds
its `Currency` block); line amounts keep their decimals, document totals are to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from io import BufferedIOBase
from typing import Any

from lxml import etree

from ixserver.clock import LISBON
from ixserver.domain import numbering, states
from ixserver.domain.clients import FINAL_CONSUMER, FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import CREDIT_NOTES, SERVICE_UNITS, Document, DocumentLine, net
from ixserver.domain.euros import euro_totals, saft_exchange_rate
from ixserver.domain.exemptions import EXEMPTIONS
from ixserver.domain.limits import xml_text
from ixserver.domain.money import to_cents
from ixserver.domain.payments import DEFAULT_MECHANISM, payable
from ixserver.domain.reference import UNKNOWN_COUNTRY, country_code
from ixserver.domain.saft import TABLES, ControlTotals
from ixserver.domain.taxes import reported_code
from ixserver.domain.totals import DocumentTotals

NS = "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"
FINAL_CONSUMER_ID = "CF"  # the CustomerID of documents without a known client
UNKNOWN = "Desconhecido"
SOURCE_ID = "ixserver"  # who made the document (SourceID): the API
TABLE_OF_CLASS = {"SI": "SalesInvoices", "MG": "MovementOfGoods", "WD": "WorkingDocuments", "PY": "Payments"}
# An invoice-receipt is paid when issued; the API does not say how: "other means" (OU).
INVOICE_RECEIPT_MECHANISM = "OU"
UNIT_OF_MEASURE = {None: "UN", "unit": "UN", "service": "UN", "hour": "H", "day": "DIA", "month": "MES", "other": "UN"}


@dataclass(frozen=True)
class Header:
    company_id: str
    tax_registration_number: str
    company_name: str
    address_detail: str
    city: str
    postal_code: str
    fiscal_year: int
    start_date: date
    end_date: date
    date_created: date
    product_company_tax_id: str
    software_certificate: int
    product_version: str
    header_comment: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    tax_id: str
    name: str
    address_detail: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class Product:
    code: str
    kind: str  # P goods, S services
    description: str


@dataclass(frozen=True)
class TaxEntry:
    region: str
    code: str
    percentage: Decimal


@dataclass
class Period:
    """What a file holds: its master files, and per table its totals and documents (in order)."""

    customers: list[Customer] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    taxes: list[TaxEntry] = field(default_factory=list)
    totals: dict[str, ControlTotals] = field(default_factory=lambda: {table: ControlTotals() for table in TABLES})


def table_of(document: Document) -> str | None:
    kind = BY_KEY[document.doc_type]
    return TABLE_OF_CLASS.get(kind.saft_class or "")


# A client who gave no NIF is AT's final consumer (pt-compliance §5.4, AT's demo file): one
# master record, its NIF 999999990, "Consumidor final", its address unknown.
FINAL_CONSUMER_CUSTOMER = Customer(
    FINAL_CONSUMER_ID, FINAL_CONSUMER_NIF, FINAL_CONSUMER, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN
)


def _nif(document: Document) -> str:
    return xml_text(str(document.client.get("fiscal_id") or "")).strip()


def customer_id(document: Document) -> str:
    if document.client_id is None or _nif(document) in ("", FINAL_CONSUMER_NIF):
        return FINAL_CONSUMER_ID
    return str(document.client_id)


def customer_of(document: Document) -> Customer:
    """A document's client as the master file shows it (as the document keeps it)."""
    if customer_id(document) == FINAL_CONSUMER_ID:
        return FINAL_CONSUMER_CUSTOMER
    client = {key: xml_text(str(value)) for key, value in document.client.items() if value is not None}
    return Customer(
        id=customer_id(document),
        tax_id=_nif(document)[:30],
        name=(client.get("name") or "Desconhecido")[:100],
        address_detail=(client.get("address") or UNKNOWN)[:210],
        city=(client.get("city") or UNKNOWN)[:50],
        postal_code=(client.get("postal_code") or UNKNOWN)[:20],
        country=country_code(client.get("country")) if client.get("country") else UNKNOWN_COUNTRY,
    )


def product_code(line: DocumentLine) -> str:
    return xml_text(line.name).strip()[:60] or "ITEM"


def product_of(line: DocumentLine) -> Product:
    name = xml_text(line.name).strip()
    return Product(
        product_code(line), "S" if line.unit in SERVICE_UNITS else "P", (name if len(name) >= 2 else f"{name}.")[:200]
    )


def counts(document: Document) -> bool:
    """Whether a document's amounts enter its table's debit and credit totals: not canceled."""
    return document.status != states.CANCELED


def add_to_totals(totals: dict[str, ControlTotals], document: Document) -> None:
    """Count a document in its table's control totals (pt-compliance §5.3)."""
    table = table_of(document)
    if table is None:
        return
    found = totals[table]
    found.entries += 1
    if table == "Payments":
        if counts(document):
            found.credit += euro_totals(document).before_taxes
        return
    if table == "MovementOfGoods":
        found.lines += len(document.lines)
        if counts(document):
            found.quantity += sum((line.quantity for line in document.lines), Decimal(0))
        return
    if counts(document):
        for amount in line_values(document):
            if _is_debit(document):
                found.debit += amount
            else:
                found.credit += amount


def _is_debit(document: Document) -> bool:
    """Credit notes take back: their lines are debits (the sales documents', credits)."""
    return document.doc_type in CREDIT_NOTES


def line_values(document: Document) -> list[Decimal]:
    """Each line's value in euros (Credit/DebitAmount): its own in a document in euros, else as
    the document's conversion makes it (domain/euros.py)."""
    if document.exchange_rate is None:
        return [net(line) for line in document.lines]
    return [amounts.net for amounts in euro_totals(document).lines]


def _figures(document: Document) -> DocumentTotals:
    """What the document's DocumentTotals say, in euros: its own totals in a document in euros."""
    if document.exchange_rate is None:
        return DocumentTotals(
            sum=document.sum,
            discount=document.discount,
            before_taxes=document.before_taxes,
            taxes=document.taxes,
            total=document.gross_total_eur if document.gross_total_eur is not None else document.total,
            retention=document.retention_amount,
        )
    return euro_totals(document)


def _money(value: Decimal) -> str:
    return f"{to_cents(value):.2f}"


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


_CONTROL_FORMATS: dict[str, Any] = {"TotalQuantityIssued": _decimal, "TotalDebit": _money, "TotalCredit": _money}


def _line_money(value: Decimal) -> str:
    """Line amounts keep up to 6 decimals (the demo's "23.3938")."""
    return _decimal(value.quantize(Decimal("0.000001")))


def _when(value: datetime | None, fallback: str) -> str:
    """A UTC instant as SAF-T writes times: Lisbon time, to the second."""
    if value is None:
        return fallback
    return value.astimezone(LISBON).replace(tzinfo=None, microsecond=0).isoformat()


def _add(parent: etree._Element, tag: str, text: Any = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def _element(tag: str) -> etree._Element:
    return etree.Element(f"{{{NS}}}{tag}", nsmap={None: NS})  # type: ignore[dict-item]  # the default namespace


def _header(header: Header) -> etree._Element:
    root = _element("Header")
    _add(root, "AuditFileVersion", "1.04_01")
    _add(root, "CompanyID", header.company_id[:50])
    _add(root, "TaxRegistrationNumber", header.tax_registration_number)
    _add(root, "TaxAccountingBasis", "F")
    _add(root, "CompanyName", xml_text(header.company_name)[:100])
    address = _add(root, "CompanyAddress")
    _add(address, "AddressDetail", xml_text(header.address_detail)[:210])
    _add(address, "City", xml_text(header.city)[:50])
    _add(address, "PostalCode", xml_text(header.postal_code)[:20])
    _add(address, "Country", "PT")
    _add(root, "FiscalYear", header.fiscal_year)
    _add(root, "StartDate", header.start_date.isoformat())
    _add(root, "EndDate", header.end_date.isoformat())
    _add(root, "CurrencyCode", "EUR")
    _add(root, "DateCreated", header.date_created.isoformat())
    _add(root, "TaxEntity", "Global")
    _add(root, "ProductCompanyTaxID", header.product_company_tax_id[:30])
    _add(root, "SoftwareCertificateNumber", header.software_certificate)
    _add(root, "ProductID", "ixserver/ixserver")
    _add(root, "ProductVersion", header.product_version[:30])
    if header.header_comment:
        _add(root, "HeaderComment", header.header_comment[:255])
    if header.email:
        _add(root, "Email", xml_text(header.email)[:254])
    return root


def _customer(customer: Customer) -> etree._Element:
    root = _element("Customer")
    _add(root, "CustomerID", customer.id)
    _add(root, "AccountID", UNKNOWN)
    _add(root, "CustomerTaxID", customer.tax_id)
    _add(root, "CompanyName", customer.name)
    address = _add(root, "BillingAddress")
    _add(address, "AddressDetail", customer.address_detail)
    _add(address, "City", customer.city)
    _add(address, "PostalCode", customer.postal_code)
    _add(address, "Country", customer.country)
    _add(root, "SelfBillingIndicator", 0)
    return root


def _product(product: Product) -> etree._Element:
    root = _element("Product")
    _add(root, "ProductType", product.kind)
    _add(root, "ProductCode", product.code)
    _add(root, "ProductDescription", product.description)
    _add(root, "ProductNumberCode", product.code)
    return root


def _tax_table(taxes: list[TaxEntry]) -> etree._Element:
    root = _element("TaxTable")
    for tax in taxes:
        entry = _add(root, "TaxTableEntry")
        _add(entry, "TaxType", "IVA")
        _add(entry, "TaxCountryRegion", tax.region)
        _add(entry, "TaxCode", tax.code)
        _add(entry, "Description", f"IVA {tax.code} {_decimal(tax.percentage)}%")
        _add(entry, "TaxPercentage", _decimal(tax.percentage))
    return root


def _status(parent: etree._Element, tag: str, document: Document, source: str = "SourceBilling") -> None:
    status = _add(parent, "DocumentStatus")
    _add(status, tag, "A" if document.status == states.CANCELED else "N")
    _add(status, f"{tag}Date", _when(document.status_changed_at, document.system_entry_date or ""))
    if document.status == states.CANCELED and document.status_reason:
        _add(status, "Reason", xml_text(document.status_reason)[:50] or "-")
    _add(status, "SourceID", SOURCE_ID)
    _add(status, source, "P")


def _number(document: Document) -> str:
    assert document.number is not None and document.serie is not None
    return numbering.document_number(BY_KEY[document.doc_type], document.serie, document.number)


def _tax(parent: etree._Element, line: DocumentLine) -> None:
    tax = _add(parent, "Tax")
    _add(tax, "TaxType", "IVA")
    _add(tax, "TaxCountryRegion", line.tax_region)
    _add(tax, "TaxCode", reported_code(line.tax_region, line.tax_value, line.tax_code))
    _add(tax, "TaxPercentage", _decimal(line.tax_value))


def _exemption(parent: etree._Element, line: DocumentLine, document: Document) -> None:
    if line.tax_value != 0:
        return
    code = line.tax_exemption or document.tax_exemption
    if code and code in EXEMPTIONS:
        _add(parent, "TaxExemptionReason", EXEMPTIONS[code][:60].ljust(6, "."))
        _add(parent, "TaxExemptionCode", code)


def _lines(root: etree._Element, document: Document, *, references: str | None, movement: bool = False) -> None:
    for n, (line, value) in enumerate(zip(document.lines, line_values(document), strict=True), start=1):
        element = _add(root, "Line")
        _add(element, "LineNumber", n)
        _add(element, "ProductCode", product_code(line))
        _add(element, "ProductDescription", product_of(line).description)
        _add(element, "Quantity", _decimal(line.quantity))
        _add(element, "UnitOfMeasure", UNIT_OF_MEASURE.get(line.unit, "UN"))
        _add(element, "UnitPrice", _line_money(value / line.quantity))
        if not movement:
            _add(element, "TaxPointDate", document.date.isoformat())
            if references:
                reference = _add(element, "References")
                _add(reference, "Reference", xml_text(references)[:60])
        _add(element, "Description", xml_text(line.description or line.name)[:200] or product_of(line).description)
        _add(element, "DebitAmount" if _is_debit(document) else "CreditAmount", _line_money(value))
        _tax(element, line)
        _exemption(element, line, document)


def _totals(root: etree._Element, document: Document, figures: DocumentTotals) -> etree._Element:
    totals = _add(root, "DocumentTotals")
    _add(totals, "TaxPayable", _money(figures.taxes))
    _add(totals, "NetTotal", _money(figures.before_taxes))
    _add(totals, "GrossTotal", _money(figures.total))
    return totals


def _currency(totals: etree._Element, document: Document, figures: DocumentTotals) -> None:
    if document.exchange_rate is not None:
        currency = _add(totals, "Currency")
        _add(currency, "CurrencyCode", document.currency_code)
        _add(currency, "CurrencyAmount", _money(document.total))
        _add(currency, "ExchangeRate", f"{saft_exchange_rate(document.total, figures.total, document.exchange_rate):f}")


def _withholding(root: etree._Element, figures: DocumentTotals) -> None:
    if figures.retention:
        tax = _add(root, "WithholdingTax")
        _add(tax, "WithholdingTaxType", "IRS")
        _add(tax, "WithholdingTaxAmount", _money(figures.retention))


def _signed(name: str, number: str, status: str, when: str, document: Document) -> etree._Element:
    """What every signed document's element starts with: number, ATCUD, status, hash, date."""
    root = _element(name)
    _add(root, number, _number(document))
    _add(root, "ATCUD", numbering.reported_atcud(document.atcud))
    _status(root, status, document)
    _add(root, "Hash", document.signature or "0")
    _add(root, "HashControl", document.key_version or 0)
    _add(root, "Period", document.date.month)
    _add(root, when, document.date.isoformat())
    return root


def _invoice(document: Document, reference: str | None) -> etree._Element:
    kind = BY_KEY[document.doc_type]
    root = _signed("Invoice", "InvoiceNo", "InvoiceStatus", "InvoiceDate", document)
    _add(root, "InvoiceType", kind.saft_code)
    regimes = _add(root, "SpecialRegimes")
    for tag in ("SelfBillingIndicator", "CashVATSchemeIndicator", "ThirdPartiesBillingIndicator"):
        _add(regimes, tag, 0)
    _add(root, "SourceID", SOURCE_ID)
    _add(root, "SystemEntryDate", document.system_entry_date)
    _add(root, "CustomerID", customer_id(document))
    _lines(root, document, references=reference)
    figures = _figures(document)
    totals = _totals(root, document, figures)
    _currency(totals, document, figures)
    if kind.key == "invoice_receipt":  # paid when issued (AT's demo: FR with its Payment)
        _payment_method(
            totals, "Payment", INVOICE_RECEIPT_MECHANISM, payable(figures.total, figures.retention), document
        )
    _withholding(root, figures)
    return root


def _work_document(document: Document) -> etree._Element:
    kind = BY_KEY[document.doc_type]
    root = _signed("WorkDocument", "DocumentNumber", "WorkStatus", "WorkDate", document)
    _add(root, "WorkType", kind.saft_code)
    _add(root, "SourceID", SOURCE_ID)
    _add(root, "SystemEntryDate", document.system_entry_date)
    _add(root, "CustomerID", customer_id(document))
    _lines(root, document, references=None)
    figures = _figures(document)
    _currency(_totals(root, document, figures), document, figures)
    return root


def _address(parent: etree._Element, tag: str, address: dict[str, str]) -> None:
    point = _add(parent, tag)
    inner = _add(point, "Address")
    _add(inner, "AddressDetail", xml_text(address.get("detail") or "")[:210] or UNKNOWN)
    _add(inner, "City", xml_text(address.get("city") or "")[:50] or UNKNOWN)
    _add(inner, "PostalCode", xml_text(address.get("postal_code") or "")[:20] or UNKNOWN)
    _add(inner, "Country", country_code(address.get("country")) if address.get("country") else UNKNOWN_COUNTRY)


def _stock_movement(document: Document) -> etree._Element:
    kind = BY_KEY[document.doc_type]
    root = _signed("StockMovement", "DocumentNumber", "MovementStatus", "MovementDate", document)
    _add(root, "MovementType", kind.saft_code)
    _add(root, "SystemEntryDate", document.system_entry_date)
    _add(root, "CustomerID", customer_id(document))
    _add(root, "SourceID", SOURCE_ID)
    transport = document.transport
    if transport is not None:
        _address(root, "ShipTo", transport.address_to)
        _address(root, "ShipFrom", transport.address_from)
        _add(root, "MovementStartTime", transport.loaded_at)
        if document.at_doc_code:
            _add(root, "ATDocCodeID", document.at_doc_code[:200])
    else:
        _add(root, "MovementStartTime", document.system_entry_date)
    _lines(root, document, references=None, movement=True)
    figures = _figures(document)
    _currency(_totals(root, document, figures), document, figures)
    return root


def _payment(document: Document, paid: Document | None) -> etree._Element:
    root = _element("Payment")
    _add(root, "PaymentRefNo", _number(document))
    _add(root, "ATCUD", numbering.reported_atcud(document.atcud))
    _add(root, "Period", document.date.month)
    _add(root, "TransactionDate", document.date.isoformat())
    _add(root, "PaymentType", "RG")
    _status(root, "PaymentStatus", document, "SourcePayment")
    figures = euro_totals(document)
    mechanism = document.payment_mechanism or DEFAULT_MECHANISM
    _payment_method(root, "PaymentMethod", mechanism, payable(figures.total, figures.retention), document)
    _add(root, "SourceID", SOURCE_ID)
    _add(root, "SystemEntryDate", document.system_entry_date)
    _add(root, "CustomerID", customer_id(document))
    line = _add(root, "Line")
    _add(line, "LineNumber", 1)
    source = _add(line, "SourceDocumentID")
    _add(source, "OriginatingON", _number(paid) if paid is not None and paid.number is not None else "Desconhecido")
    _add(source, "InvoiceDate", (paid.date if paid is not None else document.date).isoformat())
    _add(line, "CreditAmount", _money(figures.before_taxes))
    _currency(_totals(root, document, figures), document, figures)
    _withholding(root, figures)
    return root


def _payment_method(parent: etree._Element, tag: str, mechanism: str, amount: Decimal, document: Document) -> None:
    method = _add(parent, tag)
    _add(method, "PaymentMechanism", mechanism)
    _add(method, "PaymentAmount", _money(amount))
    _add(method, "PaymentDate", document.date.isoformat())


def element_of(document: Document, related: Document | None) -> etree._Element:
    """A document's SAF-T element; `related`: the document a note corrects or a receipt pays."""
    table = table_of(document)
    if table == "Payments":
        return _payment(document, related)
    if table == "MovementOfGoods":
        return _stock_movement(document)
    if table == "WorkingDocuments":
        return _work_document(document)
    reference = None
    if document.owner_document_id is not None and related is not None and related.number is not None:
        reference = _number(related)
    elif document.owner_reference:
        reference = document.owner_reference
    return _invoice(document, reference)


def write(
    out: BufferedIOBase,
    header: Header,
    period: Period,
    documents: Iterable[tuple[Document, Document | None]],
) -> None:
    """The file, streamed to `out`; `documents` in table order (SalesInvoices, MovementOfGoods,
    WorkingDocuments, Payments), each with its related document."""
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}AuditFile", nsmap={None: NS}):
            xf.write(_header(header))
            with xf.element(f"{{{NS}}}MasterFiles"):
                for customer in period.customers:
                    xf.write(_customer(customer))
                for product in period.products:
                    xf.write(_product(product))
                if period.taxes:
                    xf.write(_tax_table(period.taxes))
            with xf.element(f"{{{NS}}}SourceDocuments"):
                _tables(xf, period, iter(documents))


def _tables(xf: Any, period: Period, documents: Iterator[tuple[Document, Document | None]]) -> None:
    pending = next(documents, None)
    for table in TABLES:
        totals = period.totals[table]
        with xf.element(f"{{{NS}}}{table}"):
            head = _element("x")  # the control totals come first
            for name, value in totals.controls(table).items():
                _add(head, name, _CONTROL_FORMATS[name](value) if name in _CONTROL_FORMATS else value)
            for child in head:
                xf.write(child)
            while pending is not None and table_of(pending[0]) == table:
                xf.write(element_of(*pending))
                pending = next(documents, None)
