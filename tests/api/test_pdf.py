"""PDFs (api-v2 §4.8; pt-compliance §3.2, §7): `GET /api/pdf/{id}.json` gives a public URL; the
PDF there is parsed back (pdftotext) and every mandatory element found; its QR code is read from
the rendered page (pdftoppm + zbarimg) and is the document's; the same document gives the same
bytes."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ixserver import clock
from ixserver.domain.doctypes import BY_KEY, INVOICE_TYPES
from ixserver.domain.documents import Document
from ixserver.domain.sequences import TRAINING_MENTION
from ixserver.render.view import mention, title
from tests.api.invoicing import body, change, create, finalize, issue, vat_moss
from tests.api.test_euros import LINES as PRICED
from tests.api.test_euros import USD
from tests.api.test_guides import guide
from tests.api.test_qr_codes import qr_fields
from tests.support import Api, LiveServer

CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338", "address": "Rua do Sol 1",
          "city": "Lisboa", "postal_code": "1000-001", "country": "Portugal"}  # fmt: skip
LINES = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "12.50", "quantity": "3", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA6"}},
    {"name": "Export", "description": "Serviço isento", "unit_price": "5", "quantity": "1", "tax": {"name": "IVA0"}},
]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `make install` installs poppler-utils and zbar-tools")
    return found


def download(api: Api, document_id: int, second_copy: bool = False) -> bytes:
    answer = api.get(f"/api/pdf/{document_id}.json", params={"second_copy": "true"} if second_copy else None)
    assert answer.status_code == 200, answer.text
    output = answer.json()["output"]
    assert output["pdfUrl"] == output["pdf_url"]
    pdf = httpx.get(output["pdfUrl"].replace("http://127.0.0.1", api.base_url))  # no key, as Webdados fetches it
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf"), pdf.text[:200]
    return pdf.content


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def qr_of(pdf: bytes, tmp_path: Path) -> str:
    """The QR code printed on the PDF's last page, as a phone would read it."""
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    last = sorted(tmp_path.glob("page*.png"))[-1]
    out = subprocess.run([_tool("zbarimg"), "--quiet", "--raw", "-Sbinary", str(last)], capture_output=True, check=True)
    return out.stdout.decode().rstrip("\n")


def qr_image_text(api: Api, document_id: int, tmp_path: Path) -> str:
    url = api.get(f"/api/qr_codes/{document_id}.json").json()["qr_code"]["url"]
    image = tmp_path / "qr.png"
    image.write_bytes(httpx.get(url.replace("http://127.0.0.1", api.base_url)).content)
    out = subprocess.run(
        [_tool("zbarimg"), "--quiet", "--raw", "-Sbinary", str(image)], capture_output=True, check=True
    )
    return out.stdout.decode().rstrip("\n")


# A consumer (no NIF) in France who reads English: every type can be issued to it, VAT MOSS ones too.
FOREIGN_CONSUMER = {"name": "Sunny Shop", "code": "SUN", "language": "en", "country": "France"}


def one_of_each_type(api: Api) -> dict[str, dict[str, Any]]:
    """A document of every type, issued to FOREIGN_CONSUMER."""
    assert api.post("/clients.json", json={"client": FOREIGN_CONSUMER}).status_code == 201
    client = {"name": FOREIGN_CONSUMER["name"], "code": FOREIGN_CONSUMER["code"]}
    made = {"invoice": issue(api, client=client, items=LINES, tax_exemption="M05")}
    for doc_type in ("invoice_receipt", "simplified_invoice", "quote", "proforma", "fees_note", "purchase_order"):
        made[doc_type] = issue(api, doc_type, client=client, items=LINES[:1])
    for doc_type in ("shipping", "transport", "devolution"):
        made[doc_type] = finalize(
            api, doc_type, api.post(f"/{doc_type}s.json", json={doc_type: guide(client=client)}).json()[doc_type]["id"]
        )
    refund = [{**LINES[0], "unit_price": "1", "description": "Refund"}]
    for doc_type in ("credit_note", "debit_note"):
        made[doc_type] = issue(api, doc_type, client=client, items=refund, owner_invoice_id=made["invoice"]["id"])
    made["receipt"] = pay(api, made["invoice"]["id"], "10")
    moss = {**vat_moss(api), "client": client}
    made["vat_moss_invoice"] = issue(api, "vat_moss_invoice", **moss)
    refund = {**moss["items"][0], "unit_price": "1", "description": "Refund"}
    made["vat_moss_credit_note"] = issue(api, "vat_moss_credit_note", client=client,
                                         owner_invoice_id=made["vat_moss_invoice"]["id"], items=[refund])  # fmt: skip
    made["vat_moss_receipt"] = pay(api, made["vat_moss_invoice"]["id"], "5")
    assert sorted(made) == sorted(BY_KEY)
    return made


