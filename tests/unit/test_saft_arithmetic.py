"""The arithmetic `ixserver verify --saft` checks in each document (audit/arithmetic.py), and its
tolerances, on documents written here line by line. AT's demo file and ixserver's exports are
checked whole in tests/test_verify_saft.py and tests/api/test_saft.py."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from ixserver.audit.arithmetic import Figures
from ixserver.audit.schema import NS

PT23 = ("IVA", "PT", "NOR", "23")
EXEMPT = ("IVA", "PT", "ISE", "0")


def line(
    quantity: str, price: str, amount: str, tax: tuple[str, str, str, str] | None = PT23, side: str = "Credit"
) -> str:
    taxed = (
        ""
        if tax is None
        else "<Tax><TaxType>{}</TaxType><TaxCountryRegion>{}</TaxCountryRegion><TaxCode>{}</TaxCode>"
        "<TaxPercentage>{}</TaxPercentage></Tax>".format(*tax)
    )
    return f"<Quantity>{quantity}</Quantity><UnitPrice>{price}</UnitPrice><{side}Amount>{amount}</{side}Amount>{taxed}"


def problems(
    lines: list[str],
    net: str,
    tax: str,
    gross: str | None = None,
    *,
    kind: str = "FT",
    table: str = "SalesInvoices",
    day: str = "2026-03-02",
    totals: str = "",
    after: str = "",
) -> list[tuple[str, str]]:
    """What `Figures` finds in a document of these lines and totals (GrossTotal: NetTotal + TaxPayable)."""
    from decimal import Decimal

    gross = gross or f"{Decimal(net) + Decimal(tax):f}"
    body = "".join(f"<Line><LineNumber>{n}</LineNumber>{text}</Line>" for n, text in enumerate(lines, start=1))
    xml = (
        f'<Invoice xmlns="{NS}">{body}<DocumentTotals><TaxPayable>{tax}</TaxPayable><NetTotal>{net}</NetTotal>'
        f"<GrossTotal>{gross}</GrossTotal>{totals}</DocumentTotals>{after}</Invoice>"
    )
    node = etree.fromstring(xml)
    figures = Figures(table, kind, date.fromisoformat(day))
    for element in node.iterfind(f"{{{NS}}}Line"):
        figures.line(element)
    return figures.finish(node)


def messages(found: list[tuple[str, str]]) -> list[str]:
    return [message for _check, message in found]


def test_vat_per_rate_or_line_by_line() -> None:
    """Three lines of 0.10 at 23 %: 0.069 -> 0.07 per rate, 3 × 0.023 -> 0.06 line by line.
    Either is the document's (the law fixes neither); nothing else is."""
    lines = [line("1", "0.10", "0.10")] * 3
    assert problems(lines, "0.30", "0.07") == []
    assert problems(lines, "0.30", "0.06") == []
    assert messages(problems(lines, "0.30", "0.08")) == [
        "TaxPayable says 0.08, its lines' taxes make 0.07 per rate, 0.06 line by line (23% of 0.30)"
    ]


def test_a_line_is_its_unit_price_times_its_quantity_within_the_written_decimals() -> None:
    # ixserver writes the value ÷ the quantity to six decimals: 3 × 11.363636 = 34.090908
    assert problems([line("3", "11.363636", "34.090909")], "34.09", "7.84") == []
    # at least a cent: nothing smaller is an error of invoicing
    assert problems([line("3", "11.363636", "34.10")], "34.10", "7.84") == []
    assert messages(problems([line("3", "11.363636", "34.11")], "34.11", "7.85")) == [
        "line 1: UnitPrice 11.363636 × Quantity 3 = 34.090908, its CreditAmount says 34.11"
    ]
    # a large quantity: the price's last decimal times it (100000 × ½·10⁻⁶ = 0.05)
    assert problems([line("100000", "0.333333", "33333.33")], "33333.33", "7666.67") == []
    assert problems([line("100000", "0.333333", "33333.39")], "33333.39", "7666.68") != []
    # a price written without its zeros (12.5, as ixserver writes 12.50) is to the cent: 3 × ½ cent
    # + the amount's ½ cent, not 3 × 5 cents
    assert problems([line("3", "12.5", "37.52")], "37.52", "8.63") == []
    assert messages(problems([line("3", "12.5", "37.6")], "37.60", "8.65")) == [
        "line 1: UnitPrice 12.5 × Quantity 3 = 37.5, its CreditAmount says 37.6"
    ]


def test_net_total_is_the_lines_to_the_cent_within_their_written_decimals() -> None:
    exempt = [line("1", "10.0025", "10.0025", EXEMPT), line("1", "0.0025", "0.0025", EXEMPT)]
    # 10.005 as written; each amount rounded to be written may stand for a little less: 10.00 or 10.01
    assert problems(exempt, "10.01", "0") == []
    assert problems(exempt, "10.00", "0") == []
    assert messages(problems(exempt, "10.02", "0")) == [
        "NetTotal says 10.02, its lines make 10.00 to 10.01 (credit − debit, to the cent)"
    ]
    # amounts to the cent are as they are: one cent only
    to_the_cent = [line("1", "10.00", "10.00", EXEMPT), line("1", "0.01", "0.01", EXEMPT)]
    assert messages(problems(to_the_cent, "10.00", "0")) == [
        "NetTotal says 10.00, its lines make 10.01 (credit − debit, to the cent)"
    ]


