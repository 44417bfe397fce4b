"""VAT: regions, codes, the rates a new account starts with (pt-compliance §6, api-v2 §9)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ixserver.domain import vat_moss
from ixserver.domain.reference import TAX_COUNTRIES

UNKNOWN_REGION = "Desconhecido"
REGIONS = frozenset((*TAX_COUNTRIES.values(), UNKNOWN_REGION))
CODES = ("NOR", "INT", "RED", "OUT", "ISE")
MAX_RATE = Decimal("99.99")

# Current rates per fiscal region (../shared/data/vat-rates.json, checked by a test).
RATES: dict[str, dict[str, Decimal]] = {
    "PT": {"NOR": Decimal("23"), "INT": Decimal("13"), "RED": Decimal("6")},
    "PT-AC": {"NOR": Decimal("16"), "INT": Decimal("9"), "RED": Decimal("4")},
    "PT-MA": {"NOR": Decimal("22"), "INT": Decimal("12"), "RED": Decimal("4")},
}


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
    taxes = [
        SeedTax(f"IVA{rates[code]}", rates[code], region, code, code == "NOR") for code in ("NOR", "INT", "RED")
    ]
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
