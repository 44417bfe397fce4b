"""The arithmetic of each document of a SAF-T (PT) file (pt-compliance §8 checks 8 and 9), for
`ixserver verify --saft` (saft.py feeds it one document at a time, line by line; nothing is kept
once the document is checked). Decimal only; "to the cent" is half-up (domain/money.py).

What must add up, each a finding naming the document:

- a line (SalesInvoices, WorkingDocuments, MovementOfGoods): `UnitPrice × Quantity` is its
  CreditAmount or DebitAmount (the unit price after discounts: AT's demo, 4.6788 × 38.471403 =
  180.00);
- a document (the same tables): `NetTotal` is what its lines add up to (credit lines minus debit
  lines, taken on the side its type uses: a credit note's lines are debits, an invoice's credits;
  a guide or a working document, whichever side its lines are on), to the cent; `TaxPayable` is
  the lines' taxes: per tax and rate (TaxType, TaxCountryRegion, TaxPercentage), that rate's
  lines × the rate, each to the cent (domain/totals.py's rule), or the sum of each line's tax to
  the cent (the per-line method: the law fixes neither, pt-compliance §6.5), plus any fixed
  TaxAmount. A line's tax is on its TaxBase when it has one (stamp duty on a line of no amount:
  the demo's 100000 × 0.8 % = 800.00), else on its amount. Lines at 0 %, and NS, count in
  NetTotal and add no tax; stamp duty (IS) is a tax of TaxPayable as VAT is. `GrossTotal` is
  `NetTotal + TaxPayable`, exactly. Canceled documents are checked too: their figures were issued;
- a VAT rate (TaxType IVA, regions PT, PT-AC, PT-MA) is one of its region's rates on the
  document's date (domain/taxes.py `rates_on`), the rate of its TaxCode (NOR, INT, RED; ISE is
  0 %); from `RATES_KNOWN_SINCE` (2023-01-01) on, as far back as the reference data vouch for the
  rates: an earlier document's rates, and another country's (VAT OSS), are not checked;
- another currency (`DocumentTotals/Currency`, every table): `CurrencyAmount × ExchangeRate` is
  GrossTotal to the cent, the rate being euros per unit (AT's demo: 317.45 × 0.740747 = 235.15);
- what was paid: a receipt's lines (credit − debit) make its NetTotal to the cent, GrossTotal =
  NetTotal + TaxPayable, and Σ `PaymentMethod/PaymentAmount` = GrossTotal − Σ withholding
  (`WithholdingTaxAmount`); an invoice-receipt (FR) with `DocumentTotals/Payment`, the same of
  its Payment amounts. (A receipt's TaxPayable is not its lines' tax: the demo's receipt of a
  settled invoice states the invoice's VAT on less than its net.)

Tolerances, and why. A figure written with d decimals stands for any value it is the rounding
of, and no more; one written with fewer than two decimals is taken to the cent (it lost its zeros,
not its cents: ixserver writes 12.50 as 12.5). Hence:

- a line: |UnitPrice × Quantity − amount| ≤ Quantity × ½·10⁻ᵈ (UnitPrice written with d
  decimals) + ½·10⁻ᵉ (the amount, with e), and at least a cent: the price is written rounded
  (ixserver writes the line's value ÷ its quantity to six decimals; AT's demo has 5 × 4.6788 =
  23.394 for 23.3938), and nothing under a cent is an error of invoicing;
- NetTotal, and TaxPayable by either method: a line amount written with more than two decimals
  may be off by ½ of its last decimal (rounded to be written: ixserver keeps ten decimals and
  writes six); one written to the cent is as it is. The figure must be the cent (half-up) of a
  value within the sum of those half-units of what is written: one cent, or either of two
  neighbouring cents when the written sum lies that close to a half cent; TaxPayable the same,
  rate by rate (or line by line);
- the currency: CurrencyAmount × ExchangeRate within CurrencyAmount × ½·10⁻ᵈ (the rate written
  with d decimals) of a value whose cent is GrossTotal: a rate of six decimals may not convert a
  large amount exactly (0.909091 × 100000.00 = 90909.10 for 90909.09); an inverted rate (1.1 for
  0.909091) is out by far more;
- GrossTotal = NetTotal + TaxPayable, and what was paid: exact (figures to the cent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ixserver.audit.schema import NS
from ixserver.domain.money import CENT, HUNDRED, ZERO, to_cents
from ixserver.domain.taxes import rates_on

Q = f"{{{NS}}}"
HALF = Decimal("0.5")
DEBIT_TYPES = frozenset({"NC"})  # SalesInvoices whose lines are debits
PAID_AT_ONCE = frozenset({"FR"})  # invoices whose DocumentTotals/Payment is the whole of them


def _q(*names: str) -> str:
    return "/".join(Q + name for name in names)


def number(text: str | None) -> Decimal | None:
    """A figure of the file; None when missing or not a number (the schema reports it)."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _half_unit(value: Decimal) -> Decimal:
    """½ of the last decimal written, what rounding to write it may have taken off; a figure
    written with fewer than two decimals is to the cent (its zeros dropped: 12.5 for 12.50)."""
    exponent = value.as_tuple().exponent
    return HALF.scaleb(min(exponent, -2)) if isinstance(exponent, int) else HALF.scaleb(-2)


