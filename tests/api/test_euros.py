"""Documents in another currency, read as AT reads them (issue 22 item 1): the QR code and the
SAF-T record in euros, by one rule for the whole document (domain/euros.py), so that an
independent reader of the file finds NetTotal + TaxPayable = GrossTotal and CurrencyAmount ×
ExchangeRate = GrossTotal, and the QR code's figures are the SAF-T record's."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from lxml import etree

from ixserver.audit.saft import Finding, check
from ixserver.domain.money import to_cents
from ixserver.signing_key import public_key_from_pem
from tests.api.invoicing import create, finalize, issue
from tests.api.test_qr_codes import qr_fields
from tests.api.test_saft import CLIENT, NS, PUBLIC_KEY, exported
from tests.support import Api, LiveServer

LINES = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "12.35", "quantity": "3", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "10.07", "quantity": "7", "tax": {"name": "IVA6"}},
    {"name": "Caneta", "description": "Azul", "unit_price": "1.01", "quantity": "1", "tax": {"name": "IVA23"}},
]
USD = {"currency_code": "USD", "rate": "1.1"}


def _record(root: etree._Element, number: str) -> etree._Element:
    found = root.xpath(
        "//s:Invoice[s:InvoiceNo=$n] | //s:WorkDocument[s:DocumentNumber=$n] | //s:Payment[s:PaymentRefNo=$n]",
        namespaces=NS,
        n=number,
    )
    assert len(found) == 1, number
    return found[0]


def audited(content: bytes, tmp_path: Path) -> list[Finding]:
    """What `ixserver verify --saft` finds in an export."""
    path = tmp_path / "export.xml"
    path.write_bytes(content)
    return check(path, [public_key_from_pem(PUBLIC_KEY.read_text())], jobs=1).findings


def _amount(node: etree._Element, path: str) -> Decimal:
    return Decimal(node.findtext(path, namespaces=NS))


def test_every_figure_at_reads_is_in_euros_and_adds_up(server: LiveServer, api: Api, tmp_path: Path) -> None:
    invoice = issue(api, client=CLIENT, items=LINES, **USD)
    note_lines = [{**LINES[0], "quantity": "1"}]
    note = finalize(api, "credit_note", create(api, "credit_note", owner_invoice_id=invoice["id"], client=CLIENT,
                                               items=note_lines, **USD)["id"])  # fmt: skip
    proforma = issue(api, "proforma", client=CLIENT, items=LINES, **USD)
    paid = api.post(f"/documents/{invoice['id']}/partial_payments.json", json={"partial_payment": {"amount": "50.55"}})
    assert paid.status_code == 200, paid.text
    receipt = paid.json()["receipt"]
    content = exported(server, api)
    assert audited(content, tmp_path) == [], "every figure adds up, as an auditor reads the file"
    root = etree.fromstring(content)
    for document, code in ((invoice, "FT"), (note, "NC"), (proforma, "PF"), (receipt, "RG")):
        number = f"{code} {document['inverted_sequence_number']}"
        record = _record(root, number)
        net, tax, gross = (
            _amount(record, f"s:DocumentTotals/s:{name}") for name in ("NetTotal", "TaxPayable", "GrossTotal")
        )
        currency_amount = _amount(record, "s:DocumentTotals/s:Currency/s:CurrencyAmount")
        rate = _amount(record, "s:DocumentTotals/s:Currency/s:ExchangeRate")
        assert net + tax == gross, number
        assert to_cents(currency_amount * rate) == gross, number
        assert currency_amount == Decimal(str(document["total"])), number
        assert rate < 1, f"{number}: euros per dollar, as AT's demo (0.740747), not the document's 1.1"
        assert abs(gross - currency_amount / Decimal("1.1")) <= Decimal("0.03"), number
        fields = qr_fields(api, document["id"], tmp_path)
        assert (Decimal(fields["N"]), Decimal(fields["O"])) == (tax, gross), f"{number}: the QR code is in euros"
        lines = record.findall("s:Line", NS)
        if code == "RG":
            assert fields["I1"] == "0"
            assert _amount(record, "s:PaymentMethod/s:PaymentAmount") == gross
            continue
        # each rate's base and VAT in the QR code: what that rate's SAF-T lines add up to
        by_rate: dict[Decimal, Decimal] = {}
        for line in lines:
            value = line.findtext("s:CreditAmount", namespaces=NS) or line.findtext("s:DebitAmount", namespaces=NS)
            percentage = Decimal(line.findtext("s:Tax/s:TaxPercentage", namespaces=NS))
            by_rate[percentage] = by_rate.get(percentage, Decimal(0)) + Decimal(value)
        assert to_cents(sum(by_rate.values(), Decimal(0))) == net, number
        assert sum((to_cents(base * rate / 100) for rate, base in by_rate.items()), Decimal(0)) == tax, number
        slots = {Decimal(6): ("I3", "I4"), Decimal(23): ("I7", "I8")}
        for percentage, base in by_rate.items():
            base_field, vat_field = slots[percentage]
            assert Decimal(fields[base_field]) == to_cents(base), f"{number} at {percentage}%"
            assert Decimal(fields[vat_field]) == to_cents(base * percentage / 100), f"{number} at {percentage}%"


def test_the_signed_gross_total_is_the_files(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """What the signature covers (verify checks it) is the GrossTotal the file writes: for 1.01
    USD at 23 % and 3 USD per euro, 0.42 (NetTotal 0.34 + TaxPayable 0.08), not 1.24 ÷ 3 = 0.41."""
    invoice = issue(api, client=CLIENT, items=[LINES[2]], currency_code="USD", rate="3")
    content = exported(server, api)
    assert audited(content, tmp_path) == []
    record = _record(etree.fromstring(content), f"FT {invoice['inverted_sequence_number']}")
    totals = [
        record.findtext(f"s:DocumentTotals/s:{name}", namespaces=NS)
        for name in ("NetTotal", "TaxPayable", "GrossTotal")
    ]
    assert totals == ["0.34", "0.08", "0.42"]
    assert record.findtext("s:DocumentTotals/s:Currency/s:ExchangeRate", namespaces=NS) == "0.338710"
    with server.db.read() as conn:
        from ixserver.services.verify import verify

        assert verify(conn, server.resources.seal_key, api.name) == []
