"""VAT MOSS documents (OSS: B2C services to consumers in another EU country): they carry the
consumer country's VAT, not Portugal's (pt-compliance §1.2; issue 11).

The rates are the European Commission's (TEDB), as the `eu-vat-rates-data` package bundles
them: standard, reduced, super-reduced and parking rates. The consumer's country is the
document's client's country; a line's VAT must be one of that country's rates.
"""

from __future__ import annotations

from decimal import Decimal

import eu_vat_rates_data

from ixserver.domain.reference import TAX_COUNTRIES

VAT_MOSS_TYPES = ("vat_moss_invoice", "vat_moss_credit_note")


def rates_of(country_code: str) -> tuple[Decimal, ...]:
    """Every VAT rate of an EU member state, lowest first; () for any other country."""
    found = eu_vat_rates_data.get_rate(country_code)
    if found is None or not found["eu_member"]:
        return ()
    rates = {found["standard"], *found["reduced"], found["super_reduced"], found["parking"]} - {None}
    return tuple(sorted(Decimal(str(rate)) for rate in rates))


def vat_moss_problems(doc_type: str, client_country: str | None, tax_rates: list[Decimal]) -> list[str]:
    """What stops a VAT MOSS document: a client outside the EU or in Portugal, or a line whose
    VAT is not one of the client's country's rates."""
    if doc_type not in VAT_MOSS_TYPES:
        return []
    code = TAX_COUNTRIES.get(client_country or "")
    rates = rates_of(code) if code and code != "PT" else ()
    if not rates:
        return [f"A VAT MOSS document is for a consumer in another EU country, not in {client_country or 'no country'}"]
    shown = ", ".join(f"{rate.normalize():f}" for rate in rates)
    return [
        f"VAT at {rate.normalize():f}% is not a rate of {client_country} ({shown})"
        for rate in sorted(set(tax_rates))
        if rate not in rates
    ]


def code_of(country_code: str, rate: Decimal) -> str | None:
    """The SAF-T TaxCode (and QR slot) of one of an EU member state's rates, as for Portugal's:
    the standard rate NOR; the highest reduced rate (of two or more) or the parking rate INT;
    the other reduced rates and the super-reduced one RED. None for a rate the country does not
    have (or a country outside the EU)."""
    found = eu_vat_rates_data.get_rate(country_code)
    if found is None or not found["eu_member"] or country_code == "PT":
        return None
    reduced = sorted(Decimal(str(r)) for r in found["reduced"])
    if found["standard"] is not None and rate == Decimal(str(found["standard"])):
        return "NOR"
    if (found["parking"] is not None and rate == Decimal(str(found["parking"]))) or (
        len(reduced) > 1 and rate == reduced[-1]
    ):
        return "INT"
    if rate in reduced or (found["super_reduced"] is not None and rate == Decimal(str(found["super_reduced"]))):
        return "RED"
    return None
