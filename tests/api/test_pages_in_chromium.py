"""The public pages in a browser (Debian's chromium, driven by Playwright): the document's page
says the words and figures its PDF prints, its stylesheet applies (computed styles, on a desktop
and on a phone's width) and nothing breaks its Content-Security-Policy (the console says so of
an inline style, which the check below proves it hears). Screenshots are the test's output
(tmp_path); with IXSERVER_UPDATE_DOCS_IMAGES=1 the README's images in docs/ are made again."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

from tests.api.invoicing import issue
from tests.api.test_identity import set_identity
from tests.api.test_pdf import _tool, download, text_of, words
from tests.support import Api, LiveServer

DOCS = Path(__file__).parents[2] / "docs" / "images"
CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338", "address": "Rua do Sol 1",
          "city": "Lisboa", "postal_code": "1000-001", "country": "Portugal"}  # fmt: skip
LINES = [
    {"name": "AZ5", "description": "Azeite virgem extra 5 L", "unit_price": "12.50", "quantity": "3", "unit": "unit",
     "discount": "10", "tax": {"name": "IVA23"}},
    {"name": "LIV", "description": "Livro de receitas", "unit_price": "1234.56", "quantity": "1", "unit": "unit",
     "tax": {"name": "IVA6"}},
    {"name": "CONS", "description": "Consultoria", "unit_price": "80", "quantity": "2.5", "unit": "hour",
     "tax": {"name": "IVA23"}},
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 1000}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make install` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


def open_page(browser: Browser, url: str, viewport: dict[str, int], heard: list[str]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]

    def hear(message: ConsoleMessage) -> None:
        heard.append(f"{message.type}: {message.text}")

    page.on("console", hear)
    answer = page.goto(url)
    assert answer is not None and answer.status == 200
    page.wait_for_load_state("networkidle")
    return page


def style(page: Page, selector: str, prop: str) -> Any:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")


def test_a_documents_page_in_chromium(server: LiveServer, api: Api, browser: Browser, tmp_path: Path) -> None:
    set_identity(server, api)
    invoice = issue(api, client=CLIENT, items=LINES)
    url = api.base_url + "/documents/" + invoice["permalink"].rsplit("/", 1)[1]
    heard: list[str] = []
    page = open_page(browser, url, DESKTOP, heard)
    page.screenshot(path=str(tmp_path / "document.png"), full_page=True)
    shown = words(page.inner_text("body"))
    printed = words(text_of(download(api, invoice["id"]), tmp_path))
    same = ["Fatura", f"FT {invoice['inverted_sequence_number']}",
            "Mercearia Sol, Lda", "NIF 508025338", "Azeite virgem extra 5 L", "1 234,56", "Total ilíquido 1 472,06 €",
            "Descontos -3,75 €", "IVA 6% 1 234,56 € 74,07 €", "IVA 23% 233,75 € 53,76 €", "Total a pagar 1 596,14 €",
            "IBAN PT50 0002 0123 1234 5678 9015 4", "Capital social 50 000,00 €", f"ATCUD:{invoice['atcud']}",
            "Documento emitido para fins de formação"]  # fmt: skip
    assert [w for w in same if w not in shown] == [] and [w for w in same if w not in printed] == []
    assert style(page, "h1", "color") == "rgb(30, 60, 110)", "the stylesheet applied"
    assert style(page, ".sheet", "max-width") == "960px"
    assert style(page, ".lines thead", "display") == "table-header-group"
    assert page.eval_on_selector("img.logo", "e => e.naturalWidth") == 600, "the logo loaded"
    assert page.eval_on_selector("img.qr", "e => e.naturalWidth") > 0, "the QR code loaded"
    assert heard == [], heard
    phone = open_page(browser, url, PHONE, heard)
    phone.screenshot(path=str(tmp_path / "document-phone.png"), full_page=True)
    assert style(phone, ".lines thead", "display") == "none", "a phone's rows are cards"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing wider than a phone"
    assert heard == [], heard
    if os.environ.get("IXSERVER_UPDATE_DOCS_IMAGES") == "1":  # the README's images
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "document-page.png"), full_page=True)
        phone.screenshot(path=str(DOCS / "document-page-phone.png"), full_page=True)
        pdf = tmp_path / "invoice.pdf"
        pdf.write_bytes(download(api, invoice["id"]))
        subprocess.run([_tool("pdftoppm"), "-r", "80", "-png", "-singlefile", str(pdf), str(DOCS / "document-pdf")],
                       check=True)  # fmt: skip


def test_the_console_hears_a_csp_violation(server: LiveServer, api: Api, browser: Browser) -> None:
    """The check above can fail: the same page with an inline style, under the same headers, is
    refused by Chromium and heard on the console."""
    invoice = issue(api, client=CLIENT, items=LINES[:1])
    url = api.base_url + "/documents/" + invoice["permalink"].rsplit("/", 1)[1]

    def inline_style(route: Route) -> None:
        answer = route.fetch()
        route.fulfill(response=answer, body=answer.text().replace("</main>", '<p style="color: red">x</p></main>'))

    page = browser.new_page()
    heard: list[str] = []
    page.on("console", lambda message: heard.append(message.text))
    page.route(url, inline_style)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert any("Content Security Policy" in text for text in heard), heard


def test_a_statement_in_chromium(server: LiveServer, api: Api, browser: Browser, tmp_path: Path) -> None:
    set_identity(server, api)
    invoice = issue(api, client=CLIENT, items=LINES[:1])  # 3 × 12.50 − 10 %, 23 % VAT: 41.51
    paid = api.post(f"/documents/{invoice['id']}/partial_payments.json", json={"partial_payment": {"amount": "20"}})
    assert paid.status_code == 200, paid.text
    link = api.get(f"/clients/{invoice['client']['id']}.json").json()["client"]["open_account_link"]
    heard: list[str] = []
    url = link.replace("http://127.0.0.1", api.base_url)
    page = open_page(browser, url, DESKTOP, heard)
    page.screenshot(path=str(tmp_path / "statement.png"), full_page=True)
    shown = words(page.inner_text("body"))
    for expected in ("Conta corrente", "Mercearia Sol, Lda", "Saldo 21,51 €", "Em dívida Estado",
                     "41,51 € 21,51 € Pendente", "Valor pago Estado", "20,00 €",
                     "IBAN PT50 0002 0123 1234 5678 9015 4"):  # fmt: skip
        assert expected in shown, (expected, shown)
    assert style(page, "h1", "color") == "rgb(30, 60, 110)" and page.eval_on_selector("img.logo", "e => e.naturalWidth")
    phone = open_page(browser, url, PHONE, heard)
    phone.screenshot(path=str(tmp_path / "statement-phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing wider than a phone"
    assert heard == [], heard
