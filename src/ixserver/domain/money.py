"""Rounding, in one place (pt-compliance §6.5): arithmetic half-up ("arredondamento
aritmético"), to the cent for amounts that are shown or signed; line amounts keep ten
decimals (more than any price or rate needs, and what PostgreSQL's NUMERIC column holds)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LINE_PRECISION = Decimal("1E-10")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_line(value: Decimal) -> Decimal:
    """A line amount: exact to ten decimals, trailing zeros dropped (2.0244, 0.465612)."""
    exact = value.quantize(LINE_PRECISION, rounding=ROUND_HALF_UP)
    return exact.normalize() if exact != exact.to_integral_value() else exact.quantize(Decimal(1))


def percent_of(amount: Decimal, rate: Decimal) -> Decimal:
    return amount * rate / HUNDRED
