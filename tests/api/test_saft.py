"""The SAF-T (PT) export (issue 14, first part): a period holding every document type and state
validates against AT's XSD (XSD 1.1, xmlschema) with 0 errors, and its control totals are the sums
pt-compliance §5.3 says; `ixserver saft export` writes the same file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from ixserver import clock
from ixserver.audit.saft import check
from ixserver.audit.schema import XSD_PATH
from ixserver.services.saft import export
from ixserver.signing_key import public_key_from_pem
from tests import saft_edits
from tests.api.invoicing import change, create, credit_note_for, finalize, issue, vat_moss
from tests.support import TEST_SECRET_KEY, Api, LiveServer, data_file

PUBLIC_KEY = data_file("at-sample-keys/at-sample-public-key.pem")  # the test servers sign with AT's sample key
NS = {"s": "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"}
CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338", "address": "Rua do Sol 1",
          "city": "Lisboa", "postal_code": "1000-001"}  # fmt: skip
LINES = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "12.50", "quantity": "3", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA6"}},
    {
        "name": "Export",
        "description": "Serviço isento",
        "unit_price": "5",
        "quantity": "1",
        "unit": "service",
        "tax": {"name": "IVA0"},
    },
]


@lru_cache(maxsize=1)
def schema() -> xmlschema.XMLSchema11:
    return xmlschema.XMLSchema11(str(XSD_PATH))  # all of it at once: the reference the auditor's parts must agree with


def activity(api: Api) -> None:
    """Every type and state an account's month can hold."""
    invoice = issue(api, client=CLIENT, items=LINES, tax_exemption="M05", retention="10")
    issue(api, "invoice_receipt", client=CLIENT, items=LINES[:2])
    issue(api, "simplified_invoice", items=LINES[:1])
    canceled = issue(api, client=CLIENT, items=LINES[:1])
    change(api, "invoice", canceled["id"], "canceled", "Wrong client")
    finalize(api, "credit_note", credit_note_for(api, invoice, "10")["id"])
    debit = create(api, "debit_note", owner_invoice_id=invoice["id"], client={"name": CLIENT["name"], "code": "SOL"},
                   items=LINES[:1])  # fmt: skip
    finalize(api, "debit_note", debit["id"])
    issue(api, client=CLIENT, items=LINES[:1], currency_code="USD", rate="1.1")
    moss = issue(api, "vat_moss_invoice", **vat_moss(api))
    moss_paid = api.post(
        f"/documents/{moss['id']}/partial_payments.json",
        json={"partial_payment": {"amount": "5", "payment_mechanism": "MB"}},
    )
    assert moss_paid.status_code == 200, moss_paid.text  # a VAT MOSS receipt: no ATCUD ("N/A", 0 in SAF-T)
    paid = api.post(
        f"/documents/{invoice['id']}/partial_payments.json",
        json={"partial_payment": {"amount": "20", "payment_mechanism": "MB"}},
    )
    api.put(
        f"/receipts/{paid.json()['receipt']['id']}/change-state.json",
        json={"receipt": {"state": "canceled", "message": "x"}},
    )
    api.post(
        f"/documents/{invoice['id']}/partial_payments.json",
        json={"partial_payment": {"amount": "30", "payment_mechanism": "TB"}},
    )
    quote = finalize(api, "quote", create(api, "quote", client=CLIENT, items=LINES, tax_exemption="M05")["id"])
    change(api, "quote", quote["id"], "accepted")
    proforma = finalize(api, "proforma", create(api, "proforma", client=CLIENT, items=LINES[:1])["id"])
    change(api, "proforma", proforma["id"], "canceled", "No longer")
    start = (clock.local_now() + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M:%S")
    place = {"detail": "Rua 5", "city": "Lisboa", "postal_code": "1000-555", "country": "Portugal"}
    for doc_type in ("shipping", "transport"):
        guide = finalize(api, doc_type, create(api, doc_type, client=CLIENT, items=LINES[:1], loaded_at=start,
                                               address_from=place, address_to=place)["id"])  # fmt: skip
    change(api, "transport", guide["id"], "canceled", "Not sent")
    finalize(api, "fees_note", create(api, "fees_note", client=CLIENT, items=LINES[:1])["id"])  # not in SAF-T


def exported(server: LiveServer, api: Api) -> bytes:
    out = io.BytesIO()
    today = clock.today()
    with server.db.read() as conn:
        export(conn, api.name, today.replace(day=1), today, out, certificate=0)
    return out.getvalue()


def test_a_month_with_every_type_validates_and_adds_up(server: LiveServer, api: Api, tmp_path: Path) -> None:
    activity(api)
    content = exported(server, api)
    errors = [str(e) for e in schema().iter_errors(io.BytesIO(content))]
    assert errors == [], "\n".join(errors[:5])
    root = etree.fromstring(content)

    def amounts(path: str) -> Decimal:
        return sum((Decimal(e.text) for e in root.xpath(path, namespaces=NS)), Decimal(0))

    sales = root.find("s:SourceDocuments/s:SalesInvoices", NS)
    invoices = sales.findall("s:Invoice", NS)
    assert int(sales.findtext("s:NumberOfEntries", namespaces=NS)) == len(invoices) == 8
    live = "s:Invoice[s:DocumentStatus/s:InvoiceStatus != 'A']"
    assert Decimal(sales.findtext("s:TotalCredit", namespaces=NS)) == amounts(
        f"//s:SalesInvoices/{live}/s:Line/s:CreditAmount"
    ).quantize(Decimal("0.01"))
    assert Decimal(sales.findtext("s:TotalDebit", namespaces=NS)) == amounts(
        f"//s:SalesInvoices/{live}/s:Line/s:DebitAmount"
    ).quantize(Decimal("0.01"))
    assert {i.findtext("s:InvoiceType", namespaces=NS) for i in invoices} == {"FT", "FR", "FS", "NC", "ND"}
    assert len(root.xpath("//s:Invoice[s:InvoiceType='NC']/s:Line/s:References/s:Reference", namespaces=NS)) == 1
    payments = root.find("s:SourceDocuments/s:Payments", NS)
    assert int(payments.findtext("s:NumberOfEntries", namespaces=NS)) == 3
    assert sorted(
        p.findtext("s:DocumentStatus/s:PaymentStatus", namespaces=NS) for p in payments.findall("s:Payment", NS)
    ) == ["A", "N", "N"]
    assert root.xpath("//s:Payment[s:ATCUD='0']/s:Line/s:SourceDocumentID/s:OriginatingON/text()", namespaces=NS) == [
        root.xpath("//s:Invoice[s:Line/s:Tax/s:TaxCountryRegion='FR']/s:InvoiceNo/text()", namespaces=NS)[0]
    ], "the VAT MOSS receipt pays the VAT MOSS invoice"
    assert root.xpath("//s:Payment/s:Hash", namespaces=NS) == [], "receipts are not signed"
    working = root.find("s:SourceDocuments/s:WorkingDocuments", NS)
    assert sorted(w.findtext("s:WorkType", namespaces=NS) for w in working.findall("s:WorkDocument", NS)) == [
        "OR",
        "PF",
    ]
    goods = root.find("s:SourceDocuments/s:MovementOfGoods", NS)
    assert int(goods.findtext("s:NumberOfMovementLines", namespaces=NS)) == 2
    assert Decimal(goods.findtext("s:TotalQuantityIssued", namespaces=NS)) == 3, "the canceled guide's 3 are not issued"
    assert len(root.xpath("//s:StockMovement/s:ATDocCodeID", namespaces=NS)) == 2
    used = {e.text for e in root.xpath("//s:SourceDocuments//s:CustomerID", namespaces=NS)}
    assert used == {e.text for e in root.xpath("//s:MasterFiles/s:Customer/s:CustomerID", namespaces=NS)}
    assert root.xpath("//s:Line[number(s:Tax/s:TaxPercentage)=0]/s:TaxExemptionCode/text()", namespaces=NS)[:1] == [
        "M05"
    ]
    # and the auditor of `ixserver verify --saft` finds nothing wrong: every signature verifies and chains
    path = tmp_path / "month.xml"
    path.write_bytes(content)
    report = check(path, [public_key_from_pem(PUBLIC_KEY.read_text())], jobs=1)
    assert report.findings == [] and report.not_verifiable == [] and report.atcud_not_verifiable == []
    assert report.signatures_verified == len(root.xpath("//s:Hash", namespaces=NS)) == 12


# What an auditor may alter in the month's export, and what `verify --saft` must say of it besides
# the signatures (the altered document is not re-signed); "" is the document altered.
EDITS: list[tuple[saft_edits.Edit, list[tuple[str, str, str]]]] = [
    (
        saft_edits.line_amount,
        [
            ("arithmetic", "", "line 1: UnitPrice "),
            ("arithmetic", "", "NetTotal says "),
            ("arithmetic", "", "TaxPayable says "),
            ("totals", "SalesInvoices", "Total"),
        ],
    ),
    (
        saft_edits.canceled_line_amount,
        [
            ("arithmetic", "", "line 1: UnitPrice 12.5 × Quantity 3.0 = 37.50, its CreditAmount says 38.5"),
            ("arithmetic", "", "NetTotal says 37.50, its lines make 38.50"),
            ("arithmetic", "", "TaxPayable says 8.63, its lines' taxes make 8.86 (23% of 38.5)"),
        ],
    ),
    (
        saft_edits.vat_rate,
        [("rates", "", "line 1: TaxCode NOR is 23% in PT on "), ("arithmetic", "", "TaxPayable says ")],
    ),
    (saft_edits.payment_amount, [("arithmetic", "", "PaymentMethod/PaymentAmount adds up to ")]),
    (
        saft_edits.invoice_receipt_payment,
        [("arithmetic", "", "Payment/PaymentAmount adds up to 57.73, GrossTotal 56.73")],
    ),
    (
        saft_edits.guide_quantity,
        [
            ("arithmetic", "", "line 1: UnitPrice 12.5 × Quantity 4.0 = 50.00, its CreditAmount says 37.5"),
            ("totals", "MovementOfGoods", "TotalQuantityIssued says 3.0, the documents make 4"),
        ],
    ),
    (
        saft_edits.guide_quantity_and_total,
        [("arithmetic", "", "line 1: UnitPrice 12.5 × Quantity 4.0 = 50.00, its CreditAmount says 37.5")],
    ),
    (saft_edits.exchange_rate, [("arithmetic", "", "CurrencyAmount 46.13 USD × ExchangeRate 1.100")]),
    (saft_edits.net_tax_shift, [("arithmetic", "", "NetTotal says "), ("arithmetic", "", "TaxPayable says ")]),
    (saft_edits.gross_total, [("arithmetic", "", "GrossTotal says ")]),
]


def test_what_does_not_add_up_in_an_export_is_named(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """The month's export, one figure altered at a time: each is found, in the document altered."""
    activity(api)
    content = exported(server, api)
    keys = [public_key_from_pem(PUBLIC_KEY.read_text())]
    for edit, expected in EDITS:
        path = tmp_path / f"{edit.__name__}.xml"
        altered = saft_edits.edited(content, path, edit)
        found = saft_edits.besides_signatures(check(path, keys, jobs=1))
        assert saft_edits.matches(found, expected, altered), (edit.__name__, altered, found)


def test_a_receipt_without_atcud_pays_vat_moss_documents(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """A VAT MOSS receipt has ATCUD 0 (InvoiceXpress: "N/A") and no tax in its line: it is under
    VAT OSS when what it pays is, and the month's file passes (the first test). Made to pay another
    invoice of the file, it is a finding; made to pay one not in the file, it cannot be told."""
    activity(api)
    content = exported(server, api)
    keys = [public_key_from_pem(PUBLIC_KEY.read_text())]

    def paying(number: str | None) -> saft_edits.Edit:
        """The VAT MOSS receipt (ATCUD 0) made to pay `number`, or the file's first invoice in Portugal."""

        def edit(root: etree._Element) -> str:
            paid = saft_edits.first(root, "//s:Payment[s:ATCUD='0']/s:Line/s:SourceDocumentID/s:OriginatingON")
            portugal = "//s:Invoice[s:Line/s:Tax/s:TaxCountryRegion='PT']/s:InvoiceNo"
            paid.text = number or saft_edits.first(root, portugal).text
            return saft_edits.number_of(paid)

        return edit

    # a receipt with ATCUD 0 paying a document of the file that has an ATCUD: a finding
    receipt = saft_edits.edited(content, tmp_path / "pt.xml", paying(None))
    report = check(tmp_path / "pt.xml", keys, jobs=1)
    assert [(f.check, f.where) for f in report.findings] == [("atcud", receipt)], report.findings
    # paying a document not in the file (a VAT MOSS invoice of last month?): not known, so noted
    saft_edits.edited(content, tmp_path / "before.xml", paying("FVM 2001/9"))
    report = check(tmp_path / "before.xml", keys, jobs=1)
    assert report.findings == [] and report.atcud_not_verifiable == [receipt]


def test_a_file_that_starts_mid_series_verifies(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """The first document of the period chains to one before it: not verifiable from the file
    alone, which the report says; the rest verify."""
    yesterday = clock.today() - timedelta(days=1)
    issue(api, client=CLIENT, items=LINES[:1], date=yesterday.strftime("%d/%m/%Y"))
    second = issue(api, client=CLIENT, items=LINES[:1])
    issue(api, client=CLIENT, items=LINES[:1])
    path = tmp_path / "today.xml"
    with server.db.read() as conn, open(path, "wb") as out:
        export(conn, api.name, clock.today(), clock.today(), out, certificate=0)
    report = check(path, [public_key_from_pem(PUBLIC_KEY.read_text())], jobs=1)
    assert report.ok, report.findings
    assert report.not_verifiable == [f"FT {second['inverted_sequence_number']}"] and report.signatures_verified == 1


def test_the_command_writes_the_file(server: LiveServer, api: Api, tmp_path: Path) -> None:
    issue(api, client=CLIENT, items=LINES[:1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=server.settings.resolved_database_url, IXSERVER_DATA_DIR=str(tmp_path),
               IXSERVER_SECRET_KEY=TEST_SECRET_KEY, IXSERVER_SANDBOX="1")  # the database's mode  # fmt: skip
    today = clock.today()
    target = tmp_path / "saft.xml"
    done = subprocess.run(
        [sys.executable, "-m", "ixserver", "saft", "export", "--account", api.name,
         "--from", today.replace(day=1).isoformat(), "--to", today.isoformat(), "-o", str(target)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{target}: 1 documents"
    assert list(schema().iter_errors(str(target))) == []
    verified = subprocess.run(
        [sys.executable, "-m", "ixserver", "verify", "--saft", str(target), "--public-key", str(PUBLIC_KEY)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0 and verified.stdout.startswith(f"ok: {target}: 1 documents"), verified.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "ixserver", "saft", "export", "--account", "nobody",
         "--from", "2026-01-01", "--to", "2026-01-31", "-o", str(tmp_path / "x.xml")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1 and not (tmp_path / "x.xml").exists()


@pytest.mark.parametrize("first, last", [("2026-02-01", "2026-01-01")])
def test_a_period_that_ends_before_it_starts_is_refused(server: LiveServer, api: Api, first: str, last: str) -> None:
    from datetime import date

    from ixserver.domain.errors import ValidationFailed

    with server.db.read() as conn, pytest.raises(ValidationFailed):
        export(conn, api.name, date.fromisoformat(first), date.fromisoformat(last), io.BytesIO(), certificate=0)


def test_the_api_makes_the_months_file_with_a_job(api: Api, tmp_path: Path) -> None:
    import time

    import httpx

    invoice = issue(api, client=CLIENT, items=LINES[:1])
    today = clock.today()
    params = {"month": today.month, "year": today.year}

    def ask(**query: object) -> httpx.Response:
        return api.get("/api/export_saft.json", params=query or params)

    def until_ready() -> dict:
        for _ in range(400):
            answer = ask()
            if answer.status_code == 200:
                return dict(answer.json())
            assert (answer.status_code, answer.json()) == (
                202,
                {
                    "message": (
                        "The SAF-T file generation was started. Please keep requesting until you get back the url."
                    )
                },
            )
            time.sleep(0.05)
        raise AssertionError("the file was never made")

    first = until_ready()
    assert first["url"] == first["Url"] and first["url"].endswith(".xml")
    file = httpx.get(first["url"].replace("http://127.0.0.1", api.base_url))  # no key: the address is the secret
    assert file.status_code == 200 and 'filename="SAFT_' in file.headers["content-disposition"]
    assert list(schema().iter_errors(io.BytesIO(file.content))) == []
    assert len(etree.fromstring(file.content).findall(".//s:Invoice", NS)) == 1
    downloaded = tmp_path / "api.xml"
    downloaded.write_bytes(file.content)
    assert check(downloaded, [public_key_from_pem(PUBLIC_KEY.read_text())], jobs=1).ok
    assert ask().json() == first, "nothing changed: the same file"
    change(api, "invoice", invoice["id"], "canceled", "wrong")
    again = until_ready()
    assert again["url"] != first["url"], "a document of the month changed: a new file"
    assert "InvoiceStatus>A<" in httpx.get(again["url"].replace("http://127.0.0.1", api.base_url)).text
    assert api.get("/api/export_saft.json", params={"month": today.month, "years": today.year}).status_code == 200
    empty = ask(month=1, year=2001)
    assert (empty.status_code, empty.json()) == (
        422,
        {"message": "There aren't any documents to export on the selected period."},
    )
    bad = ask(month=13, year=2026)
    assert bad.status_code == 422 and "month" in bad.json()["message"]
    assert httpx.get(f"{api.base_url}/saft/{'0' * 40}.xml").status_code == 404