def pay(api: Api, document_id: int, amount: str) -> dict[str, Any]:
    paid = api.post(f"/documents/{document_id}/partial_payments.json", json={"partial_payment": {"amount": amount}})
    assert paid.status_code == 200, paid.text
    return dict(paid.json()["receipt"])


def test_an_invoice_pdf_has_every_mandatory_element(api: Api, tmp_path: Path) -> None:
    invoice = issue(api, client=CLIENT, items=LINES, tax_exemption="M05", retention="10", reference="PO-77")
    pdf = download(api, invoice["id"])
    text = words(text_of(pdf, tmp_path))
    serie = invoice["inverted_sequence_number"].split("/")[0]
    for expected in (
        "Fatura",
        f"FT {serie}/1",
        f"ATCUD:{invoice['atcud']}",  # type, number, ATCUD
        "Mercearia Sol, Lda",
        "508025338",
        "Rua do Sol 1",
        "1000-001 Lisboa",  # the client
        clock.today().strftime("%d-%m-%Y"),
        "PO-77",  # date, reference
        "Azeite 5 L",
        "12,50",
        "Receitas",  # lines
        "Total ilíquido 52,50 €",  # the totals as Portuguese invoices show them: VAT per rate with its base
        "Descontos 0,00 €",
        "IVA 23% 37,50 € 8,63 €",
        "IVA 6% 10,00 € 0,60 €",  # half-up
        "IVA 0% (M05) 5,00 € 0,00 €",
        "M05: Isento artigo 14.º do CIVA",  # the exemption's legal wording
        "Total do documento 61,73 €",
        "Retenção na fonte (10%) -5,25 €",
        "Total a pagar 56,48 €",  # totals, withholding
        f"{invoice['saft_hash']}-Processado por ixserver (programa não certificado pela AT)",
        "Original",
        "Página 1 de 1",
        "Documento emitido para fins de formação",
    ):
        assert expected in text, f"{expected!r} is not in the PDF:\n{text}"
    assert "Este documento não serve de fatura" not in text and "RASCUNHO" not in text
    assert "certificado n.º" not in text, "the default does not claim AT certification"
    assert qr_of(pdf, tmp_path) == qr_image_text(api, invoice["id"], tmp_path)
    assert download(api, invoice["id"]) == pdf, "the same document, the same bytes"
    second = text_of(download(api, invoice["id"], second_copy=True), tmp_path)
    assert "Duplicado" in second and "Original" not in second


def test_the_certificate_mention_names_the_certificate_only_when_there_is_one() -> None:
    signed = Document.__new__(Document)
    signed.number, signed.signature = 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
    assert mention(signed, 1234) == "AKUe-Processado por programa certificado n.º 1234/AT"
    assert mention(signed, 0) == "AKUe-Processado por ixserver (programa não certificado pela AT)"
    signed.signature = None  # a receipt
    assert mention(signed, 1234) == "Emitido por programa certificado n.º 1234/AT"


def test_drafts_canceled_documents_and_other_languages(api: Api, tmp_path: Path) -> None:
    draft = create(api, client=CLIENT, items=LINES[:1])
    text = text_of(download(api, draft["id"]), tmp_path)
    assert "RASCUNHO" in text and "ATCUD" not in text and "Processado" not in text
    canceled = issue(api, client=CLIENT, items=LINES[:1])
    assert change(api, "invoice", canceled["id"], "canceled", "wrong client").status_code == 200
    assert "ANULADO" in text_of(download(api, canceled["id"]), tmp_path)
    english = {**CLIENT, "name": "Sunny Shop Ltd", "code": "SUN", "language": "en", "fiscal_id": "GB123456789",
               "country": "Great Britain"}  # fmt: skip
    assert api.post("/clients.json", json={"client": english}).status_code == 201
    sold = issue(api, client={"name": "Sunny Shop Ltd", "code": "SUN"}, items=LINES[:1])
    text = text_of(download(api, sold["id"]), tmp_path)
    assert "Invoice" in text and "Page 1 of 1" in text and "Gross total" in text and "Total to pay" in text
    spanish = {"name": "Tienda Sol SL", "code": "ES1", "language": "es", "country": "Spain"}
    assert api.post("/clients.json", json={"client": spanish}).status_code == 201
    text = text_of(
        download(api, issue(api, client={"name": "Tienda Sol SL", "code": "ES1"}, items=LINES[:1])["id"]), tmp_path
    )
    assert "Factura" in text and "Página 1 de 1" in text and "Importe bruto" in text
    assert api.get("/api/pdf/999999999.json").status_code == 404
    deleted = create(api, items=LINES[:1])
    assert change(api, "invoice", deleted["id"], "deleted").status_code == 200
    assert api.get(f"/api/pdf/{deleted['id']}.json").status_code == 404


