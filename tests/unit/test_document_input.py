"""What a document request's parse keeps: the fields the rules read, and which of them it carried."""

from __future__ import annotations

from ixserver.api.documents import parse_document
from ixserver.domain.doctypes import BY_KEY


def test_given_names_only_the_fields_the_rules_read() -> None:
    body = {"invoice": {"date": "01/12/2026", "reference": "R1", **{f"k{i}": i for i in range(1000)}}}
    parsed = parse_document(body, BY_KEY["invoice"])
    assert parsed.given == {"date", "reference"}


def test_an_exemption_reason_counts_as_the_exemption_given() -> None:
    parsed = parse_document({"invoice": {"tax_exemption_reason": "M07"}}, BY_KEY["invoice"])
    assert "tax_exemption" in parsed.given and parsed.tax_exemption == "M07"


def test_a_transport_field_counts_as_the_transport_given() -> None:
    parsed = parse_document({"shipping": {"license_plate": "AA-00-BB"}}, BY_KEY["shipping"])
    assert "transport" in parsed.given
    assert "transport" not in parse_document({"shipping": {"reference": "x"}}, BY_KEY["shipping"]).given
