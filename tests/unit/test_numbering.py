"""How a numbered document is named (api-v2 §8.1–8.2, pt-compliance §1.3 and §2), and which
series identifiers are accepted (pt-compliance §2.3, api-v2 §8.5)."""

from __future__ import annotations

import pytest

from ixserver.domain import numbering
from ixserver.domain.doctypes import BY_KEY, DOC_TYPES
from ixserver.domain.errors import DomainError, InvalidSequence, SequenceNameNotAllowed
from ixserver.domain.sequences import SubSequence, validate_serie

# Every type: the first token of its legal number, and whether it takes an ATCUD. Written out
# from pt-compliance §1.2 (one internal code per type; FVM/NCVM for VAT MOSS) and api-v2 §8.1
# ("N/A" for fees notes, VAT MOSS and purchase orders).
# fmt: off
TYPES: dict[str, tuple[str, bool]] = {
    "invoice":              ("FT",   True),
    "invoice_receipt":      ("FR",   True),
    "simplified_invoice":   ("FS",   True),
    "credit_note":          ("NC",   True),
    "debit_note":           ("ND",   True),
    "receipt":              ("RG",   True),
    "shipping":             ("GR",   True),
    "transport":            ("GT",   True),
    "devolution":           ("GD",   True),
    "proforma":             ("PF",   True),
    "quote":                ("OR",   True),
    "fees_note":            ("NH",   False),
    "purchase_order":       ("NE",   False),
    "vat_moss_invoice":     ("FVM",  False),
    "vat_moss_credit_note": ("NCVM", False),
    "vat_moss_receipt":     ("RGVM", False),
}
# fmt: on
WITH_ATCUD = [key for key, (_, atcud) in TYPES.items() if atcud]
WITHOUT_ATCUD = [key for key, (_, atcud) in TYPES.items() if not atcud]


def test_the_table_covers_every_type() -> None:
    assert set(TYPES) == {t.key for t in DOC_TYPES}
    codes = [t.internal_code for t in DOC_TYPES]
    assert len(set(codes)) == len(codes), "an internal code may be used for one type only (pt-compliance §1.2)"


# -- sequence_number, inverted_sequence_number -----------------------------------------------


@pytest.mark.parametrize(
    ("number", "serie", "sequence", "inverted"),
    [
        pytest.param(1, "A", "1/A", "A/1", id="openapi-example"),
        pytest.param(123, "MYSEQ", "123/MYSEQ", "MYSEQ/123", id="odoo"),
        pytest.param(1, "2026", "1/2026", "2026/1", id="year-serie"),
        pytest.param(35, "AB2019", "35/AB2019", "AB2019/35", id="not-zero-padded"),
        pytest.param(1000000, "x.y_z-1", "1000000/x.y_z-1", "x.y_z-1/1000000", id="every-allowed-sign"),
    ],
)
def test_sequence_numbers(number: int, serie: str, sequence: str, inverted: str) -> None:
    assert numbering.sequence_number(number, serie) == sequence
    assert numbering.inverted_sequence_number(number, serie) == inverted


# -- document_number: the legal number, as signed and exported ------------------------------


@pytest.mark.parametrize(("doc_type", "code"), [pytest.param(k, c, id=k) for k, (c, _) in TYPES.items()])
def test_document_number(doc_type: str, code: str) -> None:
    assert numbering.document_number(BY_KEY[doc_type], "2026A", 7) == f"{code} 2026A/7"


def test_document_number_is_the_code_and_the_inverted_sequence_number() -> None:
    # pt-compliance §1.3: "<code> " + inverted_sequence_number; the SAF-T pattern
    # "[^ ]+ [^/^ ]+/[0-9]+".
    assert numbering.document_number(BY_KEY["invoice"], "2025A", 1) == "FT 2025A/1"
    assert numbering.document_number(BY_KEY["credit_note"], "A", 12) == "NC A/12"
    assert numbering.document_number(BY_KEY["invoice_receipt"], "MYSEQ", 123) == (
        "FR " + numbering.inverted_sequence_number(123, "MYSEQ")
    )


# -- atcud ----------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", WITH_ATCUD)
def test_atcud_of_a_registered_series(doc_type: str) -> None:
    assert numbering.atcud(BY_KEY[doc_type], "CSDF7T5H", 35) == "CSDF7T5H-35"


@pytest.mark.parametrize("doc_type", WITH_ATCUD)
@pytest.mark.parametrize("code", [None, ""], ids=["none", "empty"])
def test_atcud_of_a_series_not_registered_is_nd(doc_type: str, code: str | None) -> None:
    assert numbering.atcud(BY_KEY[doc_type], code, 1) == "N/D"


