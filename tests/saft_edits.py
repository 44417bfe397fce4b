"""A SAF-T file altered as an auditor would alter it, one figure at a time (lxml), to see that
`ixserver verify --saft` names what no longer adds up: on AT's demo file (tests/test_verify_saft.py)
and on ixserver's own export (tests/api/test_saft.py). Nothing is re-signed: the signature check
reports its own findings, which the tests leave aside."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from lxml import etree

from ixserver.audit.saft import Report

NS = {"s": "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"}
NUMBERS = "s:InvoiceNo | s:DocumentNumber | s:PaymentRefNo"
ONE = Decimal(1)


def first(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert found, path
    return found[0]


def number_of(element: etree._Element) -> str:
    """The number of the document an element is in."""
    document = element
    while not document.xpath(NUMBERS, namespaces=NS):
        document = document.getparent()
    return str(document.xpath(NUMBERS, namespaces=NS)[0].text)


def _move(element: etree._Element, by: Decimal) -> None:
    element.text = f"{Decimal(element.text) + by:f}"


def line_amount(root: etree._Element) -> str:
    """The first invoice line taxed at more than 0 %: its amount one euro more."""
    line = first(root, "//s:Invoice/s:Line[number(s:Tax/s:TaxPercentage) > 0]")
    _move(first(line, "s:CreditAmount | s:DebitAmount"), ONE)
    return number_of(line)


def canceled_line_amount(root: etree._Element) -> str:
    """The first canceled invoice: its first line's amount one euro more (its figures were issued,
    but it is out of the control totals)."""
    line = first(root, "//s:Invoice[s:DocumentStatus/s:InvoiceStatus='A']/s:Line[number(s:Tax/s:TaxPercentage) > 0]")
    _move(first(line, "s:CreditAmount | s:DebitAmount"), ONE)
    return number_of(line)


def vat_rate(root: etree._Element) -> str:
    """The first invoice line at the normal rate (NOR): ten points less (23 % -> 13 %)."""
    percentage = first(root, "//s:Invoice/s:Line/s:Tax[s:TaxCode='NOR']/s:TaxPercentage")
    _move(percentage, Decimal(-10))
    return number_of(percentage)


def payment_amount(root: etree._Element) -> str:
    """The first receipt: one euro more paid."""
    amount = first(root, "//s:Payment/s:PaymentMethod/s:PaymentAmount")
    _move(amount, ONE)
    return number_of(amount)


def invoice_receipt_payment(root: etree._Element) -> str:
    """The first invoice-receipt (FR): one euro more in its DocumentTotals/Payment."""
    amount = first(root, "//s:Invoice[s:InvoiceType='FR']/s:DocumentTotals/s:Payment/s:PaymentAmount")
    _move(amount, ONE)
    return number_of(amount)


def _guide_quantity(root: etree._Element, with_total: bool) -> str:
    movement = first(root, "//s:StockMovement[s:DocumentStatus/s:MovementStatus != 'A']")
    _move(first(movement, "s:Line/s:Quantity"), ONE)
    if with_total:
        _move(first(root, "//s:MovementOfGoods/s:TotalQuantityIssued"), ONE)
    return number_of(movement)


def guide_quantity(root: etree._Element) -> str:
    """The first guide not canceled: one more unit in its first line."""
    return _guide_quantity(root, with_total=False)


def guide_quantity_and_total(root: etree._Element) -> str:
    """The same, and TotalQuantityIssued one more too, so that the control total still adds up."""
    return _guide_quantity(root, with_total=True)


def exchange_rate(root: etree._Element) -> str:
    """The first document in another currency: its ExchangeRate inverted (units per euro, 1.1
    for USD, instead of euros per unit)."""
    rate = first(root, "//s:DocumentTotals/s:Currency/s:ExchangeRate")
    rate.text = f"{(ONE / Decimal(rate.text)).quantize(Decimal('0.000001')):f}"
    return number_of(rate)


def net_tax_shift(root: etree._Element) -> str:
    """The first invoice with a euro or more of tax: NetTotal one euro more and TaxPayable one
    less, so that GrossTotal (what is signed) stays."""
    totals = first(root, "//s:Invoice/s:DocumentTotals[number(s:TaxPayable) >= 1]")
    _move(first(totals, "s:NetTotal"), ONE)
    _move(first(totals, "s:TaxPayable"), -ONE)
    return number_of(totals)


def gross_total(root: etree._Element) -> str:
    """The first invoice: GrossTotal one euro more than NetTotal + TaxPayable."""
    gross = first(root, "//s:Invoice/s:DocumentTotals/s:GrossTotal")
    _move(gross, ONE)
    return number_of(gross)


Edit = Callable[[etree._Element], str]


def edited(source: Path | bytes, target: Path, edit: Edit) -> str:
    """`source` (a file, or a file's bytes) with `edit` applied, written to `target`; the number
    of the document it altered."""
    parser = etree.XMLParser(huge_tree=True)
    tree = (
        etree.ElementTree(etree.fromstring(source, parser))
        if isinstance(source, bytes)
        else etree.parse(str(source), parser)
    )
    where = edit(tree.getroot())
    tree.write(str(target), xml_declaration=True, encoding=tree.docinfo.encoding or "UTF-8")
    return where


def besides_signatures(report: Report) -> list[tuple[str, str, str]]:
    """The findings, but for the signatures (an altered document is not re-signed)."""
    return [(f.check, f.where, f.message) for f in report.findings if f.check != "signature"]


def matches(found: list[tuple[str, str, str]], expected: list[tuple[str, str, str]], altered: str = "") -> bool:
    """Whether each finding is the expected one at its place: same check and place (an expected
    place "" is the `altered` document), its message starting with the expected text."""
    return len(found) == len(expected) and all(
        (check, where) == (want_check, want_where or altered) and message.startswith(start)
        for (check, where, message), (want_check, want_where, start) in zip(found, expected, strict=True)
    )
