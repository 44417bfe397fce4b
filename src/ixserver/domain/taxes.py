"""VAT: regions, codes, the rates a new account starts with (pt-compliance §6, api-v2 §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ixserver.domain import vat_moss
from ixserver.domain.reference import TAX_COUNTRIES

UNKNOWN_REGION = "Desconhecido"
REGIONS = frozenset((*TAX_COUNTRIES.values(), UNKNOWN_REGION))
CODES = ("NOR", "INT", "RED", "OUT", "ISE")
MAX_RATE = Decimal("99.99")

# Current rates per fiscal region (tests/data/vat-rates.json, checked by a test).
RATES: dict[str, dict[str, Decimal]] = {
    "PT": {"NOR": Decimal("23"), "INT": Decimal("13"), "RED": Decimal("6")},
    "PT-AC": {"NOR": Decimal("16"), "INT": Decimal("9"), "RED": Decimal("4")},
    "PT-MA": {"NOR": Decimal("22"), "INT": Decimal("12"), "RED": Decimal("4")},
}

# The same rates as dated data, for checking a document of a given day: each region's rates from
# a day on, latest first. They reach back to RATES_KNOWN_SINCE, through which the reference data
# vouch for them: mainland 23/13/6 since 2011, the Azores 16/9/4 since 1 July 2021 (DLR
# 15-A/2021/A), Madeira 22/12/5 until its reduced rate became 4 % on 1 October 2024 (AT's
# Ofício Circulado 25045/2024; vat-rates.json). Earlier days are not known here.
RATES_KNOWN_SINCE = date(2023, 1, 1)
DATED_RATES: dict[str, tuple[tuple[date, dict[str, Decimal]], ...]] = {
    "PT": ((RATES_KNOWN_SINCE, RATES["PT"]),),
    "PT-AC": ((RATES_KNOWN_SINCE, RATES["PT-AC"]),),
    "PT-MA": ((date(2024, 10, 1), RATES["PT-MA"]), (RATES_KNOWN_SINCE, {**RATES["PT-MA"], "RED": Decimal("5")})),
}


def rates_on(region: str, day: date) -> dict[str, Decimal] | None:
    """A Portuguese region's rates by code (NOR, INT, RED) on a day; None for another region, or
    a day before RATES_KNOWN_SINCE."""
    for since, rates in DATED_RATES.get(region, ()):
        if day >= since:
            return rates
    return None


@dataclass(frozen=True)
class SeedTax:
    name: str
    value: Decimal
    region: str
    code: str
    is_default: bool


def seed_taxes(region: str) -> list[SeedTax]:
    """The taxes a new account has: its region's three rates and 0% (exempt); the normal rate
    is the default. Names are what real clients look taxes up by (IVA23, IVA13, IVA6, IVA0)."""
    rates = RATES.get(region, RATES["PT"])
    region = region if region in RATES else "PT"
    taxes = [SeedTax(f"IVA{rates[code]}", rates[code], region, code, code == "NOR") for code in ("NOR", "INT", "RED")]
    taxes.append(SeedTax("IVA0", Decimal("0"), region, "ISE", False))
    return taxes


def infer_code(value: Decimal, region: str) -> str:
    """The SAF-T tax code of a rate when the client did not say: 0% is exempt, the region's
    normal/intermediate/reduced rates are themselves (another EU country's too: VAT MOSS),
    anything else is "other"."""
    if value == 0:
        return "ISE"
    for code, rate in RATES.get(region, {}).items():
        if rate == value:
            return code
    return vat_moss.code_of(region, value) or "OUT"


def reported_code(region: str, value: Decimal, code: str) -> str:
    """The TaxCode AT reads (SAF-T, the QR code's slot) of a line's tax: its own, but a rate of
    another EU country (VAT MOSS) is that country's normal, intermediate or reduced rate, even
    when its tax was kept as "other" (OUT), as taxes made before this rule were."""
    if code == "OUT" and region not in RATES and value:
        return vat_moss.code_of(region, value) or code
    return code


def normalize_rate(value: Decimal) -> Decimal:
    """Rates are kept with two decimals (23 -> 23.00)."""
    return value.quantize(Decimal("0.01"))


def validate_tax(*, name: str | None, value: Decimal | None, region: str | None, code: str | None) -> list[str]:
    """Problems with a tax's fields (None = not given; creation checks the required ones)."""
    problems: list[str] = []
    if name is not None and not name.strip():
        problems.append("Name can't be blank")
    elif name is not None and len(name) > 64:
        problems.append("Name is too long (maximum is 64 characters)")
    if value is not None and not (0 <= value <= MAX_RATE):
        problems.append("Value must be a number between 0 and 99.99")
    if region is not None and region not in REGIONS:
        problems.append("Tax region is not valid")
    if code is not None and code not in CODES:
        problems.append("Code is not included in the list (NOR, INT, RED, OUT, ISE)")
    return problems


@dataclass(frozen=True)
class Tax:
    """A tax of an account (a VAT rate, its region and SAF-T code), as stored."""

    id: int
    name: str
    value: Decimal
    region: str
    code: str
    is_default: bool
