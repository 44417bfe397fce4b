"""What AT and an auditor read of issued documents (issue 22): the issuer as it was when a
document was issued, VAT MOSS as AT's foreign-VAT example, AT's final consumer, invoice-receipts
with their payment, the program's producer, and stored text that XML cannot carry."""

from __future__ import annotations

import io
from pathlib import Path

from lxml import etree
from sqlalchemy import text

from ixserver import clock
from ixserver.services.saft import export
from tests.api.invoicing import IDENTITY, issue, vat_moss
from tests.api.test_pdf import download, text_of
from tests.api.test_qr_codes import qr_fields
from tests.api.test_saft import NS, exported, schema
from tests.support import Api, LiveServer


def _account_id(server: LiveServer, api: Api) -> int:
    with server.db.read() as conn:
        return int(conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one())


def _page(api: Api, document: dict) -> str:
    return api.http.get("/documents/" + document["permalink"].rsplit("/", 1)[1]).text


def test_a_document_keeps_its_issuer_as_it_was_when_issued(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """Despacho 8632/2014 §2.2.15: a reprint shows the data of the issue. After the account's
    name and address change, the old invoice's PDF, page and SAF-T header still show the old
    ones; a new invoice shows the new."""
    account_id = _account_id(server, api)
    before = {**IDENTITY, "organization_name": "Antiga Firma, Lda", "address": "Rua Velha 9"}
    assert api.put(f"/api/accounts/{account_id}/update.json", json={"account": before}).status_code == 200
    old = issue(api)
    after = {**IDENTITY, "organization_name": "Nova Firma, Lda", "address": "Avenida Nova 1"}
    assert api.put(f"/api/accounts/{account_id}/update.json", json={"account": after}).status_code == 200
    new = issue(api)
    old_pdf, new_pdf = text_of(download(api, old["id"]), tmp_path), text_of(download(api, new["id"]), tmp_path)
    assert "Antiga Firma, Lda" in old_pdf and "Rua Velha 9" in old_pdf and "Nova Firma" not in old_pdf
    assert "Nova Firma, Lda" in new_pdf and "Avenida Nova 1" in new_pdf
    assert "Antiga Firma, Lda" in _page(api, old) and "Nova Firma, Lda" in _page(api, new)
    with server.db.transaction() as conn:  # a later document's issuer names the file's company
        conn.execute(text("UPDATE documents SET date = date WHERE id = :i"), {"i": new["id"]})
    header = etree.fromstring(exported(server, api)).find("s:Header", NS)
    assert header.findtext("s:CompanyName", namespaces=NS) == "Nova Firma, Lda"
    assert header.findtext("s:CompanyAddress/s:AddressDetail", namespaces=NS) == "Avenida Nova 1"


def test_vat_moss_is_read_as_ats_foreign_vat_example(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """AT's example of another country's VAT: `I1:FR*I7:100.00*I8:20.00`, no field L; SAF-T says
    France's standard rate is its normal rate (NOR), and a VAT MOSS document has no ATCUD (0)."""
    invoice = issue(api, "vat_moss_invoice", **vat_moss(api))
    fields = qr_fields(api, invoice["id"], tmp_path)
    assert (fields["I1"], fields["I7"], fields["I8"], fields["N"], fields["O"]) == (
        "FR",
        "10.00",
        "2.00",
        "2.00",
        "12.00",
    )
    assert "L" not in fields and fields["H"] == "0"
    root = etree.fromstring(exported(server, api))
    tax = root.find(".//s:Invoice/s:Line/s:Tax", NS)
    assert (tax.findtext("s:TaxCountryRegion", namespaces=NS), tax.findtext("s:TaxCode", namespaces=NS)) == (
        "FR",
        "NOR",
    )
    entry = root.find(".//s:TaxTable/s:TaxTableEntry[s:TaxCountryRegion='FR']", NS)
    assert entry.findtext("s:TaxCode", namespaces=NS) == "NOR"


def test_a_client_without_a_nif_is_ats_final_consumer(server: LiveServer, api: Api) -> None:
    issue(api, client={"name": "Maria Silva", "code": "MS", "address": "Rua 1", "city": "Faro"})
    issue(api, client={"name": "João Sousa", "code": "JS"})
    root = etree.fromstring(exported(server, api))
    customers = root.findall(".//s:MasterFiles/s:Customer", NS)
    assert len(customers) == 1
    found = {child.tag.split("}")[1]: child.text for child in customers[0].iter() if child.text and child.text.strip()}
    assert (found["CustomerID"], found["CustomerTaxID"], found["CompanyName"]) == (
        "CF",
        "999999990",
        "Consumidor final",
    )
    assert (found["AddressDetail"], found["City"], found["Country"]) == ("Desconhecido", "Desconhecido", "Desconhecido")
    assert {e.text for e in root.findall(".//s:Invoice/s:CustomerID", NS)} == {"CF"}


def test_an_invoice_receipt_carries_its_payment(server: LiveServer, api: Api) -> None:
    receipt = issue(api, "invoice_receipt", retention="10")
    record = etree.fromstring(exported(server, api)).find(".//s:Invoice[s:InvoiceType='FR']", NS)
    payment = record.find("s:DocumentTotals/s:Payment", NS)
    gross = record.findtext("s:DocumentTotals/s:GrossTotal", namespaces=NS)
    withheld = record.findtext("s:WithholdingTax/s:WithholdingTaxAmount", namespaces=NS)
    assert payment.findtext("s:PaymentMechanism", namespaces=NS) == "OU"
    assert payment.findtext("s:PaymentAmount", namespaces=NS) == f"{float(gross) - float(withheld):.2f}"
    assert payment.findtext("s:PaymentDate", namespaces=NS) == clock.today().isoformat()
    assert receipt["total"] == float(gross)


def test_the_programs_producer_and_certificate_come_from_the_settings(server: LiveServer, api: Api) -> None:
    issue(api)
    header = etree.fromstring(exported(server, api)).find("s:Header", NS)
    assert header.findtext("s:ProductCompanyTaxID", namespaces=NS) == "999999990", "not the issuer's NIF"
    assert header.findtext("s:SoftwareCertificateNumber", namespaces=NS) == "0"
    out = io.BytesIO()
    with server.db.read() as conn:
        export(conn, api.name, clock.today(), clock.today(), out, certificate=1234, producer_tax_id="508025338")
    header = etree.fromstring(out.getvalue()).find("s:Header", NS)
    assert header.findtext("s:ProductCompanyTaxID", namespaces=NS) == "508025338"
    assert header.findtext("s:SoftwareCertificateNumber", namespaces=NS) == "1234"


def test_text_xml_cannot_carry_never_stops_an_export(server: LiveServer, api: Api) -> None:
    """A document stored with a control character (before the API refused them) is exported
    without it, and the file validates."""
    document = issue(api, client={"name": "Cliente", "code": "CC1", "fiscal_id": "508025338", "city": "Lisboa"})
    with server.db.transaction() as conn:
        conn.execute(text("UPDATE documents SET client = replace(client, 'Cliente', :n) WHERE id = :i"),
                     {"n": "Cli\\u0001ente", "i": document["id"]})  # as JSON keeps it  # fmt: skip
        conn.execute(text("UPDATE document_lines SET description = :d WHERE document_id = :i"),
                     {"d": "Lápis\u001b azul", "i": document["id"]})  # fmt: skip
    try:
        content = exported(server, api)
    finally:  # as it was: the session's other tests verify every account
        with server.db.transaction() as conn:
            conn.execute(text("UPDATE documents SET client = replace(client, :n, 'Cliente') WHERE id = :i"),
                         {"n": "Cli\\u0001ente", "i": document["id"]})  # fmt: skip
            conn.execute(text("UPDATE document_lines SET description = :d WHERE document_id = :i"),
                         {"d": document["items"][0]["description"], "i": document["id"]})  # fmt: skip
    assert [str(e) for e in schema().iter_errors(io.BytesIO(content))] == []
    root = etree.fromstring(content)
    assert root.findtext(".//s:Customer/s:CompanyName", namespaces=NS) == "Cliente"
    assert root.findtext(".//s:Invoice/s:Line/s:Description", namespaces=NS) == "Lápis azul"
    with server.db.read() as conn:
        from ixserver.services.verify import verify

        assert verify(conn, server.resources.seal_key, api.name) == []
