"""The web console (api/console/) and the API's docs page, used in a real browser: Debian's
Chromium driven by Playwright (its Python package only: no browser download), against a real
sandbox server. One browser for the module; each test a fresh account and browser context.
Every page is watched for Content-Security-Policy violations and requests to other hosts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ixserver import clock
from ixserver.store import jobs as job_store
from ixserver.store.accounts import account_by_name
from ixserver.writes.use_cases import of_no_account
from tests.api.invoicing import create, issue
from tests.support import Api, LiveServer, fresh_database, live_server, wait_for, write

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make install)")
CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338"}


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A sandbox server of its own database (its job workers take only its jobs), whose jobs
    fail for good at their first failed attempt."""
    tmp = tmp_path_factory.mktemp("console")
    with fresh_database("sqlite", tmp) as url, live_server(url, tmp / "data", sandbox=True, job_attempts=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Watched:
    """A page, and what went wrong on it: CSP violations, requests to another host."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", lambda msg: self._console(msg))
        page.on("request", lambda req: self._request(req, origin))

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(message.text)

    def _request(self, request: Any, origin: str) -> None:
        # (chrome-extension: and chrome: are Chromium's own PDF viewer, drawing the PDF frame)
        if not request.url.startswith((origin, "data:", "blob:", "about:", "chrome-extension:", "chrome:")):
            self.problems.append(f"a request to another host: {request.url}")


@pytest.fixture
def page(browser: Any, console_server: LiveServer) -> Iterator[Watched]:
    context = browser.new_context(base_url=console_server.url, accept_downloads=True)
    watched = Watched(context.new_page(), console_server.url)
    yield watched
    context.close()
    assert watched.problems == []


def sign_in(page: Any, key: str) -> None:
    page.goto("/_ixserver/console/")
    page.fill("input[name=api_key]", key)
    page.click("form.sign-in button")


def test_a_wrong_key_cannot_sign_in_and_the_right_one_can(page: Watched, console_server: LiveServer) -> None:
    api = console_server.account()
    sign_in(page.page, "0" * 40)
    assert page.page.locator("[role=alert]").inner_text() == "No account has this API key."
    assert page.page.context.cookies() == [] or all(
        c["name"] != "ixserver_console" for c in page.page.context.cookies()
    )
    sign_in(page.page, api.key)
    page.page.wait_for_url("**/_ixserver/console/documents")
    assert page.page.locator(".account").inner_text() == api.name
    [cookie] = [c for c in page.page.context.cookies() if c["name"] == "ixserver_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/_ixserver/console")
    page.page.click("text=Sign out")
    page.page.wait_for_url("**/_ixserver/console/sign-in")
    page.page.goto("/_ixserver/console/documents")
    page.page.wait_for_url("**/_ixserver/console/sign-in")


def test_find_a_document_and_open_its_pdf(page: Watched, console_server: LiveServer) -> None:
    api = console_server.account()
    invoice = issue(api, client=CLIENT)
    create(api, "quote", client=CLIENT)  # of the same client: the type filter leaves it out
    sign_in(page.page, api.key)
    page.page.select_option("select[name=type]", "invoice")  # submits itself (console.js)
    page.page.wait_for_url("**type=invoice**")
    page.page.fill("input[name=client]", CLIENT["name"])
    page.page.click("text=Filter")
    page.page.wait_for_url("**client=**")
    number = invoice["inverted_sequence_number"]
    link = page.page.locator("table.list tbody a")
    assert link.count() == 1
    with page.page.expect_response(lambda r: r.url.endswith(f"/documents/{invoice['id']}/pdf")) as pdf:
        link.click()
    assert pdf.value.status == 200 and pdf.value.headers["content-type"] == "application/pdf"
    drawn = page.page.request.get(pdf.value.url)  # the session's cookie, no key in the address
    assert drawn.body().startswith(b"%PDF-") and "api_key" not in pdf.value.url
    heading = page.page.locator("h1").inner_text()
    assert "Invoice" in heading and number.split("/")[0] in heading
    assert page.page.locator(".atcud").inner_text() == invoice["atcud"]
    assert page.page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth") > 100
    assert page.page.locator("table.lines tbody tr").count() == 1
    assert page.page.locator("tr.total td").inner_text() == f"{float(invoice['total']):.2f}"


def send(api: Api, document: dict[str, Any]) -> None:
    body = {"message": {"client": {"email": "buyer@example.com", "save": "0"}, "subject": "A sua fatura",
                        "body": "<p>Segue em anexo.</p>"}}  # fmt: skip
    assert api.put(f"/invoices/{document['id']}/email-document.json", json=body).status_code == 200


def test_read_a_sent_email_and_download_its_attachment(page: Watched, console_server: LiveServer) -> None:
    api = console_server.account()
    send(api, issue(api, client=CLIENT))
    wait_for(lambda: api.get("/_ixserver/emails").json()["emails"], what="the sink keeps the e-mail")
    sign_in(page.page, api.key)
    page.page.click("nav >> text=E-mails")
    page.page.click("text=A sua fatura")
    assert page.page.locator(".header-to").inner_text() == "buyer@example.com"
    frame = page.page.frame_locator("iframe.email-body")
    assert frame.locator("p").inner_text() == "Segue em anexo."
    with page.page.expect_download() as download:
        page.page.locator("ul.attachments a").first.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")


def failed_job(server: LiveServer, api: Api) -> int:
    """A job that fails for good (job_attempts=1): an e-mail of a document that is not there (as
    after a reset that came between the request and the job)."""
    payload = {"document_id": 10**9, "to": "buyer@example.com", "cc": "", "bcc": "", "subject": None, "body": None}
    with server.db.read() as conn:
        account = account_by_name(conn, api.name)
    assert account is not None
    job_id = int(
        write(server.db, of_no_account(lambda conn: job_store.enqueue(conn, account.id, "email", payload, clock.now())))
    )
    server.ctx.job_enqueued()
    wait_for(lambda: [j for j in api.get("/_ixserver/jobs").json()["jobs"] if j["status"] == "failed"], 20)
    return job_id


def test_retry_a_failed_job(page: Watched, console_server: LiveServer) -> None:
    api = console_server.account()
    job_id = failed_job(console_server, api)
    sign_in(page.page, api.key)
    page.page.click("nav >> text=Jobs")
    row = page.page.locator(f"#job-{job_id}")
    assert "is gone" in row.locator(".error").inner_text() and row.locator(".attempts").inner_text() == "1"
    before = api.get("/_ixserver/jobs").json()["jobs"][0]
    page.page.once("dialog", lambda dialog: dialog.accept())  # console.js asks first
    row.locator("text=Retry").click()
    page.page.wait_for_url("**/_ixserver/console/jobs")

    # run again, now, with all its attempts ahead: it fails again (the document is still not there)
    def failed_again() -> bool:
        job = api.get("/_ixserver/jobs").json()["jobs"][0]
        return job["status"] == "failed" and job["finished_at"] != before["finished_at"]

    wait_for(failed_again, 20, "the job runs again")
    page.page.reload()
    assert row.locator(".attempts").inner_text() == "1" and "is gone" in row.locator(".error").inner_text()


def test_the_api_docs_page_draws_offline(page: Watched) -> None:
    page.page.goto("/_ixserver/docs")
    title = page.page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=30_000)
    assert "InvoiceXpress" in title.inner_text()
    assert page.page.locator(".opblock-tag").count() > 5, "the operations are listed"


def test_set_the_clock_add_a_fault_and_read_the_request_log(page: Watched, console_server: LiveServer) -> None:
    api = console_server.account()
    sign_in(page.page, api.key)
    page.page.click("nav >> text=Clock & faults")
    page.page.fill("input[name=now]", "2031-01-15T10:00:00+00:00")
    page.page.click("form:has(input[name=now]) button")
    page.page.wait_for_url("**/_ixserver/console/sandbox")
    assert page.page.locator(".clock-today").inner_text() == "2031-01-15"
    assert api.get("/_ixserver/clock").json()["clock"]["today"] == "2031-01-15", "the API's clock, the same"
    page.page.fill("input[name=advance]", "30d")
    page.page.click("form:has(input[name=advance]) button")
    page.page.wait_for_url("**/_ixserver/console/sandbox")
    assert page.page.locator(".clock-today").inner_text() == "2031-02-14"
    page.page.select_option("select[name=method]", "POST")
    page.page.fill("input[name=path]", "/invoices.json")
    page.page.fill("input[name=status]", "503")
    page.page.click("text=Add the fault")
    page.page.wait_for_url("**/_ixserver/console/sandbox")
    assert page.page.locator("table.faults tbody tr").inner_text().split("\t")[:3] == ["POST", "/invoices.json", "503"]
    answer = api.post("/invoices.json", json={"invoice": {}})
    assert answer.status_code == 503, "the fault is the API's"
    page.page.click("nav >> text=Requests")
    row = page.page.locator("table.requests tbody tr").first
    assert "POST /invoices.json" in row.inner_text() and row.locator(".status").inner_text() == "503"
    assert api.key not in page.page.content(), "the recorder leaves the key out"
