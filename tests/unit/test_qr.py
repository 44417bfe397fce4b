"""The AT QR payload (domain/qr.py) reproduces AT's examples and the others of
tests/data/qr-examples.json character for character, and refuses what AT's table forbids."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ixserver.domain.qr import MANDATORY, FiscalSpace, QrFields, parse, payload

EXAMPLES = json.loads((Path(__file__).parents[1] / "data" / "qr-examples.json").read_text())


def _pair(found: dict[str, str], letter: str, n: int) -> tuple[Decimal, Decimal] | None:
    base, vat = found.get(f"{letter}{n}"), found.get(f"{letter}{n + 1}")
    return (Decimal(base), Decimal(vat)) if base is not None and vat is not None else None


def _fields_of(text: str) -> QrFields:
    """The example read back into what a document gives the builder."""
    found = dict(parse(text))
    amount = lambda code: Decimal(found[code]) if code in found else None  # noqa: E731
    spaces = tuple(
        FiscalSpace(found[f"{s}1"], amount(f"{s}2"), _pair(found, s, 3), _pair(found, s, 5), _pair(found, s, 7))
        for s in "IJK"
        if f"{s}1" in found
    )
    return QrFields(
        issuer_nif=found["A"], customer_nif=found["B"], customer_country=found["C"], doc_type=found["D"],
        status=found["E"], date=date(int(found["F"][:4]), int(found["F"][4:6]), int(found["F"][6:])), number=found["G"],
        atcud=found["H"], spaces=spaces, taxes=Decimal(found["N"]), total=Decimal(found["O"]), hash4=found["Q"],
        certificate=found["R"], not_subject=amount("L"), stamp_duty=amount("M"), withholding=amount("P"),
        other=found.get("S"),
    )  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES["examples"], ids=[e["source"][:40] for e in EXAMPLES["examples"]])
def test_the_examples_are_reproduced(example: dict) -> None:
    text = example["qr"]
    assert payload(_fields_of(text)) == text
    assert {code for code, _ in parse(text)} >= set(MANDATORY) == set(EXAMPLES["mandatory"])


WORKED = QrFields(
    issuer_nif="123456789", customer_nif="999999990", customer_country="PT", doc_type="FT", status="N",
    date=date(2025, 3, 14), number="FT 2025A/1", atcud="CSDF7T5H-1",
    spaces=(FiscalSpace("PT", reduced=(Decimal("10"), Decimal("0.6")), normal=(Decimal("37.5"), Decimal("8.625"))),),
    taxes=Decimal("9.23"), total=Decimal("56.73"), hash4="FTAb", certificate="9999",
)  # fmt: skip


def test_money_has_two_decimals_and_what_is_zero_is_left_out() -> None:
    assert payload(WORKED) == (
        "A:123456789*B:999999990*C:PT*D:FT*E:N*F:20250314*G:FT 2025A/1*H:CSDF7T5H-1*I1:PT*I3:10.00*I4:0.60"
        "*I7:37.50*I8:8.63*N:9.23*O:56.73*Q:FTAb*R:9999"
    )
    nothing = FiscalSpace("PT", exempt=Decimal(0), normal=(Decimal(0), Decimal(0)))
    zeros = QrFields(**{**WORKED.__dict__, "spaces": (nothing,), "withholding": Decimal(0),
                        "not_subject": Decimal(0)})  # fmt: skip
    assert "I2" not in payload(zeros) and "I7" not in payload(zeros) and "*P:" not in payload(zeros)


@pytest.mark.parametrize(
    "change",
    [
        {"issuer_nif": "1234567890"},  # A: 9 at most
        {"number": "FT " + "9" * 60},  # G: 60 at most
        {"other": "TB;PT50*000"},  # S may not hold the separator
        {"hash4": ""},  # mandatory
        {"spaces": ()},
        {"spaces": (FiscalSpace("PT"),) * 4},
    ],
)
def test_what_the_table_forbids_is_refused(change: dict) -> None:
    with pytest.raises(ValueError):
        payload(QrFields(**{**WORKED.__dict__, **change}))


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES["examples"] if "expected_version" in e], ids=lambda e: str(e["expected_version"])
)
def test_the_symbol_is_level_m_at_version_9_at_least(example: dict) -> None:
    """AT's examples name the version each payload takes (pt-compliance §4.1): 9 at least."""
    from ixserver.render.qr import symbol

    drawn = symbol(example["qr"])
    assert (drawn.version, drawn.error, drawn.mode) == (example["expected_version"], "M", "byte")