def test_a_long_invoice_carries_its_totals_over_and_numbers_its_pages(api: Api, tmp_path: Path) -> None:
    lines = [
        {"name": f"Item {n}", "description": f"Line {n}", "unit_price": "1", "quantity": "1", "tax": {"name": "IVA23"}}
        for n in range(1, 91)
    ]
    invoice = issue(api, client=CLIENT, items=lines)
    pdf = download(api, invoice["id"])
    text = text_of(pdf, tmp_path)
    pages = text.split("\f")
    count = len([p for p in pages if p.strip()])
    assert count >= 2 and f"Página 1 de {count}" in text and f"Página {count} de {count}" in text
    carried_to = [line.split(":")[-1].split()[0] for line in text.splitlines() if "A transportar:" in line]
    carried_from = [line.split(":")[-1].split()[0] for line in text.splitlines() if "Transporte:" in line]
    assert len(carried_to) == count - 1 and carried_to == carried_from
    on_first_page = sum(1 for line in pages[0].splitlines() if line.strip().startswith("Item "))
    assert carried_to[0] == f"{on_first_page},00", "what the first page's lines add up to"
    assert qr_of(pdf, tmp_path) == qr_image_text(api, invoice["id"], tmp_path), "on the last page"


def test_every_family_has_its_layout(api: Api, tmp_path: Path) -> None:
    quote = finalize(api, "quote", create(api, "quote", client=CLIENT, items=LINES[:1])["id"])
    text = text_of(download(api, quote["id"]), tmp_path)
    assert "Orçamento" in text and "Este documento não serve de fatura" in text and "Válido até" in text
    start = (clock.local_now() + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M:%S")
    place = {"detail": "Rua 5", "city": "Lisboa", "postal_code": "1000-555", "country": "Portugal"}
    to = {"detail": "Avenida 10", "city": "Porto", "postal_code": "4000-555", "country": "Portugal"}
    draft = create(api, "shipping", client=CLIENT, items=LINES[:1], loaded_at=start, license_plate="11-AA-22",
                   address_from=place, address_to=to)  # fmt: skip
    guide = finalize(api, "shipping", draft["id"])
    text = text_of(download(api, guide["id"]), tmp_path)
    for expected in ("Guia de Remessa", "Local de carga", "Rua 5", "Local de descarga", "Avenida 10", "4000-555 Porto",
                     "11-AA-22", guide["at_doc_code_id"], "Este documento não serve de fatura"):  # fmt: skip
        assert expected in text, expected
    invoice = issue(api, client=CLIENT, items=LINES[:1])
    paid = api.post(
        f"/documents/{invoice['id']}/partial_payments.json",
        json={"partial_payment": {"amount": "10", "payment_mechanism": "MB"}},
    ).json()["receipt"]
    text = text_of(download(api, paid["id"]), tmp_path)
    serie = invoice["inverted_sequence_number"].split("/")[0]
    for expected in ("Recibo", f"FT {serie}/1", "MB — Referências de pagamento para Multibanco", "10,00 €",
                     "Emitido por ixserver (programa não certificado pela AT)", "Este documento não serve de fatura",
                     f"ATCUD:{paid['atcud']}"):  # fmt: skip
        assert expected in text, expected
    order = finalize(api, "purchase_order", create(api, "purchase_order", client=CLIENT, items=LINES[:1])["id"])
    assert "Nota de Encomenda" in text_of(download(api, order["id"]), tmp_path)


@pytest.fixture(scope="module")
def each_type(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """A document of every type issued to FOREIGN_CONSUMER (one_of_each_type), and the text of its
    PDF: the original's and the second copy's."""
    api, tmp = server.account(), tmp_path_factory.mktemp("each-type")
    return {
        doc_type: (text_of(download(api, made["id"]), tmp), text_of(download(api, made["id"], second_copy=True), tmp))
        for doc_type, made in one_of_each_type(api).items()
    }


def test_every_document_of_a_training_series_says_so(each_type: dict[str, tuple[str, str]]) -> None:
    """Despacho 8632/2014 §1.5: whatever its type, a document of the sandbox's training series
    (VAT MOSS documents, fees notes and purchase orders included: their counters are not
    registered with AT, but they are the series')."""
    unmarked = [doc_type for doc_type, (original, _) in each_type.items() if TRAINING_MENTION not in original]
    assert unmarked == []


def words(text: str) -> str:
    """The text with its runs of spaces (columns, line ends) as one space."""
    return " ".join(text.split())


def test_a_note_names_the_document_it_corrects(api: Api, tmp_path: Path) -> None:
    """CIVA art. 36.6: a credit or debit note refers to the invoice it corrects, by its number as
    issued and its date; or to the one issued elsewhere (`raw_owner_invoice`) by what it was given."""
    invoice = issue(api, client=CLIENT, items=LINES[:1])
    corrected = f"FT {invoice['inverted_sequence_number']}"
    refund = [{**LINES[0], "unit_price": "1", "description": "Refund"}]
    for doc_type in ("credit_note", "debit_note"):
        note = issue(api, doc_type, client=CLIENT, items=refund, owner_invoice_id=invoice["id"])
        text = words(text_of(download(api, note["id"]), tmp_path))
        assert f"Documento retificado {corrected} de {clock.today():%d-%m-%Y}" in text, text
    external = api.post(
        "/credit_notes.json", json={"credit_note": body(client=CLIENT, items=refund), "raw_owner_invoice": "FT A/77"}
    )
    assert external.status_code == 201, external.text
    note = finalize(api, "credit_note", external.json()["credit_note"]["id"])
    assert "Documento retificado FT A/77" in words(text_of(download(api, note["id"]), tmp_path))


DPI = 600
MM_PER_POINT = 25.4 / 72  # pdftotext -bbox places words in PDF points


@dataclass(frozen=True)
class Word:
    text: str
    left: float  # millimetres from the page's top left corner
    top: float
    right: float
    bottom: float


def words_of(path: Path) -> list[list[Word]]:
    """Each page's words and where they are (pdftotext -bbox)."""
    html = subprocess.run(
        [_tool("pdftotext"), "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
    return [
        [Word(text, *(float(v) * MM_PER_POINT for v in box)) for *box, text in word.findall(page)]
        for page in html.split("<page ")[1:]
    ]


def dark_box(path: Path, page: int, left: float, top: float, right: float, bottom: float) -> tuple[float, ...] | None:
    """The box (left, top, right, bottom, in millimetres on the page) of what is dark inside the
    given one on `page` (1-based), rasterized at DPI; None if all of it is light."""
    px = DPI / 25.4
    x, y = round(left * px), round(top * px)
    out = path.parent / "crop"
    crop_width, crop_height = str(round((right - left) * px)), str(round((bottom - top) * px))
    subprocess.run([_tool("pdftoppm"), "-r", str(DPI), "-gray", "-singlefile", "-f", str(page), "-l", str(page),
                    "-x", str(x), "-y", str(y), "-W", crop_width, "-H", crop_height, str(path), str(out)],
                   check=True)  # fmt: skip
    magic, width, height, _, pixels = out.with_suffix(".pgm").read_bytes().split(maxsplit=4)
    assert magic == b"P5"
    width, height = int(width), int(height)
    dark = bytes(1 if value < 128 else 0 for value in range(256))
    rows = [pixels[r * width : (r + 1) * width].translate(dark) for r in range(height)]
    inked = [r for r, row in enumerate(rows) if 1 in row]
    if not inked:
        return None
    first = min(rows[r].index(1) for r in inked)
    last = max(rows[r].rindex(1) for r in inked)
    return ((x + first) / px, (y + inked[0]) / px, (x + last + 1) / px, (y + inked[-1] + 1) / px)


def test_the_qr_symbol_is_30_mm_in_its_quiet_zone_with_the_atcud_right_above_it(api: Api, tmp_path: Path) -> None:
    """Portaria 195/2020 and AT's QR specification (pt-compliance §2.1, §4.1): the symbol itself
    (its modules, not the image) at least 30 × 30 mm, 2.5 mm of quiet zone around it;
    `ATCUD:CODE-n` (no space) immediately above it, and on every page."""
    lines = [
        {"name": f"Item {n}", "description": f"Line {n}", "unit_price": "1", "quantity": "1", "tax": {"name": "IVA23"}}
        for n in range(1, 91)
    ]
    invoice = issue(api, client=CLIENT, items=lines)
    path = tmp_path / "document.pdf"
    path.write_bytes(download(api, invoice["id"]))
    atcud = f"ATCUD:{invoice['atcud']}"
    pages = words_of(path)
    assert len(pages) >= 2 and all(atcud in [w.text for w in page] for page in pages), "on every page"
    assert "ATCUD:" not in [w.text for page in pages for w in page], "no space after the colon"
    last = pages[-1]
    above, footer = sorted((w for w in last if w.text == atcud), key=lambda w: w.top)
    mention = min((w for w in last if w.text.endswith("-Processado")), key=lambda w: w.top)
    # what is drawn below the ATCUD, left of the program mention (a glyph's ink may start a little
    # before its word's box), above the footer: the symbol
    symbol = dark_box(
        path, len(pages), above.left - 5, above.bottom, mention.left - 1, min(above.bottom + 45, footer.top - 4)
    )
    assert symbol is not None
    left, top, right, bottom = symbol
    size = (right - left, bottom - top)
    assert 30 <= size[0] <= 32 and abs(size[0] - size[1]) < 0.1, f"the symbol is {size[0]:.2f} × {size[1]:.2f} mm"
    quiet = 2.5
    ring = dark_box(path, len(pages), left - quiet, top - quiet, right + quiet, bottom + quiet)
    assert ring == symbol, f"nothing else within {quiet} mm of the symbol ({ring} ≠ {symbol})"
    assert 0 < top - above.bottom <= quiet + 1 and above.left < right and above.right > left, "immediately above"


def test_legal_mentions_are_in_portuguese_whatever_the_clients_language(each_type: dict[str, tuple[str, str]]) -> None:
    """Original/Duplicado, the program's mention, "Este documento não serve de fatura", the
    exemption reasons, "Consumidor final" and the training mention are the law's words: in
    Portuguese on a document for a client who reads English; its labels and titles are English."""
    missing = []
    for doc_type, (original, second_copy) in each_type.items():
        first, second = words(original), words(second_copy)
        expected = [title(doc_type, "en"), "Page 1 of 1", "Original",
                    "por ixserver (programa não certificado pela AT)", "Consumidor final",
                    TRAINING_MENTION]  # fmt: skip
        expected += [] if doc_type in INVOICE_TYPES else ["Este documento não serve de fatura"]
        expected += ["M05: Isento artigo 14.º do CIVA"] if doc_type == "invoice" else []
        missing += [(doc_type, text) for text in expected if text not in first]
        missing += [(doc_type, "Duplicado")] if "Duplicado" not in second or "Duplicate" in second else []
    assert missing == []


def test_a_document_in_another_currency_shows_its_vat_in_euros_and_the_rate(api: Api, tmp_path: Path) -> None:
    """Directive 2006/112 art. 230: beside its amounts in its currency, a document shows the VAT in
    euros, as AT reads it (the QR code's N), and the rate it converts at: every family alike."""
    invoice = issue(api, client=CLIENT, items=PRICED, **USD)
    made = [invoice,
            issue(api, "credit_note", client=CLIENT, items=[{**PRICED[0], "quantity": "1"}],
                  owner_invoice_id=invoice["id"], **USD),
            issue(api, "proforma", client=CLIENT, items=PRICED, **USD), pay(api, invoice["id"], "50.55")]  # fmt: skip
    missing = []
    for document in made:
        in_euros = qr_fields(api, document["id"], tmp_path)["N"].replace(".", ",")
        text = words(text_of(download(api, document["id"]), tmp_path))
        missing += [
            (document["type"], t) for t in ("Câmbio 1 EUR = 1,1 USD", f"IVA em euros {in_euros} €") if t not in text
        ]
    assert missing == []
    assert "IVA em euros" not in text_of(download(api, issue(api, client=CLIENT, items=PRICED)["id"]), tmp_path)


def test_an_issued_document_keeps_the_language_it_was_issued_in(api: Api, tmp_path: Path) -> None:
    """The words of an issued document are frozen with its client: a later change of the client's
    language leaves its PDF, signed and kept, the same bytes; a draft follows the client."""
    english = {**CLIENT, "name": "Harbour Ltd", "code": "HBR", "language": "en", "country": "Great Britain"}
    client_id = api.post("/clients.json", json={"client": english}).json()["client"]["id"]
    sold = issue(api, client={"name": "Harbour Ltd", "code": "HBR"}, items=LINES[:1])
    draft = create(api, client={"name": "Harbour Ltd", "code": "HBR"}, items=LINES[:1])
    before = download(api, sold["id"])
    assert "Invoice" in text_of(before, tmp_path) and "Invoice" in text_of(download(api, draft["id"]), tmp_path)
    moved = api.put(f"/clients/{client_id}.json", json={"client": {**english, "language": "pt"}})
    assert moved.status_code == 200, moved.text
    assert download(api, sold["id"]) == before, "issued: the same bytes, in the language it was issued in"
    assert "Fatura" in text_of(download(api, draft["id"]), tmp_path), "a draft prints in its client's language now"
