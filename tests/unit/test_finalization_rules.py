"""What domain/documents.py refuses, rule by rule, without HTTP (api-v2 §4.3, §4.6;
pt-compliance §6–7).

Each table starts from a valid baseline (no problems) and each row changes one input: the row
expects the exact list of messages, so a rule that stops firing, fires for a neighbour or
changes its wording fails its row. Rows named `ok-…` are the boundaries that must still pass.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import (
    DUE_BEFORE_DATE,
    TRANSPORT_STARTED,
    Document,
    DocumentLine,
    LineInput,
    correction_problems,
    credit_line_problems,
    draft_problems,
    finalization_problems,
    line_problems,
    transport_problems,
)
from ixserver.domain.totals import GlobalDiscount

TODAY = date(2026, 3, 10)
DAY = timedelta(days=1)
NIF = "508025338"  # a valid Portuguese NIF (a company's)
FINAL_CONSUMER = "999999990"

EXEMPTION = (
    "Tax exemption should be one of: M01, M02, M04, M05, M06, M07, M09, M10, M11, M12, M13, M14, M15, M16, M19,"
    " M20, M21, M25, M30, M31, M32, M33, M40, M41, M42, M43, M44, M45, M46, M99"
)
NO_ITEMS = "Document should have at least one item"
OVER_100 = (
    "Simplified invoices can't exceed 100.00 € unless they sell goods only, to a consumer (not to a company, not"
    " services); issue an invoice instead"
)
OVER_1000 = (
    "Simplified invoices can't exceed 1000.00 € for retail sales of goods to consumers; issue an invoice instead"
)


def row(id: str, expected: list[str], **changes: Any) -> Any:
    return pytest.param(changes, expected, id=id)


def simplified(id: str, expected: list[str], total_eur: str, client_fiscal_id: str | None) -> Any:
    """A simplified invoice of `total_eur` for a client with that NIF."""
    return row(
        id, expected, doc_type=BY_KEY["simplified_invoice"], total_eur=D(total_eur), client_fiscal_id=client_fiscal_id
    )


# -- finalization_problems: what prevents a draft from being issued now -------------------


def finalization(**changes: Any) -> list[str]:
    inputs: dict[str, Any] = {
        "doc_type": BY_KEY["invoice"],
        "doc_date": TODAY,
        "due_date": TODAY,
        "today": TODAY,
        "last_date": None,
        "tax_rates": [D("23")],
        "tax_exemption": None,
        "total_eur": D("100.00"),
        "client_fiscal_id": NIF,
        "serie": "2026",
        "validation_code": "KQ3X7ZAB",
        "units": ["unit"],
        "line_exemptions": [],
    }
    return finalization_problems(**{**inputs, **changes})


FINALIZATION = [
    # DL 28/2019 art. 35: a series is communicated to AT before use (pt-compliance §2.3)
    row(
        "unregistered-series",
        [
            "The series 2026 is not registered with the Tax Authority (AT) for the invoice type: register it before"
            " issuing (PUT /sequences/{id}/register.json; on a production server, ixserver series register ACCOUNT 2026"
            " --code FT=CODE)"
        ],
        validation_code=None,
    ),
    row("unregistered-series-of-a-type-without-atcud", [], validation_code=None, doc_type=BY_KEY["vat_moss_invoice"]),
    row("ok-baseline", []),
    row("no-lines", [NO_ITEMS], tax_rates=[]),
    # dates (pt-compliance §1.3 chronology; api-v2 §4.6)
    row("date-tomorrow", ["Date can't be in the future"], doc_date=TODAY + DAY, due_date=TODAY + DAY),
    row("ok-date-in-the-past", [], doc_date=TODAY - 30 * DAY),
    row("ok-date-equal-to-last", [], last_date=TODAY),
    row(
        "date-before-last",
        ["Date cannot be earlier than the last invoice of this sequence[10 Mar 26]"],
        doc_date=TODAY - DAY,
        last_date=TODAY,
    ),
    row(  # the live message of api-v2 §4.6, word for word
        "date-before-last-invoice-receipt",
        ["Date cannot be earlier than the last invoice-receipt of this sequence[02 Aug 26]"],
        doc_type=BY_KEY["invoice_receipt"],
        doc_date=date(2026, 8, 1),
        due_date=date(2026, 8, 1),
        today=date(2026, 8, 3),
        last_date=date(2026, 8, 2),
    ),
    row(
        "date-before-last-credit-note",
        ["Date cannot be earlier than the last credit note of this sequence[09 Mar 26]"],
        doc_type=BY_KEY["credit_note"],
        doc_date=TODAY - 2 * DAY,
        last_date=TODAY - DAY,
    ),
    row("ok-due-date-later", [], due_date=TODAY + 30 * DAY),
    row("due-date-before-date", [DUE_BEFORE_DATE], due_date=TODAY - DAY),
    # 0 % lines need an exemption code of InvoiceXpress's table (pt-compliance §6.3)
    row("zero-rate-no-exemption", [EXEMPTION], tax_rates=[D("0")]),
    row("zero-rate-0.00-no-exemption", [EXEMPTION], tax_rates=[D("0.00")]),
    row("zero-rate-among-others", [EXEMPTION], tax_rates=[D("23"), D("0")]),
    row("zero-rate-empty-exemption", [EXEMPTION], tax_rates=[D("0")], tax_exemption=""),
    row("zero-rate-M00-is-no-exemption", [EXEMPTION], tax_rates=[D("0")], tax_exemption="M00"),
    row("zero-rate-M03-withdrawn", [EXEMPTION], tax_rates=[D("0")], tax_exemption="M03"),
    row("zero-rate-M26-not-in-table", [EXEMPTION], tax_rates=[D("0")], tax_exemption="M26"),
    row("zero-rate-M100", [EXEMPTION], tax_rates=[D("0")], tax_exemption="M100"),
    row("ok-zero-rate-M01", [], tax_rates=[D("0")], tax_exemption="M01"),
    row("ok-zero-rate-M07", [], tax_rates=[D("0")], tax_exemption="M07"),
    row("ok-zero-rate-M99", [], tax_rates=[D("0")], tax_exemption="M99"),
    row("ok-nonzero-rate-without-exemption", [], tax_rates=[D("6"), D("13"), D("23")]),
    # ... or on the line itself: each 0 % line needs its own or the document's
    row("ok-zero-rate-line-exemption", [], tax_rates=[D("0"), D("23")], line_exemptions=["M07", None]),
    row("ok-zero-rate-lines-own-codes", [], tax_rates=[D("0"), D("0")], line_exemptions=["M07", "M16"]),
    row("zero-rate-line-without-any", [EXEMPTION], tax_rates=[D("0"), D("0")], line_exemptions=["M07", None]),
    row(
        "ok-line-code-or-document-code",
        [],
        tax_rates=[D("0"), D("0")],
        line_exemptions=["M07", None],
        tax_exemption="M01",
    ),
    # simplified invoices (CIVA art. 40): 1 000 € for retail sales of goods to consumers, 100 € else
    row("ok-simplified-100-with-nif", [], doc_type=BY_KEY["simplified_invoice"], total_eur=D("100.00")),
    row("simplified-100.01-with-nif", [OVER_100], doc_type=BY_KEY["simplified_invoice"], total_eur=D("100.01")),
    row("simplified-999-with-nif", [OVER_100], doc_type=BY_KEY["simplified_invoice"], total_eur=D("999.00")),
    simplified("ok-simplified-1000-without-nif", [], "1000.00", None),
    simplified("simplified-1000.01-without-nif", [OVER_1000], "1000.01", None),
    simplified("ok-simplified-1000-empty-nif", [], "1000.00", "  "),
    simplified("simplified-1000.01-empty-nif", [OVER_1000], "1000.01", ""),
    simplified("ok-simplified-1000-final-consumer", [], "1000.00", FINAL_CONSUMER),
    simplified("simplified-1000.01-final-consumer", [OVER_1000], "1000.01", FINAL_CONSUMER),
    simplified("ok-simplified-final-consumer-spaced", [], "500.00", f" {FINAL_CONSUMER} "),
    # ... a consumer with a personal NIF is a consumer; services are 100 € whoever buys them
    simplified("ok-simplified-1000-personal-nif", [], "1000.00", "234567899"),
    row(
        "simplified-services-to-a-consumer",
        [OVER_100],
        doc_type=BY_KEY["simplified_invoice"],
        total_eur=D("100.01"),
        client_fiscal_id=None,
        units=["unit", "hour"],
    ),
    row(
        "ok-simplified-services-100",
        [],
        doc_type=BY_KEY["simplified_invoice"],
        total_eur=D("100.00"),
        client_fiscal_id=None,
        units=["service"],
    ),
    row(
        "ok-simplified-no-unit-is-goods",
        [],
        doc_type=BY_KEY["simplified_invoice"],
        total_eur=D("999.00"),
        client_fiscal_id=FINAL_CONSUMER,
        units=[None, "other"],
    ),
    row("ok-invoice-has-no-limit", [], total_eur=D("50000.00"), client_fiscal_id=None),
    row("ok-invoice-receipt-has-no-limit", [], doc_type=BY_KEY["invoice_receipt"], total_eur=D("50000.00")),
]


@pytest.mark.parametrize(("changes", "expected"), FINALIZATION)
def test_finalization_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert finalization(**changes) == expected


def test_finalization_reports_every_problem_at_once() -> None:
    assert finalization(
        doc_type=BY_KEY["simplified_invoice"],
        doc_date=TODAY + DAY,
        due_date=TODAY,
        last_date=TODAY + 2 * DAY,
        tax_rates=[D("0")],
        total_eur=D("100.01"),
    ) == [
        "Date can't be in the future",
        "Date cannot be earlier than the last simplified invoice of this sequence[12 Mar 26]",
        "Due date must be equal to or later than the document date",
        EXEMPTION,
        OVER_100,
    ]


# -- line_problems: one line of a draft (api-v2 §4.3.2) -----------------------------------

LINE = LineInput(
    name="Widget",
    description="A widget",
    unit_price=D("10.00"),
    quantity=D("1"),
    unit=None,
    discount=None,
    tax_name=None,
    tax_value=None,
)

LINES = [
    row("ok-baseline", []),
    row("name-missing", ["Name can't be blank"], name=None),
    row("name-empty", ["Name can't be blank"], name=""),
    row("name-blank", ["Name can't be blank"], name="   "),
    row("ok-no-description", [], description=None),
    row("ok-price-zero", [], unit_price=D("0")),
    row("ok-price-not-given", [], unit_price=None),
    row("price-negative", ["Unit price can't be negative"], unit_price=D("-0.01")),
    row("quantity-missing", ["Quantity must be a number greater than 0"], quantity=None),
    row("quantity-zero", ["Quantity must be a number greater than 0"], quantity=D("0")),
    row("quantity-negative", ["Quantity must be a number greater than 0"], quantity=D("-1")),
    row("ok-quantity-fraction", [], quantity=D("0.001")),
    row("ok-discount-0", [], discount=D("0")),
    row("ok-discount-100", [], discount=D("100")),
    row("discount-negative", ["Discount must be a number between 0 and 100"], discount=D("-0.01")),
    row("discount-over-100", ["Discount must be a number between 0 and 100"], discount=D("100.01")),
    *(row(f"ok-unit-{unit}", [], unit=unit) for unit in ("service", "unit", "hour", "day", "month", "other")),
    row("unit-unknown", ["Unit kg is not included in the list of accepted units"], unit="kg"),
    row("unit-wrong-case", ["Unit Hour is not included in the list of accepted units"], unit="Hour"),
]


@pytest.mark.parametrize(("changes", "expected"), LINES)
def test_line_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert line_problems(replace(LINE, **changes)) == expected


# -- draft_problems: a draft's content, whatever the database holds (api-v2 §4.3) ----------


def draft(**changes: Any) -> list[str]:
    inputs: dict[str, Any] = {
        "retention": None,
        "tax_exemption": None,
        "currency": "EUR",
        "rate": None,
        "global_discount": None,
        "lines": [LINE],
        "has_client": True,
        "manual_number": False,
        "mb_reference": False,
    }
    return draft_problems(**{**inputs, **changes})


RETENTION = "Retention must be a number between 0 and 99.99"
RATE = "Rate must be a number greater than 0 for a document in another currency"
DISCOUNT_TYPE = "Global discount value_type must be percentage or absolute"
DISCOUNT_VALUE = "Global discount value is not valid"

DRAFTS = [
    row("ok-baseline", []),
    # retention (IRS withholding, %)
    row("ok-retention-0", [], retention=D("0")),
    row("ok-retention-23", [], retention=D("23")),
    row("ok-retention-99.99", [], retention=D("99.99")),
    row("retention-negative", [RETENTION], retention=D("-0.01")),
    row("retention-100", [RETENTION], retention=D("100")),
    # the exemption code, checked on drafts against the whole table (M00 = none)
    row("ok-exemption-M00", [], tax_exemption="M00"),
    row("ok-exemption-M07", [], tax_exemption="M07"),
    row("exemption-unknown", [EXEMPTION], tax_exemption="M03"),
    row("exemption-not-a-code", [EXEMPTION], tax_exemption="isento"),
    # what this server does not offer
    row("manual-number", ["Manual numbering is not enabled for this sequence"], manual_number=True),
    row(
        "mb-reference",
        ["Option to generate MB reference is set but no payment provider is configurated"],
        mb_reference=True,
    ),
    # currency and rate (units of the currency per euro)
    row("currency-unknown", ["Currency XXX is not valid"], currency="XXX"),
    row("currency-unknown-with-rate", ["Currency ZZZ is not valid"], currency="ZZZ", rate=D("1.1")),
    row("currency-without-rate", [RATE], currency="USD"),
    row("currency-rate-zero", [RATE], currency="USD", rate=D("0")),
    row("currency-rate-negative", [RATE], currency="GBP", rate=D("-0.85")),
    row("ok-currency-with-rate", [], currency="USD", rate=D("1.0856")),
    row("ok-eur-rate-ignored", [], currency="EUR", rate=D("0")),
    # global discount
    row("discount-kind-unknown", [DISCOUNT_TYPE], global_discount=GlobalDiscount("fixed", D("5"))),
    row("ok-discount-percentage-0", [], global_discount=GlobalDiscount("percentage", D("0"))),
    row("ok-discount-percentage-100", [], global_discount=GlobalDiscount("percentage", D("100"))),
    row("discount-percentage-over-100", [DISCOUNT_VALUE], global_discount=GlobalDiscount("percentage", D("100.01"))),
    row("discount-percentage-negative", [DISCOUNT_VALUE], global_discount=GlobalDiscount("percentage", D("-1"))),
    row("ok-discount-absolute-over-100", [], global_discount=GlobalDiscount("absolute", D("500"))),
    row("discount-absolute-negative", [DISCOUNT_VALUE], global_discount=GlobalDiscount("absolute", D("-0.01"))),
    # lines, numbered from 1 in the messages
    row("no-lines", [NO_ITEMS], lines=[]),
    row("lines-missing", [NO_ITEMS], lines=None),
    row("line-1-bad", ["Item 1: Name can't be blank"], lines=[replace(LINE, name=" ")]),
    row(
        "line-2-bad",
        ["Item 2: Quantity must be a number greater than 0"],
        lines=[LINE, replace(LINE, quantity=D("0"))],
    ),
    row(
        "line-with-two-problems",
        ["Item 1: Unit price can't be negative", "Item 1: Unit box is not included in the list of accepted units"],
        lines=[replace(LINE, unit_price=D("-1"), unit="box")],
    ),
    # the client
    row("no-client", ["Elemento client não fornecido"], has_client=False),
    # the due date (an estimate's validity) no earlier than the date, as at finalization
    row("ok-due-date-same-day", [], doc_date=TODAY, due_date=TODAY),
    row("ok-due-date-later", [], doc_date=TODAY, due_date=TODAY + 30 * DAY),
    row("due-date-before-date", [DUE_BEFORE_DATE], doc_date=TODAY, due_date=TODAY - DAY),
    row(
        "due-date-out-of-range-only",
        ["Due date must be between 01/01/2000 and 31/12/2099"],
        doc_date=TODAY,
        due_date=date(1999, 12, 31),
    ),
]


@pytest.mark.parametrize(("changes", "expected"), DRAFTS)
def test_draft_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert draft(**changes) == expected


# -- transport_problems: a guide's transport (api-v2 §6.2) -----------------------------------

WHOLE = {"detail": "Rua 5", "city": "Lisboa", "postal_code": "1000-555", "country": "Portugal"}
NOW = "2026-03-10T10:00:00"
TRANSPORTS = [
    row("ok-start-kept-unchecked", [], loaded_at="2026-03-10T09:00:00"),
    row("ok-start-set-later", [], loaded_at="2026-03-10T10:00:01", now=NOW),
    row("start-set-now", [TRANSPORT_STARTED], loaded_at=NOW, now=NOW),
    row("start-set-in-the-past", [TRANSPORT_STARTED], loaded_at="2026-03-09T23:59:59", now=NOW),
    row("no-start", ["Loaded at can't be blank"], loaded_at=None, now=NOW),
    row("no-city", ["Address to: city can't be blank"], address_to={**WHOLE, "city": ""}),
]


@pytest.mark.parametrize(("changes", "expected"), TRANSPORTS)
def test_transport_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert transport_problems(**{"loaded_at": NOW, "address_from": WHOLE, "address_to": WHOLE, **changes}) == expected


# -- correction_problems: what a credit or debit note needs of its owner (pt-compliance §7) -

CLIENT_ID = 7
OWNER = Document(
    id=100,
    account_id=1,
    doc_type="invoice",
    status="final",
    archived=False,
    date=TODAY,
    due_date=TODAY,
    reference=None,
    observations=None,
    retention=None,
    tax_exemption=None,
    client_id=CLIENT_ID,
    client={"name": "Cliente Exemplo"},
    currency_code="EUR",
    exchange_rate=None,
    global_discount=None,
    sum=D("81.30"),
    discount=D("0.00"),
    before_taxes=D("81.30"),
    taxes=D("18.70"),
    total=D("100.00"),
    retention_amount=D("0.00"),
    owner_document_id=None,
    owner_reference=None,
    permalink_token="token",
    sub_sequence_id=1,
    number=1,
    serie="2026",
    atcud="N/D",
    gross_total_eur=D("100.00"),
    system_entry_date="2026-03-10T10:00:00",
    signature="signature",
    key_version=1,
    status_reason=None,
    transport=None,
    at_doc_code=None,
)


def correction(**changes: Any) -> list[str]:
    inputs: dict[str, Any] = {
        "doc_type": BY_KEY["credit_note"],
        "owner": OWNER,
        "owner_given": True,
        "external_reference": None,
        "client_id": CLIENT_ID,
        "total": D("40.00"),
        "already_credited": D("0"),
        "currency": "EUR",
        "doc_date": TODAY,
    }
    return correction_problems(**{**inputs, **changes})


def owned(**fields: Any) -> dict[str, Any]:
    """The baseline's owner, with these fields changed."""
    return {"owner": replace(OWNER, **fields)}


