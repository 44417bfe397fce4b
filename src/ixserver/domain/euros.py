"""What AT reads of a document, in euros (pt-compliance §6.6): its QR code and its SAF-T record.

A document in another currency keeps its own amounts (what the client pays, what the API shows),
and AT reads their counter-value in euros, made by one rule applied to the whole document:

    each line's value in euros = its value in the currency ÷ the rate (units of the currency per
    euro, the API's `rate`; an absolute global discount is converted alike), unrounded;
    then the document's arithmetic (domain/totals.py) on those lines, as for a document in euros:
    NetTotal = Σ lines, to the cent; VAT per rate = that rate's lines × the rate, to the cent;
    TaxPayable = Σ VAT per rate; GrossTotal = NetTotal + TaxPayable (what is signed);
    the withholding = NetTotal × its percentage, to the cent.

So NetTotal + TaxPayable = GrossTotal to the cent in euros, each rate's base and VAT in the QR
code are what the SAF-T lines of that rate add up to, and SAF-T's `ExchangeRate` is the rate the
whole document converts at: `CurrencyAmount × ExchangeRate = GrossTotal` to the cent (as in AT's
demo file: 317.45 × 0.740747 = 235.15), written with the decimals that takes (six at least).

A receipt has no lines: its shares of net and VAT are converted, and its gross is their sum.
A document in euros is its own figures.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from ixserver.domain.documents import Document
from ixserver.domain.money import to_cents
from ixserver.domain.totals import DocumentTotals, GlobalDiscount, Line, compute, in_euros

MIN_RATE_PLACES = 6  # AT's demo file: ExchangeRate 0.740747


def document_lines(document: Document) -> list[Line]:
    return [Line(line.unit_price, line.quantity, line.discount, line.tax_value) for line in document.lines]


def in_document_currency(document: Document) -> DocumentTotals:
    """The document's arithmetic in its own currency (its stored totals, and its rates)."""
    return compute(document_lines(document), document.global_discount, document.retention)


def converted(
    lines: list[Line], discount: GlobalDiscount | None, retention: Decimal | None, rate: Decimal | None
) -> DocumentTotals:
    """The arithmetic of lines in a currency `rate` units per euro, made in euros (the rule above);
    `rate` None: the lines are in euros."""
    if rate is None:
        return compute(lines, discount, retention)
    in_eur = [Line(line.unit_price / rate, line.quantity, line.discount, line.tax_rate) for line in lines]
    if discount is not None and discount.kind == "absolute":
        discount = GlobalDiscount(discount.kind, discount.value / rate)
    return compute(in_eur, discount, retention)


def euro_totals(document: Document) -> DocumentTotals:
    """What AT reads of the document, in euros: NetTotal, TaxPayable, GrossTotal, the withholding,
    each line's value and each rate's base and VAT."""
    found = by_the_rule(document)
    kept = document.gross_total_eur
    if kept is not None and kept != found.total:
        # issued before this rule (its total ÷ the rate, rounded once): the GrossTotal it was
        # signed with stands, and TaxPayable is what it leaves of NetTotal
        return replace(found, taxes=kept - found.before_taxes, total=kept)
    return found


def gross_in_euros(document: Document) -> Decimal:
    """The GrossTotal a document is signed with: its total, or in another currency its total
    in euros by the rule above."""
    return document.total if document.exchange_rate is None else by_the_rule(document).total


def by_the_rule(document: Document) -> DocumentTotals:
    """The document's figures in euros as the rule above makes them, whatever it was issued with."""
    rate = document.exchange_rate
    if document.lines:
        return converted(document_lines(document), document.global_discount, document.retention, rate)
    # a receipt: its shares of the document it pays
    net, taxes = in_euros(document.before_taxes, rate), in_euros(document.taxes, rate)
    retention = in_euros(document.retention_amount, rate)
    return DocumentTotals(
        sum=net, discount=Decimal(0), before_taxes=net, taxes=taxes, total=net + taxes, retention=retention
    )


def gross_totals_allowed(document: Document) -> tuple[Decimal, Decimal]:
    """The GrossTotal in euros an issued document may have been signed with: by the rule above,
    or, issued before it, its total ÷ its rate rounded once."""
    return by_the_rule(document).total, in_euros(document.total, document.exchange_rate)


def saft_exchange_rate(currency_amount: Decimal, gross_eur: Decimal, rate: Decimal) -> Decimal:
    """SAF-T's ExchangeRate (euros per unit of the currency): the rate at which the document's
    total converts to its GrossTotal, with as many decimals as `CurrencyAmount × ExchangeRate =
    GrossTotal` to the cent takes (six at least); for a document of no amount, 1 ÷ its rate."""
    if currency_amount == 0:
        return (1 / rate).quantize(Decimal(1).scaleb(-MIN_RATE_PLACES), ROUND_HALF_UP)
    exact = gross_eur / currency_amount
    places = MIN_RATE_PLACES
    while True:
        found = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if to_cents(currency_amount * found) == gross_eur or places >= 24:
            return found
        places += 1
