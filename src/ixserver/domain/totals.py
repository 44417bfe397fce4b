"""Document arithmetic, Decimal only (api-v2 §3.3, pt-compliance §4 and §6.5).

Per line:   gross = quantity × unit_price            (`subtotal`)
            line discount = gross × discount%
            net = gross − line discount − its share of the global discount
            tax = net × rate%                          (`tax_amount`, unrounded)
            total = net + tax, to the cent             (`total`)
Document:   sum = Σ gross, to the cent
            before_taxes = Σ net, to the cent          (SAF-T NetTotal)
            discount = sum − before_taxes              (line and global discounts)
            taxes = Σ per rate of (Σ net at that rate × rate), each to the cent, half-up
            per-rate bases: Σ net at that rate, to the cent (what that rate's lines add up to:
            the QR code's bases; with several rates they may differ from before_taxes by a cent)
            total = before_taxes + taxes               (SAF-T GrossTotal, what is signed)
            retention = before_taxes × retention%, to the cent (withholding; not in `total`)

VAT is rounded per rate, not per line: 3 × 12.50 at 23 % gives 8.625 → 8.63, as in
pt-compliance's worked example. A global discount is a percentage of every line's net, or an
absolute amount spread over the lines in proportion to their nets (the last line takes what
rounding leaves, so the shares add up exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ixserver.domain.money import ZERO, percent_of, to_cents, to_line


@dataclass(frozen=True)
class Line:
    unit_price: Decimal
    quantity: Decimal
    discount: Decimal  # percent, 0-100
    tax_rate: Decimal  # percent


@dataclass(frozen=True)
class GlobalDiscount:
    kind: str  # "percentage" | "absolute"
    value: Decimal


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal
    discount_amount: Decimal
    net: Decimal
    tax_amount: Decimal
    total: Decimal


@dataclass(frozen=True)
class RateTotals:
    rate: Decimal
    base: Decimal  # to the cent
    tax: Decimal  # to the cent


@dataclass(frozen=True)
class DocumentTotals:
    sum: Decimal
    discount: Decimal
    before_taxes: Decimal
    taxes: Decimal
    total: Decimal
    retention: Decimal
    lines: list[LineAmounts] = field(default_factory=list)
    rates: list[RateTotals] = field(default_factory=list)


def _global_shares(nets: list[Decimal], discount: GlobalDiscount | None) -> list[Decimal]:
    if discount is None or discount.value == 0 or not nets:
        return [ZERO] * len(nets)
    if discount.kind == "percentage":
        return [to_line(percent_of(net, discount.value)) for net in nets]
    base = sum(nets, ZERO)
    if base == 0:
        return [ZERO] * len(nets)
    amount = min(discount.value, base)
    shares = [to_line(amount * net / base) for net in nets[:-1]]
    shares.append(to_line(amount - sum(shares, ZERO)))
    return shares


def compute(
    lines: list[Line], global_discount: GlobalDiscount | None = None, retention: Decimal | None = None
) -> DocumentTotals:
    grosses = [to_line(line.quantity * line.unit_price) for line in lines]
    line_discounts = [to_line(percent_of(gross, line.discount)) for gross, line in zip(grosses, lines, strict=True)]
    after_line = [gross - disc for gross, disc in zip(grosses, line_discounts, strict=True)]
    shares = _global_shares(after_line, global_discount)

    amounts: list[LineAmounts] = []
    base_by_rate: dict[Decimal, Decimal] = {}
    for line, gross, disc, net0, share in zip(lines, grosses, line_discounts, after_line, shares, strict=True):
        net = to_line(net0 - share)
        tax = to_line(percent_of(net, line.tax_rate))
        amounts.append(LineAmounts(gross, to_line(disc + share), net, tax, to_cents(net + tax)))
        base_by_rate[line.tax_rate] = base_by_rate.get(line.tax_rate, ZERO) + net

    total_sum = to_cents(sum(grosses, ZERO))
    before_taxes = to_cents(sum((a.net for a in amounts), ZERO))
    rates = [
        RateTotals(rate, to_cents(base), to_cents(percent_of(base, rate)))
        for rate, base in sorted(base_by_rate.items())
    ]
    taxes = sum((r.tax for r in rates), to_cents(ZERO))
    withheld = to_cents(percent_of(before_taxes, retention)) if retention else to_cents(ZERO)
    return DocumentTotals(
        sum=total_sum,
        discount=total_sum - before_taxes,
        before_taxes=before_taxes,
        taxes=taxes,
        total=before_taxes + taxes,
        retention=withheld,
        lines=amounts,
        rates=rates,
    )


def in_euros(amount: Decimal, rate: Decimal | None) -> Decimal:
    """The EUR counter-value of an amount in a document's currency (`rate` = units of that
    currency per euro); signatures and SAF-T are in euros (pt-compliance §6.6)."""
    return to_cents(amount / rate) if rate else amount