def _slack(value: Decimal) -> Decimal:
    """How far a written line amount may be from the value it stands for: ½ of its last decimal
    past the cent; an amount to the cent is as it is."""
    exponent = value.as_tuple().exponent
    return HALF.scaleb(exponent) if isinstance(exponent, int) and exponent < -2 else ZERO


def _text(value: Decimal) -> str:
    return f"{value:f}"


@dataclass
class Cents:
    """The cents a figure may be: [low, high]."""

    low: Decimal = ZERO
    high: Decimal = ZERO

    def add(self, value: Decimal, slack: Decimal, rate: Decimal = HUNDRED) -> None:
        """Add the cent of `value` (± `slack`) × rate %."""
        self.low += to_cents((value - slack) * rate / HUNDRED)
        self.high += to_cents((value + slack) * rate / HUNDRED)

    def turned(self, sign: int) -> Cents:
        return self if sign > 0 else Cents(-self.high, -self.low)

    def holds(self, value: Decimal) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return _text(self.low) if self.low == self.high else f"{_text(self.low)} to {_text(self.high)}"


@dataclass
class _Base:
    """One rate's lines: their amounts (credit positive) and how far the written amounts may be off."""

    amount: Decimal = ZERO
    slack: Decimal = ZERO


@dataclass
class Figures:
    """One document's figures, gathered line by line, and what of them does not add up."""

    table: str
    kind: str  # InvoiceType, MovementType, WorkType, PaymentType
    day: date | None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (check, message)
    credit: Decimal = ZERO
    debit: Decimal = ZERO
    slack: Decimal = ZERO
    bases: dict[tuple[str, str, Decimal], _Base] = field(default_factory=dict)
    per_line: Cents = field(default_factory=Cents)  # the lines' taxes, each to the cent
    fixed: Decimal = ZERO  # taxes stated as amounts (TaxAmount)

    def line(self, node: Any) -> None:
        """Take in one `Line` element."""
        label = f"line {node.findtext(Q + 'LineNumber') or '?'}"
        credit_text, debit_text = node.findtext(Q + "CreditAmount"), node.findtext(Q + "DebitAmount")
        side = 1 if credit_text is not None else -1
        amount = number(credit_text if credit_text is not None else debit_text)
        if amount is None:
            return  # the schema reports it
        if side > 0:
            self.credit += amount
        else:
            self.debit += amount
        self.slack += _slack(amount)
        self._price(label, node, amount, side)
        self._tax(label, node, amount, side)

    def _price(self, label: str, node: Any, amount: Decimal, side: int) -> None:
        quantity, price = number(node.findtext(Q + "Quantity")), number(node.findtext(Q + "UnitPrice"))
        if quantity is None or price is None:
            return
        allowed = max(CENT, abs(quantity) * _half_unit(price) + _half_unit(amount))
        if abs(quantity * price - amount) > allowed:
            column = "CreditAmount" if side > 0 else "DebitAmount"
            self.problems.append(
                (
                    "arithmetic",
                    f"{label}: UnitPrice {_text(price)} × Quantity {_text(quantity)} = {_text(quantity * price)}, "
                    f"its {column} says {_text(amount)}",
                )
            )

    def _tax(self, label: str, node: Any, amount: Decimal, side: int) -> None:
        tax = node.find(Q + "Tax")
        if tax is None:
            return
        fixed = number(tax.findtext(Q + "TaxAmount"))
        if fixed is not None:
            self.fixed += side * fixed
        percentage = number(tax.findtext(Q + "TaxPercentage"))
        if percentage is None:
            return
        kind, region = tax.findtext(Q + "TaxType") or "", tax.findtext(Q + "TaxCountryRegion") or ""
        if kind == "IVA":
            self._rate(label, region, tax.findtext(Q + "TaxCode") or "", percentage)
        base = number(node.findtext(Q + "TaxBase"))
        base = amount if base is None else base
        slack = _slack(base)
        kept = self.bases.setdefault((kind, region, percentage), _Base())
        kept.amount += side * base
        kept.slack += slack
        self.per_line.add(side * base, slack, percentage)

    def _rate(self, label: str, region: str, code: str, percentage: Decimal) -> None:
        rates = rates_on(region, self.day) if self.day is not None else None
        if rates is None:
            return  # another country's VAT, or a day before the rates known here
        known = ", ".join(f"{name} {_text(rate.normalize())}" for name, rate in rates.items())
        expected = rates.get(code, ZERO if code == "ISE" else None)
        if expected is not None and percentage != expected:
            message = (
                f"TaxCode {code} is {_text(expected.normalize())}% in {region} on {self.day}, not {_text(percentage)}%"
            )
        elif expected is None and percentage != 0 and percentage not in rates.values():
            message = f"VAT {_text(percentage)}% is not a rate of {region} on {self.day} ({known}, or 0)"
        else:
            return
        self.problems.append(("rates", f"{label}: {message}"))

    # -- the document's totals ------------------------------------------------------------------

    def _sign(self) -> int:
        """1 when the document's lines are credits, -1 when debits."""
        if self.table == "SalesInvoices":
            return -1 if self.kind in DEBIT_TYPES else 1
        return 1 if self.credit >= self.debit else -1

    def finish(self, node: Any) -> list[tuple[str, str]]:
        """What does not add up, given the document's element (its totals, payments, withholding)."""
        totals = node.find(Q + "DocumentTotals")
        if totals is None:
            return self.problems
        net, tax, gross = (number(totals.findtext(Q + name)) for name in ("NetTotal", "TaxPayable", "GrossTotal"))
        sign = self._sign()
        lines = Cents()
        lines.add(self.credit - self.debit, self.slack)
        if net is not None and not lines.turned(sign).holds(net):
            sides = "credit − debit" if sign > 0 else "debit − credit"
            self._problem(f"NetTotal says {_text(net)}, its lines make {lines.turned(sign)} ({sides}, to the cent)")
        if tax is not None and self.table != "Payments":
            self._taxes(tax, sign)
        if net is not None and tax is not None and gross is not None and net + tax != gross:
            self._problem(
                f"GrossTotal says {_text(gross)}, NetTotal {_text(net)} + TaxPayable {_text(tax)} "
                f"make {_text(net + tax)}"
            )
        if gross is not None:
            self._currency(totals, gross)
            if self.table == "Payments":
                self._paid(node.iterfind(_q("PaymentMethod", "PaymentAmount")), node, gross, "PaymentMethod")
            elif self.kind in PAID_AT_ONCE and totals.find(Q + "Payment") is not None:
                self._paid(totals.iterfind(_q("Payment", "PaymentAmount")), node, gross, "Payment")
        return self.problems

    def _problem(self, message: str) -> None:
        self.problems.append(("arithmetic", message))

    def _taxes(self, stated: Decimal, sign: int) -> None:
        per_rate = Cents(self.fixed, self.fixed)
        for (_kind, _region, percentage), base in self.bases.items():
            per_rate.add(base.amount, base.slack, percentage)
        per_line = Cents(self.per_line.low + self.fixed, self.per_line.high + self.fixed)
        per_rate, per_line = per_rate.turned(sign), per_line.turned(sign)
        if per_rate.holds(stated) or per_line.holds(stated):
            return
        rates = "; ".join(
            f"{_text(percentage.normalize())}% of {_text(sign * base.amount)}"
            for (_kind, _region, percentage), base in self.bases.items()
            if percentage
        )
        made = f"{per_rate}" if per_rate == per_line else f"{per_rate} per rate, {per_line} line by line"
        self._problem(
            f"TaxPayable says {_text(stated)}, its lines' taxes make {made}" + (f" ({rates})" if rates else "")
        )

    def _currency(self, totals: Any, gross: Decimal) -> None:
        currency = totals.find(Q + "Currency")
        if currency is None:
            return
        amount, rate = number(currency.findtext(Q + "CurrencyAmount")), number(currency.findtext(Q + "ExchangeRate"))
        if amount is None or rate is None:
            return
        converted = Cents()
        converted.add(amount * rate, abs(amount) * _half_unit(rate))
        if not converted.holds(gross):
            code = currency.findtext(Q + "CurrencyCode") or ""
            self._problem(
                f"CurrencyAmount {_text(amount)} {code} × ExchangeRate {_text(rate)} "
                f"= {_text(to_cents(amount * rate))} euros, GrossTotal says {_text(gross)} "
                "(ExchangeRate is euros per unit)"
            )

    def _paid(self, amounts: Any, node: Any, gross: Decimal, element: str) -> None:
        paid = sum((number(a.text) or ZERO for a in amounts), ZERO)
        withheld = sum(
            (number(w.text) or ZERO for w in node.iterfind(_q("WithholdingTax", "WithholdingTaxAmount"))), ZERO
        )
        if paid != gross - withheld:
            self._problem(
                f"{element}/PaymentAmount adds up to {_text(paid)}, GrossTotal {_text(gross)} − withholding "
                f"{_text(withheld)} make {_text(gross - withheld)}"
            )