LEFT = "Credit notes can't exceed what is left to credit on the owner invoice"

CORRECTIONS = [
    row("ok-baseline", []),
    row("ok-not-a-correction", [], doc_type=BY_KEY["invoice"], owner=None, owner_given=False),
    # which owner
    row("owner-not-found", ["Owner invoice not found"], owner=None),
    row("owner-not-found-despite-reference", ["Owner invoice not found"], owner=None, external_reference="FT A/1"),
    row(
        "no-owner",
        ["A credit note needs owner_invoice_id: the document it corrects"],
        owner=None,
        owner_given=False,
    ),
    row(
        "no-owner-debit-note",
        ["A debit note needs owner_invoice_id: the document it corrects"],
        doc_type=BY_KEY["debit_note"],
        owner=None,
        owner_given=False,
    ),
    row(
        "no-owner-empty-reference",
        ["A credit note needs owner_invoice_id: the document it corrects"],
        owner=None,
        owner_given=False,
        external_reference="",
    ),
    row(  # raw_owner_invoice: the document corrected was issued elsewhere
        "ok-external-reference",
        [],
        owner=None,
        owner_given=False,
        external_reference="FT EXT/12",
    ),
    # the owner's type
    row("ok-credit-invoice-receipt", [], **owned(doc_type="invoice_receipt", status="settled")),
    row("ok-credit-simplified", [], **owned(doc_type="simplified_invoice")),
    row("ok-credit-debit-note", [], **owned(doc_type="debit_note")),
    row("credit-credit-note", ["A credit note can't correct a credit note"], **owned(doc_type="credit_note")),
    row(
        "credit-vat-moss-invoice",
        ["A credit note can't correct a VAT MOSS invoice"],
        **owned(doc_type="vat_moss_invoice"),
    ),
    row(
        "debit-debit-note",
        ["A debit note can't correct a debit note"],
        doc_type=BY_KEY["debit_note"],
        **owned(doc_type="debit_note"),
    ),
    row(
        "debit-credit-note",
        ["A debit note can't correct a credit note"],
        doc_type=BY_KEY["debit_note"],
        **owned(doc_type="credit_note"),
    ),
    row(
        "ok-vat-moss-credit-vat-moss-invoice",
        [],
        doc_type=BY_KEY["vat_moss_credit_note"],
        **owned(doc_type="vat_moss_invoice"),
    ),
    row(
        "vat-moss-credit-invoice",
        ["A VAT MOSS credit note can't correct an invoice"],
        doc_type=BY_KEY["vat_moss_credit_note"],
    ),
    # the owner's status
    row("ok-owner-settled", [], **owned(status="settled")),
    row("owner-canceled", ["A canceled document can't be corrected"], **owned(status="canceled")),
    row("owner-draft", ["The owner invoice must be finalized first"], **owned(status="draft")),
    row("owner-deleted", ["The owner invoice must be finalized first"], **owned(status="deleted")),
    # the owner's client
    row("owner-of-another-client", ["The owner invoice belongs to another client"], client_id=CLIENT_ID + 1),
    row("note-without-client", ["The owner invoice belongs to another client"], client_id=None),
    # how much is left to credit
    row("ok-credit-everything", [], total=D("100.00")),
    row("credit-over-total", [f"{LEFT} (100.00)"], total=D("100.01")),
    row("ok-credit-what-is-left", [], total=D("40.00"), already_credited=D("60.00")),
    row("credit-over-what-is-left", [f"{LEFT} (40.00)"], total=D("40.01"), already_credited=D("60.00")),
    row("credit-fully-credited", [f"{LEFT} (0.00)"], total=D("0.01"), already_credited=D("100.00")),
    row(
        "vat-moss-credit-over-total",
        [f"{LEFT} (100.00)"],
        doc_type=BY_KEY["vat_moss_credit_note"],
        total=D("150.00"),
        **owned(doc_type="vat_moss_invoice"),
    ),
    row("ok-debit-over-total", [], doc_type=BY_KEY["debit_note"], total=D("500.00"), already_credited=D("100.00")),
    # one currency, and not before the document it corrects
    row(
        "credit-in-another-currency",
        ["A credit note is in the currency of the document it corrects (EUR)"],
        currency="USD",
    ),
    row(
        "debit-in-another-currency",
        ["A debit note is in the currency of the document it corrects (EUR)"],
        doc_type=BY_KEY["debit_note"],
        currency="USD",
    ),
    row(
        "credit-dated-before",
        [f"A credit note can't be dated before the document it corrects ({TODAY:%d/%m/%Y})"],
        doc_date=TODAY - timedelta(days=1),
    ),
    row("ok-credit-dated-after", [], doc_date=TODAY + timedelta(days=3)),
]


