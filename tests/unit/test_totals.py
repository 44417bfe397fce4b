"""Document arithmetic (domain/totals.py) against the spec's worked examples, and its
invariants for any input (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from ixserver.domain.totals import GlobalDiscount, Line, compute


def test_api_v2_section_3_example() -> None:
    # unit price 24.3902 at 23 %: subtotal 24.3902, tax 5.609746, line total 30.0
    totals = compute([Line(D("24.3902"), D("1"), D("0"), D("23"))])
    assert (totals.sum, totals.discount, totals.before_taxes, totals.taxes, totals.total) == (
        D("24.39"), D("0.00"), D("24.39"), D("5.61"), D("30.00"),
    )  # fmt: skip
    line = totals.lines[0]
    assert (line.subtotal, line.tax_amount, line.discount_amount, line.total) == (
        D("24.3902"),
        D("5.609746"),
        D("0"),
        D("30.00"),
    )


def test_live_capture_2022() -> None:
    totals = compute([Line(D("2.0244"), D("1.00"), D("0"), D("23"))])
    assert (totals.sum, totals.before_taxes, totals.taxes, totals.total) == (D("2.02"), D("2.02"), D("0.47"), D("2.49"))
    assert totals.lines[0].tax_amount == D("0.465612")


def test_live_draft_2018() -> None:
    totals = compute([Line(D("10.0"), D("5.0"), D("0"), D("23"))])
    assert (totals.sum, totals.taxes, totals.total) == (D("50.00"), D("11.50"), D("61.50"))


def test_pt_compliance_worked_example_vat_per_rate_half_up() -> None:
    # 3 x 12.50 at 23 % and 1 x 10.00 at 6 %: 8.625 -> 8.63 (half-up, per rate), 0.60
    totals = compute([Line(D("12.50"), D("3"), D("0"), D("23")), Line(D("10.00"), D("1"), D("0"), D("6"))])
    assert [(r.rate, r.base, r.tax) for r in totals.rates] == [
        (D("6"), D("10.00"), D("0.60")),
        (D("23"), D("37.50"), D("8.63")),
    ]
    assert (totals.before_taxes, totals.taxes, totals.total) == (D("47.50"), D("9.23"), D("56.73"))


def test_line_discount() -> None:
    totals = compute([Line(D("100"), D("2"), D("10"), D("23"))])
    assert (totals.sum, totals.discount, totals.before_taxes, totals.taxes, totals.total) == (
        D("200.00"), D("20.00"), D("180.00"), D("41.40"), D("221.40"),
    )  # fmt: skip


def test_global_discount_percentage_and_absolute() -> None:
    lines = [Line(D("100"), D("1"), D("0"), D("23")), Line(D("50"), D("1"), D("0"), D("6"))]
    pct = compute(lines, GlobalDiscount("percentage", D("10")))
    assert (pct.discount, pct.before_taxes, pct.taxes) == (D("15.00"), D("135.00"), D("23.40"))
    flat = compute(lines, GlobalDiscount("absolute", D("30")))
    assert (flat.discount, flat.before_taxes) == (D("30.00"), D("120.00"))
    assert [a.net for a in flat.lines] == [D("80"), D("40")], "spread in proportion to the lines"


def test_retention_is_withheld_from_the_net_not_from_the_total() -> None:
    totals = compute([Line(D("1000"), D("1"), D("0"), D("23"))], retention=D("25"))
    assert (totals.total, totals.retention) == (D("1230.00"), D("250.00"))


prices = st.decimals(min_value=D("0"), max_value=D("100000"), places=4, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False)
rates = st.sampled_from([D("0"), D("6"), D("13"), D("23"), D("4"), D("22")])
lines = st.lists(st.builds(Line, prices, quantities, percents, rates), min_size=1, max_size=8)


@given(lines, st.one_of(st.none(), st.builds(GlobalDiscount, st.just("percentage"), percents)))
def test_invariants(items: list[Line], discount: GlobalDiscount | None) -> None:
    totals = compute(items, discount)
    assert totals.total == totals.before_taxes + totals.taxes
    assert totals.discount == totals.sum - totals.before_taxes
    assert totals.taxes == sum((r.tax for r in totals.rates), D("0"))
    # each rate's base is what its lines add up to (the QR code's, as SAF-T's lines of that rate)
    for rate in totals.rates:
        nets = [a.net for line, a in zip(items, totals.lines, strict=True) if line.tax_rate == rate.rate]
        assert rate.base == sum(nets, D("0")).quantize(D("0.01"), ROUND_HALF_UP)
    assert abs(totals.before_taxes - sum((r.base for r in totals.rates), D("0"))) <= D("0.005") * len(totals.rates)
    assert all(v == v.quantize(D("0.01")) for v in (totals.sum, totals.taxes, totals.total))
    assert totals.before_taxes >= 0 and totals.taxes >= 0
    # the per-line totals never drift from the document by more than a cent a line
    assert abs(sum((a.total for a in totals.lines), D("0")) - totals.total) <= D("0.01") * len(items)


@given(lines, st.decimals(min_value=D("0"), max_value=D("1000"), places=2, allow_nan=False, allow_infinity=False))
def test_an_absolute_discount_is_spread_exactly(items: list[Line], amount: D) -> None:
    before = compute(items)
    after = compute(items, GlobalDiscount("absolute", amount))
    taken = sum((b.net - a.net for b, a in zip(before.lines, after.lines, strict=True)), D("0"))
    assert taken == min(amount, sum((b.net for b in before.lines), D("0")))


def test_per_rate_bases_are_what_their_lines_add_up_to() -> None:
    """1.115 at 23 % and 1.115 at 6 %: each base is 1.12, as that rate's SAF-T lines add up
    (the QR code shows them, and an auditor sums the lines per rate), while before_taxes, the
    lines' sum rounded once, is 2.23 (the audit of issue 22 found a base moved a cent off its lines)."""
    totals = compute([Line(D("1.115"), D("1"), D("0"), D("23")), Line(D("1.115"), D("1"), D("0"), D("6"))])
    assert totals.before_taxes == D("2.23")
    assert [(r.rate, r.base, r.tax) for r in totals.rates] == [
        (D("6"), D("1.12"), D("0.07")),
        (D("23"), D("1.12"), D("0.26")),
    ]
    assert totals.taxes == D("0.33") and totals.total == D("2.56")