@pytest.mark.parametrize("doc_type", WITHOUT_ATCUD)
@pytest.mark.parametrize("code", [None, "CSDF7T5H"], ids=["not-registered", "registered"])
def test_atcud_of_a_type_that_takes_none_is_na(doc_type: str, code: str | None) -> None:
    assert numbering.atcud(BY_KEY[doc_type], code, 1) == "N/A"


@pytest.mark.parametrize(
    ("doc_type", "value", "number", "valid"),
    [
        pytest.param("invoice", "CSDF7T5H-1", 1, True, id="own-number"),
        pytest.param("invoice", "CSDF7T5H-12", 12, True, id="own-number-2-digits"),
        pytest.param("invoice", "N/D", 5, True, id="not-registered"),
        pytest.param("invoice", "CSDF7T5H-2", 1, False, id="another-number"),
        pytest.param("invoice", "CSDF7T5H-11", 1, False, id="number-as-a-suffix-of-another"),
        pytest.param("invoice", "-1", 1, False, id="no-code"),
        pytest.param("invoice", "N/A", 1, False, id="na-for-a-relevant-type"),
        pytest.param("invoice", "CSDF7T5H", 1, False, id="no-number"),
        pytest.param("vat_moss_invoice", "N/A", 3, True, id="moss-na"),
        pytest.param("vat_moss_invoice", "N/D", 3, False, id="moss-nd"),
        pytest.param("vat_moss_invoice", "CSDF7T5H-3", 3, False, id="moss-code"),
    ],
)
def test_atcud_is_valid(doc_type: str, value: str, number: int, valid: bool) -> None:
    assert numbering.atcud_is_valid(BY_KEY[doc_type], value, number) is valid


# -- what a sequence shows as `current_<type>_validation_code` (api-v2 §8.1) ------------------


@pytest.mark.parametrize(
    ("doc_type", "registered", "shown", "needs_registration"),
    [
        pytest.param("invoice", "ABCD1230", "ABCD1230", False, id="invoice-registered"),
        pytest.param("invoice", None, "N/D", True, id="invoice-not-registered"),
        pytest.param("receipt", None, "N/D", True, id="receipt-not-registered"),
        pytest.param("quote", "ABCD1240", "ABCD1240", False, id="quote-registered"),
        pytest.param("fees_note", None, "N/A", False, id="fees-note"),
        pytest.param("purchase_order", None, "N/A", False, id="purchase-order"),
        pytest.param("vat_moss_invoice", None, "N/A", False, id="vat-moss-invoice"),
        pytest.param("vat_moss_receipt", None, "N/A", False, id="vat-moss-receipt"),
    ],
)
def test_validation_code_shown(doc_type: str, registered: str | None, shown: str, needs_registration: bool) -> None:
    sub = SubSequence(id=1, doc_type=doc_type, current_number=0, registered_code=registered)
    assert sub.validation_code == shown
    assert sub.needs_registration is needs_registration


# -- series identifiers (pt-compliance §2.3: [A-Za-z0-9._-]{1,35}) ---------------------------
# test_small_parts.py checks "2025A" and the basic refusals (empty, space, "/", "^", 36 chars).

ACCEPTED = [
    pytest.param("A", id="one-char"),
    pytest.param("x" * 35, id="35-chars"),
    pytest.param("2026", id="year"),
    pytest.param("abcXYZ019", id="letters-digits"),
    pytest.param("A.B", id="dot"),
    pytest.param("A_B", id="underscore"),
    pytest.param("A-B", id="hyphen"),
    pytest.param("-._", id="signs-only"),
]
REFUSED = [
    pytest.param("A" * 36, id="36-chars"),
    pytest.param("Série", id="accented"),
    pytest.param("SÉRIE", id="accented-upper"),
    pytest.param("A\n", id="trailing-newline"),
    pytest.param("\tA", id="tab"),
    pytest.param(" A", id="leading-space"),
    pytest.param("A<B", id="xml-lt"),
    pytest.param("A&B", id="xml-amp"),
    pytest.param('A"B', id="quote"),
    pytest.param("A;B", id="semicolon"),
    pytest.param("A\\B", id="backslash"),
    pytest.param("Ａ", id="fullwidth-letter"),
    pytest.param("٣", id="arabic-digit"),
]


@pytest.mark.parametrize("serie", ACCEPTED)
def test_accepted_series(serie: str) -> None:
    assert validate_serie(serie) == serie


@pytest.mark.parametrize("serie", REFUSED)
def test_refused_series_are_error_001(serie: str) -> None:
    with pytest.raises(DomainError) as refused:
        validate_serie(serie)
    assert type(refused.value) is SequenceNameNotAllowed
    assert (refused.value.code, refused.value.messages) == ("001", ["Sequence name not allowed."])


def test_a_missing_serie_is_error_003() -> None:
    # api-v2 §8.5: a create without a `serie` (the API raises it before validate_serie).
    error = InvalidSequence()
    assert (error.code, error.messages) == ("003", ["Invalid sequence."])
