"""Numbers, amounts and dates as a language writes them (Babel's CLDR data): `1 234,56 €` in
Portuguese (pt_PT: a no-break space groups the thousands and parts the amount from its symbol),
`€1,234.56` in English (en_GB), `1.234,56 €` in Spanish (es_ES). Dates are `DD-MM-AAAA` in every
language: the form Despacho 8632/2014 §2.2.3 allows documents (pt-compliance §3.2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from ixserver.domain.money import to_cents
from ixserver.render.catalogue import LOCALES, language_of

AMOUNT = parse_pattern("#,##0.00")
QUANTITY = parse_pattern("#,##0.######")  # as given, up to its six decimals (domain/limits.py)
PRICE = parse_pattern("#,##0.00########")  # at least two decimals, up to its ten
DATE = "dd-MM-yyyy"


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALES[language_of(language)])


@cache
def _percent(language: str) -> NumberPattern:
    """The language's percent pattern with up to two decimals (13.5%)."""
    return parse_pattern(str(_locale(language).percent_formats[None].pattern).replace("0", "0.##", 1))


@lru_cache(maxsize=65536)  # a document's amounts recur (prices, rates): formatted once per process
def _apply(pattern: NumberPattern, value: Decimal, language: str, currency: str | None = None) -> str:
    return str(pattern.apply(value, _locale(language), currency=currency))


class Formats:
    """How one language writes what a document prints."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)

    def money(self, value: Decimal, currency: str) -> str:
        """An amount in its currency, to the cent: `1 234,56 €`."""
        pattern = _locale(self.language).currency_formats["standard"]
        return _apply(pattern, to_cents(value), self.language, currency)

    def amount(self, value: Decimal) -> str:
        """An amount to the cent, without its currency (a column of amounts): `1 234,56`."""
        return _apply(AMOUNT, to_cents(value), self.language)

    def quantity(self, value: Decimal) -> str:
        return _apply(QUANTITY, value, self.language)

    def price(self, value: Decimal) -> str:
        return _apply(PRICE, value, self.language)

    def percent(self, value: Decimal) -> str:
        """A rate given in percent (23 → `23%`; `23 %` in Spanish)."""
        return _apply(_percent(self.language), value / 100, self.language)

    def date(self, value: date) -> str:
        return str(format_date(value, DATE, locale=_locale(self.language)))

    def money_parts(self, currency: str) -> dict[str, str]:
        """What a template needs to write an amount of cents it adds up itself (carried-over
        totals): the group and decimal symbols, and what comes before and after the digits."""
        zero = self.money(Decimal(0), currency)
        digits = self.amount(Decimal(0))
        before, _, after = zero.partition(digits)
        symbols = _locale(self.language).number_symbols["latn"]
        return {"group": symbols["group"], "decimal": symbols["decimal"], "before": before, "after": after}
