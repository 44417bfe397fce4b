"""`ixserver verify --saft FILE --public-key PEM` (issue 14): AT's demo file passes with AT's sample
public key; a copy with one hash, one total, one number or one field altered fails, naming what
and where, and so does a copy with one figure that no longer adds up (issue 22: the documents'
arithmetic). Our own exports are checked in tests/api/test_saft.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ixserver.audit.saft import Report, check
from ixserver.signing_key import public_key_from_pem
from tests import saft_edits
from tests.support import data_file

DEMO = data_file("saft_idemo599999999.xml")
PUBLIC_KEY = data_file("at-sample-keys/at-sample-public-key.pem")


def keys() -> list:
    return [public_key_from_pem(PUBLIC_KEY.read_text())]


def altered(tmp_path: Path, *swaps: tuple[bytes, bytes]) -> Path:
    """The demo file with each `old` (found once, the first time) replaced by `new`."""
    content = DEMO.read_bytes()
    for old, new in swaps:
        assert old in content, old
        content = content.replace(old, new, 1)
    path = tmp_path / "altered.xml"
    path.write_bytes(content)
    return path


def findings(report: Report) -> list[tuple[str, str, str]]:
    return [(f.check, f.where, f.message) for f in report.findings]


def ixserver_verify(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "ixserver", "verify", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_demo_file_passes_from_the_command_line() -> None:
    done = ixserver_verify("--saft", str(DEMO), "--public-key", str(PUBLIC_KEY), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["findings"] == [] and report["xsd_errors"] == 0
    assert report["documents"] == {"SalesInvoices": 24, "MovementOfGoods": 7, "WorkingDocuments": 4, "Payments": 2}
    assert report["signatures"] == {"verified": 35, "not_verifiable": []}  # every signed document of the demo
    plain = ixserver_verify("--saft", str(DEMO), "--public-key", str(PUBLIC_KEY))
    assert plain.returncode == 0
    assert plain.stdout.startswith(f"ok: {DEMO}: 37 documents in 18 series, 35 signatures verified")


def test_worker_processes_give_the_same_report() -> None:
    assert check(DEMO, keys(), jobs=2).as_dict() == check(DEMO, keys(), jobs=1).as_dict()


def test_another_key_verifies_nothing(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    report = check(DEMO, [other], jobs=1)
    assert report.signatures_verified == 0
    assert {f.check for f in report.findings} == {"signature"}
    assert len(report.findings) == 35


def test_an_altered_hash_is_named(tmp_path: Path) -> None:
    # 1T 1/3's Hash starts "MqvfiYZO…": one character changed
    path = altered(tmp_path, (b"<Hash>MqvfiYZOh1L1", b"<Hash>MqvfiYZOh1L2"))
    found = findings(check(path, keys(), jobs=1))
    assert found[0][:2] == ("signature", "1T 1/3"), found
    assert "its Hash is not the one signed" in found[0][2] and "1T 1/4" in found[0][2]
    assert found[1][:2] == ("signature", "1T 1/4") and "1T 1/3, which was altered" in found[1][2]
    assert len(found) == 2


def test_an_altered_gross_total_is_named(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<GrossTotal>235.15</GrossTotal>", b"<GrossTotal>253.15</GrossTotal>"))
    found = findings(check(path, keys(), jobs=1))
    assert [f[:2] for f in found] == [("arithmetic", "1T 1/2")] * 2 + [("signature", "1T 1/2")], found
    assert found[0][2] == "GrossTotal says 253.15, NetTotal 195.96 + TaxPayable 39.19 make 235.15"
    assert found[1][2].startswith(
        "CurrencyAmount 317.45 USD × ExchangeRate 0.740747 = 235.15 euros, GrossTotal says 253.15"
    )
    assert "GrossTotal is not what was signed" in found[2][2] and "confirmed by 1T 1/3" in found[2][2]


def test_an_altered_number_is_named(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<InvoiceNo>1T 1/4</InvoiceNo>", b"<InvoiceNo>1T 1/7</InvoiceNo>"))
    found = findings(check(path, keys(), jobs=1))
    assert ("numbering", "1T 1/4", "1T 1: 4 missing (the numbers jump from 3 to 5)") in found, found
    assert [f[1] for f in found if f[0] == "signature"] == ["1T 1/7"]  # it was signed as 1T 1/4


def test_a_repeated_number_is_named(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<InvoiceNo>1T 1/4</InvoiceNo>", b"<InvoiceNo>1T 1/3</InvoiceNo>"))
    found = findings(check(path, keys(), jobs=1))
    assert ("numbering", "1T 1/3", "1T 1/3 appears more than once") in found, found  # the schema's xs:unique too
    assert ("numbering", "1T 1/4", "1T 1: 4 missing (the numbers jump from 3 to 5)") in found


def test_an_altered_control_total_is_named(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<TotalCredit>14918.709</TotalCredit>", b"<TotalCredit>14981.709</TotalCredit>"))
    found = findings(check(path, keys(), jobs=1))
    assert found == [
        (
            "totals",
            "SalesInvoices",
            "TotalCredit says 14981.709, the documents make 14918.709 (documents with status A and F left out of sums)",
        )
    ]
    # a total rounded to its cents is the sum, as AT's demo gives TotalQuantityIssued
    rounded = altered(tmp_path, (b"<TotalCredit>14918.709</TotalCredit>", b"<TotalCredit>14918.71</TotalCredit>"))
    assert check(rounded, keys(), jobs=1).ok


DEMO_EDITS = [
    (
        saft_edits.line_amount,
        [
            ("arithmetic", "1T 1/1", "line 1: UnitPrice 4.6788 × Quantity 5 = 23.3940, its CreditAmount says 24.3938"),
            ("arithmetic", "1T 1/1", "NetTotal says 23.39, its lines make 24.39 (credit − debit, to the cent)"),
            ("arithmetic", "1T 1/1", "TaxPayable says 4.68, its lines' taxes make 4.88 (20% of 24.3938)"),
            ("totals", "SalesInvoices", "TotalCredit says 14918.709, the documents make 14919.709"),
        ],
    ),
    (  # a canceled invoice's figures are checked, though out of the control totals
        saft_edits.canceled_line_amount,
        [
            (
                "arithmetic",
                "1T 1/5",
                "line 1: UnitPrice 4.6788 × Quantity 35.269 = 165.0165972, its CreditAmount says 166.0166",
            ),
            ("arithmetic", "1T 1/5", "NetTotal says 165.02, its lines make 166.02 (credit − debit, to the cent)"),
            ("arithmetic", "1T 1/5", "TaxPayable says 33, its lines' taxes make 33.20 (20% of 166.0166)"),
        ],
    ),
    (  # 2017: before the rates known here, so only the arithmetic says it
        saft_edits.vat_rate,
        [("arithmetic", "1T 1/1", "TaxPayable says 4.68, its lines' taxes make 2.34 (10% of 23.3938)")],
    ),
    (
        saft_edits.payment_amount,
        [
            (
                "arithmetic",
                "PGT 1T1/1",
                "PaymentMethod/PaymentAmount adds up to 7001, GrossTotal 7000.00 − withholding 0 make 7000.00",
            )
        ],
    ),
    (
        saft_edits.invoice_receipt_payment,
        [
            (
                "arithmetic",
                "1TR R/1",
                "Payment/PaymentAmount adds up to 121.00, GrossTotal 120.00 − withholding 0 make 120.00",
            )
        ],
    ),
    (
        saft_edits.guide_quantity,
        [
            ("arithmetic", "1G 5A/1", "line 1: UnitPrice 0.359 × Quantity 151 = 54.209, its CreditAmount says 53.85"),
            ("totals", "MovementOfGoods", "TotalQuantityIssued says 3295.92, the documents make 3296.922006"),
        ],
    ),
    (
        saft_edits.guide_quantity_and_total,
        [("arithmetic", "1G 5A/1", "line 1: UnitPrice 0.359 × Quantity 151 = 54.209, its CreditAmount says 53.85")],
    ),
    (
        saft_edits.exchange_rate,
        [
            (
                "arithmetic",
                "1T 1/2",
                "CurrencyAmount 317.45 USD × ExchangeRate 1.349989 = 428.55 euros, GrossTotal says 235.15"
                " (ExchangeRate is euros per unit)",
            )
        ],
    ),
    (
        saft_edits.net_tax_shift,
        [
            ("arithmetic", "1T 1/1", "NetTotal says 24.39, its lines make 23.39 (credit − debit, to the cent)"),
            ("arithmetic", "1T 1/1", "TaxPayable says 3.68, its lines' taxes make 4.68 (20% of 23.3938)"),
        ],
    ),
    (
        saft_edits.gross_total,
        [("arithmetic", "1T 1/1", "GrossTotal says 29.07, NetTotal 23.39 + TaxPayable 4.68 make 28.07")],
    ),
]


@pytest.mark.parametrize(("edit", "expected"), DEMO_EDITS, ids=[edit.__name__ for edit, _ in DEMO_EDITS])
def test_a_figure_that_does_not_add_up_is_named(
    tmp_path: Path, edit: saft_edits.Edit, expected: list[tuple[str, str, str]]
) -> None:
    """One figure of the demo altered: the document's arithmetic names it (whatever the
    signatures say: an altered GrossTotal is not what was signed either)."""
    path = tmp_path / "edited.xml"
    saft_edits.edited(DEMO, path, edit)
    found = saft_edits.besides_signatures(check(path, keys(), jobs=1))
    assert saft_edits.matches(found, expected), found


def test_every_document_of_the_demo_adds_up() -> None:
    """The positive control of the arithmetic: AT's demo file has every kind of figure (a price
    after discount, 4.6788 × 38.471403 = 180.00; VAT at 20 %, 5 % and 0 %; stamp duty on a TaxBase;
    a credit note's debits; USD at 0.740747 euros; receipts with withholding; invoice-receipts
    paid in two ways), and none is a finding."""
    content = DEMO.read_bytes()
    for feature in (b"<TaxBase>", b"<DebitAmount>", b"<ExchangeRate>", b"<WithholdingTaxAmount>", b"<TaxType>IS<"):
        assert feature in content
    assert check(DEMO, keys(), jobs=1).findings == []


def test_a_schema_error_names_the_document(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<InvoiceType>ND</InvoiceType>", b"<InvoiceType>XX</InvoiceType>"))
    report = check(path, keys(), jobs=1)
    assert report.xsd_errors == 1
    assert findings(report)[0][:2] == ("xsd", "1N 8/00001") and "InvoiceType" in findings(report)[0][2]


def test_a_failed_assert_of_the_schema_is_named(tmp_path: Path) -> None:
    """The XSD 1.1 asserts count, and give the errors xmlschema gives for the whole file."""
    import xmlschema

    from ixserver.audit.schema import XSD_PATH

    content = DEMO.read_bytes()
    reason = re.search(rb"\s*<TaxExemptionReason>[^<]*</TaxExemptionReason>", content)
    assert reason is not None
    path = altered(tmp_path, (reason.group(0), b""))
    report = check(path, keys(), jobs=1)
    whole = list(xmlschema.XMLSchema11(str(XSD_PATH)).iter_errors(str(path)))
    assert report.xsd_errors == len(whole) == 2  # the line's TaxPercentage is 0, and its code has no reason
    assert all(
        f.check == "xsd" and "assertion test is false" in f.message and "/Line[" in f.message for f in report.findings
    )


def test_an_unknown_customer_is_named(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<InvoiceNo>1T 1/2</InvoiceNo>", b"<InvoiceNo>1T 1/2</InvoiceNo>"))
    content = path.read_bytes()
    start = content.index(b"<InvoiceNo>1T 1/2</InvoiceNo>")
    customer = re.compile(rb"<CustomerID>[^<]*</CustomerID>").search(content, start)
    assert customer is not None
    path.write_bytes(content[: customer.start()] + b"<CustomerID>NOBODY</CustomerID>" + content[customer.end() :])
    found = findings(check(path, keys(), jobs=1))
    assert ("references", "1T 1/2", "CustomerID 'NOBODY' is not in MasterFiles") in found


def test_files_that_are_not_saft(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(DEMO.read_bytes()[:5000])
    assert findings(check(broken, keys(), jobs=1))[0][:2] == ("xml", "file")
    other = tmp_path / "other.xml"
    other.write_text("<?xml version='1.0'?><invoices><invoice/></invoices>")
    assert [f.check for f in check(other, keys(), jobs=1).findings] == ["xsd"]


@pytest.mark.parametrize("args", [("--public-key", str(PUBLIC_KEY)), ("--saft", str(DEMO))])
def test_the_command_needs_a_file_and_a_key(args: tuple[str, ...]) -> None:
    done = ixserver_verify("--saft", "/nonexistent.xml", *args) if args[0] == "--public-key" else ixserver_verify(*args)
    assert done.returncode == 2
    assert "no such file" in done.stderr or "--public-key" in done.stderr


def test_a_findings_report_exits_1(tmp_path: Path) -> None:
    path = altered(tmp_path, (b"<GrossTotal>235.15</GrossTotal>", b"<GrossTotal>253.15</GrossTotal>"))
    done = ixserver_verify("--saft", str(path), "--public-key", str(PUBLIC_KEY))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith("arithmetic\t1T 1/2\tGrossTotal says 253.15")
    assert done.stdout.splitlines()[2].startswith("signature\t1T 1/2\t")
    assert done.stdout.splitlines()[-1].startswith("3 findings: 37 documents")