def test_gross_total_is_net_plus_tax_exactly() -> None:
    assert messages(problems([line("1", "10", "10")], "10.00", "2.30", "12.31")) == [
        "GrossTotal says 12.31, NetTotal 10.00 + TaxPayable 2.30 make 12.30"
    ]


def test_a_credit_notes_lines_are_debits() -> None:
    assert problems([line("1", "10", "10", side="Debit")], "10.00", "2.30", kind="NC") == []
    found = messages(problems([line("1", "10", "10")], "10.00", "2.30", kind="NC"))
    assert found == [
        "NetTotal says 10.00, its lines make -10.00 (debit − credit, to the cent)",
        "TaxPayable says 2.30, its lines' taxes make -2.30 (23% of -10)",
    ]


@pytest.mark.parametrize(
    ("tax", "day", "expected"),
    [
        (PT23, "2026-03-02", []),
        (("IVA", "PT", "NOR", "13"), "2026-03-02", ["line 1: TaxCode NOR is 23% in PT on 2026-03-02, not 13%"]),
        (
            ("IVA", "PT", "OUT", "24"),
            "2026-03-02",
            ["line 1: VAT 24% is not a rate of PT on 2026-03-02 (NOR 23, INT 13, RED 6, or 0)"],
        ),
        (("IVA", "PT", "ISE", "6"), "2026-03-02", ["line 1: TaxCode ISE is 0% in PT on 2026-03-02, not 6%"]),
        (("IVA", "PT-MA", "RED", "5"), "2024-09-30", []),
        (("IVA", "PT-MA", "RED", "5"), "2024-10-01", ["line 1: TaxCode RED is 4% in PT-MA on 2024-10-01, not 5%"]),
        (("IVA", "PT-AC", "NOR", "16"), "2023-01-01", []),
        (("IVA", "PT", "NOR", "20"), "2022-12-31", []),  # before the rates known here (AT's demo file: 20 % in 2017)
        (("IVA", "FR", "NOR", "20"), "2026-03-02", []),  # VAT OSS: another country's
        (("IS", "PT", "1.1", "0.8"), "2026-03-02", []),  # stamp duty
    ],
)
def test_a_vat_rate_is_one_of_its_regions_on_the_documents_date(
    tax: tuple[str, str, str, str], day: str, expected: list[str]
) -> None:
    from decimal import Decimal

    vat = f"{(100 * Decimal(tax[3]) / 100).quantize(Decimal('0.01')):f}"
    found = problems([line("1", "100", "100", tax)], "100.00", vat, day=day)
    assert [(c, m) for c, m in found] == [("rates", m) for m in expected]


def test_another_currency_converts_to_the_gross_total() -> None:
    """ExchangeRate is euros per unit; written with six decimals, 0.909091 (1 ÷ 1.1) may not
    convert 100000.00 USD exactly (90909.10): within 100000 × ½·10⁻⁶, GrossTotal 90909.09 is it."""
    lines = [line("1", "73909.83", "73909.83")]

    def currency(rate: str) -> str:
        return (
            "<Currency><CurrencyCode>USD</CurrencyCode><CurrencyAmount>100000.00</CurrencyAmount>"
            f"<ExchangeRate>{rate}</ExchangeRate></Currency>"
        )

    assert problems(lines, "73909.83", "16999.26", totals=currency("0.909091")) == []
    assert messages(problems(lines, "73909.83", "16999.26", totals=currency("1.1"))) == [
        "CurrencyAmount 100000.00 USD × ExchangeRate 1.1 = 110000.00 euros, GrossTotal says 90909.09"
        " (ExchangeRate is euros per unit)"
    ]


def test_what_was_paid_is_the_gross_total_less_what_was_withheld() -> None:
    def receipt(paid: str) -> list[tuple[str, str]]:
        method = (
            f"<PaymentMethod><PaymentMechanism>TB</PaymentMechanism><PaymentAmount>{paid}</PaymentAmount>"
            "</PaymentMethod>"
        )
        withheld = "<WithholdingTax><WithholdingTaxAmount>1.86</WithholdingTaxAmount></WithholdingTax>"
        credit = "<LineNumber>1</LineNumber><CreditAmount>18.59</CreditAmount>"
        xml = (
            f'<Payment xmlns="{NS}">{method}<Line>{credit}</Line><DocumentTotals><TaxPayable>3.27</TaxPayable>'
            f"<NetTotal>18.59</NetTotal><GrossTotal>21.86</GrossTotal></DocumentTotals>{withheld}</Payment>"
        )
        node = etree.fromstring(xml)
        figures = Figures("Payments", "RG", date(2026, 3, 2))
        figures.line(node.find(f"{{{NS}}}Line"))
        return figures.finish(node)

    assert receipt("20.00") == []  # 21.86 − 1.86 (ixserver's receipt of 20 for an invoice with 10 % withheld)
    assert messages(receipt("21.86")) == [
        "PaymentMethod/PaymentAmount adds up to 21.86, GrossTotal 21.86 − withholding 1.86 make 20.00"
    ]
    # an invoice-receipt with its DocumentTotals/Payment
    payment = "<Payment><PaymentMechanism>OU</PaymentMechanism><PaymentAmount>{}</PaymentAmount></Payment>"
    lines = [line("1", "10", "10")]
    assert problems(lines, "10.00", "2.30", kind="FR", totals=payment.format("12.30")) == []
    assert messages(problems(lines, "10.00", "2.30", kind="FR", totals=payment.format("12.00"))) == [
        "Payment/PaymentAmount adds up to 12.00, GrossTotal 12.30 − withholding 0 make 12.30"
    ]
