"""`ixserver verify --saft FILE --public-key PEM` (issue 14): AT's demo file passes with AT's sample
public key; a copy with one hash, one total, one number or one field altered fails, naming what
and where. Our own exports are checked in tests/api/test_saft.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ixserver.audit.saft import Report, check
from ixserver.keys import public_key_from_pem
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
    assert len(found) == 1, found
    check_name, where, message = found[0]
    assert (check_name, where) == ("signature", "1T 1/2")
    assert "GrossTotal is not what was signed" in message and "confirmed by 1T 1/3" in message


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


def test_a_line_amount_changed_breaks_the_control_total_only(tmp_path: Path) -> None:
    """A line is not signed: only the control total catches it."""
    content = DEMO.read_bytes()
    first = re.search(rb"<CreditAmount>([0-9.]+)</CreditAmount>", content)
    assert first is not None
    more = str(Decimal(first.group(1).decode()) + 1).encode()
    path = altered(tmp_path, (first.group(0), b"<CreditAmount>" + more + b"</CreditAmount>"))
    found = findings(check(path, keys(), jobs=1))
    assert [f[:2] for f in found] == [("totals", "SalesInvoices")], found


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
    assert all(f.check == "xsd" and "assertion test is false" in f.message and "/Line[" in f.message for f in report.findings)


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
    assert done.stdout.splitlines()[0].startswith("signature\t1T 1/2\t")
    assert done.stdout.splitlines()[-1].startswith("1 findings: 37 documents")