def line(name: str, quantity: str, price: str, rate: str = "23", discount: str = "0") -> DocumentLine:
    subtotal = D(quantity) * D(price)
    discount_amount = (subtotal * D(discount) / 100).quantize(D("0.01"))
    return DocumentLine(name=name, description=name, unit_price=D(price), quantity=D(quantity), unit=None,
                        discount=D(discount), tax_id=None, tax_name=f"IVA{rate}", tax_value=D(rate), tax_region="PT",
                        tax_code="NOR", subtotal=subtotal, discount_amount=discount_amount, tax_amount=D(0),
                        total=D(0))  # fmt: skip


INVOICED = [line("Widget", "2.5", "10"), line("Book", "1", "20", rate="6"), line("Widget", "1", "10")]

CREDIT_LINES = [
    row("ok-part-of-a-line", [], note=[line("Widget", "1", "10")]),
    row("ok-everything", [], note=[line("Widget", "3.5", "10"), line("Book", "1", "20", rate="6")]),
    row("more-than-invoiced", ["Can't credit 5 of Widget: 3.5 left to credit"], note=[line("Widget", "5", "10")]),
    row(
        "more-than-left",
        ["Can't credit 2 of Widget: 1.5 left to credit"],
        earlier=[line("Widget", "2", "10")],
        note=[line("Widget", "2", "10")],
    ),
    row("a-higher-price", ["Can't credit 50.00 of Widget: 35.00 left to credit"], note=[line("Widget", "1", "50")]),
    row("ok-a-discounted-line", [], note=[line("Widget", "3.5", "20", discount="50")]),
    row("never-invoiced", ["Pencil at 23% VAT is not on the document it corrects"], note=[line("Pencil", "1", "1")]),
    row(
        "another-rate",
        ["Book at 13% VAT is not on the document it corrects"],
        note=[line("Book", "1", "20", rate="13")],
    ),
    # values as the documents show them, to the cent: 17 × 0.0103 is 0.1751, shown 0.18
    row("ok-the-shown-value", [], note=[line("Clip", "1", "0.18")], invoiced=[line("Clip", "17", "0.0103")]),
    row(
        "over-the-shown-value",
        ["Can't credit 0.19 of Clip: 0.18 left to credit"],
        note=[line("Clip", "1", "0.19")],
        invoiced=[line("Clip", "17", "0.0103")],
    ),
    row(
        "book-already-credited",
        ["Can't credit 1 of Book: 0 left to credit"],
        earlier=[line("Book", "1", "20", rate="6")],
        note=[line("Book", "1", "20", rate="6")],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), CREDIT_LINES)
def test_credit_line_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert (
        credit_line_problems(changes.get("invoiced", INVOICED), changes.get("earlier", []), changes["note"]) == expected
    )


@pytest.mark.parametrize(("changes", "expected"), CORRECTIONS)
def test_correction_problems(changes: dict[str, Any], expected: list[str]) -> None:
    assert correction(**changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        row("canceled", ["A canceled document can't be corrected"], **owned(status="canceled")),
        row("draft", ["The owner invoice must be finalized first"], **owned(status="draft")),
        row("another-client", ["The owner invoice belongs to another client"], client_id=CLIENT_ID + 1),
        row("wrong-type", ["A credit note can't correct a credit note"], **owned(doc_type="credit_note")),
    ],
)
def test_the_amount_is_only_checked_against_a_valid_owner(changes: dict[str, Any], expected: list[str]) -> None:
    assert correction(total=D("1000.00"), **changes) == expected


def test_correction_reports_every_owner_problem_at_once() -> None:
    assert correction(**owned(doc_type="credit_note", status="canceled"), client_id=None) == [
        "A credit note can't correct a credit note",
        "A canceled document can't be corrected",
        "The owner invoice belongs to another client",
    ]
