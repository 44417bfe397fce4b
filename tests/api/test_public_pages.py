"""Public pages (no key, unguessable addresses, security headers): a document's permalink
shows the issued document with links to its PDF and QR code (drafts are not public); a client's
`open_account_link` shows its statement — open documents, payments, balance — with the PDFs."""

from __future__ import annotations

import re

import httpx

from ixserver.domain.sequences import TRAINING_MENTION
from tests.api.invoicing import change, create, issue, vat_moss
from tests.support import Api

CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338"}
LINE = {"name": "Chair", "description": "Oak chair", "unit_price": "100", "quantity": "1", "tax": {"name": "IVA23"}}
HEADERS = {"content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'",
           "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}  # fmt: skip


def public(api: Api, url: str) -> httpx.Response:
    """A GET without the key (the public address has no port in the tests' public_url)."""
    return httpx.get(url.replace("http://127.0.0.1", api.base_url) if url.startswith("http") else api.base_url + url)


def test_a_permalink_page_links_its_pdf_and_qr_code(api: Api) -> None:
    invoice = issue(api, client=CLIENT, items=[LINE])
    page = public(api, invoice["permalink"])
    assert page.status_code == 200 and {k: page.headers[k] for k in HEADERS} == HEADERS
    links = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert sorted(link.rsplit("/", 1)[1] for link in links) == ["icon.svg", "original.pdf", "page.css", "qr.png"]
    for link in links:
        assert public(api, link).status_code == 200, link
    draft = create(api, client=CLIENT, items=[LINE])
    assert public(api, draft["permalink"]).status_code == 404, "drafts are not public"
    deleted = create(api, client=CLIENT, items=[LINE])
    change(api, "invoice", deleted["id"], "deleted")
    assert public(api, deleted["permalink"]).status_code == 404
    assert public(api, "/documents/" + "0" * 40).status_code == 404


def test_a_training_series_documents_say_so_whatever_their_type(api: Api) -> None:
    """Types whose counters AT does not register are the sandbox's training series' all the same."""
    for doc_type, fields in (("vat_moss_invoice", vat_moss(api)), ("fees_note", {}), ("purchase_order", {})):
        issued = issue(api, doc_type, **fields)
        assert TRAINING_MENTION in public(api, issued["permalink"]).text, doc_type


def test_a_page_says_what_the_document_is_and_who_bought(api: Api) -> None:
    """Despacho 8632/2014 §1.2 and §2.2.5, in Portuguese on every page as on the PDF."""
    quote = public(api, issue(api, "quote", client=CLIENT, items=[LINE])["permalink"]).text
    assert "Este documento não serve de fatura" in quote and "NIF 508025338" in quote
    invoice = public(api, issue(api, client={"name": "Ana", "code": "A1"}, items=[LINE])["permalink"]).text
    assert "Este documento não serve de fatura" not in invoice
    assert "Consumidor final" in invoice


def test_a_clients_statement(api: Api) -> None:
    invoice = issue(api, client=CLIENT, items=[LINE])  # 123.00
    paid = api.post(f"/documents/{invoice['id']}/partial_payments.json", json={"partial_payment": {"amount": "100"}})
    receipt = paid.json()["receipt"]
    other = issue(api, client=CLIENT, items=[LINE])
    change(api, "invoice", other["id"], "canceled", "wrong")
    client = api.get(f"/clients/{invoice['client']['id']}.json").json()["client"]
    link = client["open_account_link"]
    assert re.fullmatch(r"http://127\.0\.0\.1/statements/[0-9a-f]{40}", link), link
    page = public(api, link)
    assert page.status_code == 200 and {k: page.headers[k] for k in HEADERS} == HEADERS
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    serie = invoice["inverted_sequence_number"].split("/")[0]
    assert "123,00\xa0€" in page.text, "amounts as Babel's pt_PT writes them, a no-break space in them"
    assert f"Fatura FT {serie}/1" in text and "123,00 € 23,00 € Pendente" in text, text
    assert f"FT {serie}/2" not in text, "a canceled document is owed nothing"
    assert f"Recibo RG {serie}/1" in text and "100,00 €" in text
    assert "Saldo 23,00 € Saldo sem IVA 18,70 € Vencido 0,00 €" in text, text
    pdfs = [href for href in re.findall(r'href="([^"]+)"', page.text) if href.endswith(".pdf")]
    assert len(pdfs) == 2 and all(public(api, href).content.startswith(b"%PDF-") for href in pdfs)
    assert receipt["permalink"].rsplit("/", 1)[1] in " ".join(pdfs)
    assert public(api, link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 404
    other_client = api.post("/clients.json", json={"client": {"name": "Other", "code": "O"}}).json()["client"]
    assert other_client["open_account_link"] != link
