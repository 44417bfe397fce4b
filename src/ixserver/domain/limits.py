"""The ranges that every number, date and text ixserver accepts stays within.

They keep each total exact to the cent and storable alike on SQLite (amounts as text) and
PostgreSQL (NUMERIC(24,10), BIGINT, VARCHAR(n)): an amount below 10^12 with at most ten decimals,
times a quantity below 10^9 with at most six, fits; so does a document total below 10^12 in its
currency and in euros. Values outside them are refused with a 422 naming the field, before any
arithmetic (a number such as 1e999999999 is never expanded). docs/api.md lists them ("Limits of
what a request may carry").
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

MAX_AMOUNT = Decimal("999999999999.99")  # prices, absolute discounts, document totals
AMOUNT_PLACES = 10  # a price may carry up to ten decimals ("2.0244"): what NUMERIC(24,10) keeps
MAX_QUANTITY = Decimal("999999999")
QUANTITY_PLACES = 6
MIN_EXCHANGE_RATE = Decimal("0.000001")  # units of the document's currency per euro
MAX_EXCHANGE_RATE = Decimal("1000000")
EXCHANGE_RATE_PLACES = 10
FIRST_DATE = date(2000, 1, 1)  # documents are dated within this century
LAST_DATE = date(2099, 12, 31)
TEXT = 255  # characters of a text field, unless the field says otherwise
LONG_TEXT = 10_000  # observations, descriptions, addresses, references
SHORT_TEXT = 64  # codes, phones, tax names, an owner document's reference
# A list's `reference` and `text` filters (api-v2 §4.1): no longer than the longest text they can
# find (a reference, observations, a line's description). Past it the answer is a 422 on both
# databases, where SQLite's LIKE would refuse a pattern over 50,000 bytes (a 500) and PostgreSQL
# would search.
FILTER_TEXT = LONG_TEXT
# Lines (items) of one document. InvoiceXpress documents none; 250 keeps the PDF of the largest
# document a request body can carry under ~4 s on a small machine (2 cores: 250 lines of 3,800
# characters 2.4 s; 1,000 lines of 850 characters took 8–10 s, 12,000 lines 512 s), and is more
# than invoices have in practice (a page holds about 25).
MAX_LINES = 250


# What XML 1.0 cannot carry (SAF-T is XML): C0 controls but tab, line feed and carriage return;
# U+FFFE, U+FFFF; lone surrogates.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value: str) -> str:
    """A text as XML can carry it: what XML 1.0 forbids left out (text stored before the API
    refused it must not stop a SAF-T file)."""
    return XML_FORBIDDEN.sub("", value)


def _places(value: Decimal) -> int:
    """Decimal places that carry a digit (2.50 has one)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def number_problems(
    value: Decimal | None, field: str, *, low: Decimal, high: Decimal, places: int, above_low: bool = False
) -> list[str]:
    """What is wrong with a number of `field`: outside low..high (strictly above low when
    `above_low`), or with more decimals than `places`."""
    if value is None:
        return []
    if value > high or value < low or (above_low and value == low):
        lowest = f"greater than {low}" if above_low else f"at least {low}"
        return [f"{field} must be {lowest} and at most {high}"]
    exponent = value.as_tuple().exponent  # "2.50": -2; only then is normalize() needed
    if isinstance(exponent, int) and -exponent > places and _places(value) > places:
        return [f"{field} can have at most {places} decimal places"]
    return []


def line_count_problems(count: int) -> list[str]:
    if count > MAX_LINES:
        return [f"A document can have at most {MAX_LINES} items ({count} given)"]
    return []


def date_problems(value: date | None, field: str) -> list[str]:
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        return [f"{field} must be between {FIRST_DATE:%d/%m/%Y} and {LAST_DATE:%d/%m/%Y}"]
    return []
