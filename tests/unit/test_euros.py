"""What AT reads of a document in another currency, in euros (domain/euros.py; issue 22 item 1)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ixserver.domain.euros import converted, saft_exchange_rate
from ixserver.domain.money import to_cents
from ixserver.domain.totals import GlobalDiscount, Line


def test_the_audit_case_adds_up_in_euros() -> None:
    """1.01 USD at 23 % and 3 USD per euro: converted piecewise from the USD totals it made
    NetTotal 0.34 + TaxPayable 0.08 ≠ GrossTotal 0.41; converted as a whole, the three add up."""
    found = converted([Line(D("1.01"), D("1"), D("0"), D("23"))], None, None, D("3"))
    assert (found.before_taxes, found.taxes, found.total) == (D("0.34"), D("0.08"), D("0.42"))
    assert [(r.base, r.tax) for r in found.rates] == [(D("0.34"), D("0.08"))]
    rate = saft_exchange_rate(D("1.24"), found.total, D("3"))
    assert rate == D("0.338710") and to_cents(D("1.24") * rate) == D("0.42")


def test_at_demo_files_exchange_rate() -> None:
    """AT's demo: CurrencyAmount 317.45 USD, GrossTotal 235.15 EUR, ExchangeRate 0.740747."""
    assert saft_exchange_rate(D("317.45"), D("235.15"), D("1.35")) == D("0.740747")


def test_a_large_amount_takes_more_decimals_to_convert_to_the_cent() -> None:
    rate = saft_exchange_rate(D("987654321.98"), D("897867565.44"), D("1.1"))
    assert to_cents(D("987654321.98") * rate) == D("897867565.44")
    assert len(str(rate).partition(".")[2]) > 6


@pytest.mark.parametrize("rate", [D("1.1"), D("0.000123"), D("3"), D("7.4521"), D("1000000")])
def test_net_plus_tax_is_gross_and_each_rate_is_its_lines(rate: D) -> None:
    lines = [
        Line(D("12.35"), D("3"), D("10"), D("23")),
        Line(D("0.07"), D("11"), D("0"), D("6")),
        Line(D("99.995"), D("1"), D("0"), D("13")),
        Line(D("5"), D("2"), D("0"), D("0")),
    ]
    found = converted(lines, GlobalDiscount("absolute", D("4.00")), D("11.5"), rate)
    assert found.before_taxes + found.taxes == found.total
    assert found.taxes == sum((r.tax for r in found.rates), D(0))
    for r in found.rates:
        nets = [a.net for line, a in zip(lines, found.lines, strict=True) if line.tax_rate == r.rate]
        assert r.base == to_cents(sum(nets, D(0)))
        assert r.tax == to_cents(sum(nets, D(0)) * r.rate / 100)
    assert found.retention == to_cents(found.before_taxes * D("11.5") / 100)
    in_currency = converted(lines, GlobalDiscount("absolute", D("4.00")), D("11.5"), None)
    # and the whole converts at the rate SAF-T writes, to the cent
    assert to_cents(in_currency.total * saft_exchange_rate(in_currency.total, found.total, rate)) == found.total


def test_a_document_in_euros_is_its_own_figures() -> None:
    lines = [Line(D("12.50"), D("3"), D("0"), D("23")), Line(D("10"), D("1"), D("0"), D("6"))]
    assert converted(lines, None, None, None).total == D("56.73")
