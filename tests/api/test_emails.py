"""Documents by e-mail (api-v2 §4.7) and the job outbox: `email-document.json` answers 200 with an
empty body and enqueues a job in its transaction; a worker sends the message with the PDF —
through a real SMTP server started here (aiosmtpd), or the sandbox's sink without one; a job that
fails is retried and its error shown at /_ixserver/jobs; a refused request leaves no job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from ixserver import clock
from ixserver.store import jobs as job_store
from ixserver.store.db import Database
from tests.api.invoicing import create, finalize, issue
from tests.support import Api, LiveServer, free_port, fresh_database, live_server, smtp_server, wait_for

CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338"}


def send(api: Api, document: dict[str, Any], doc_type: str = "invoice", **message: Any) -> Any:
    body = {"message": {"client": {"email": "dest@example.com", "save": "0"}, "subject": "A sua fatura",
                        "body": "<p>Segue em anexo.</p>", **message}}  # fmt: skip
    return api.put(f"/{doc_type}s/{document['id']}/email-document.json", json=body)


def test_the_sandbox_keeps_what_it_would_send(api: Api) -> None:
    invoice = issue(api, client=CLIENT)
    answer = send(
        api, invoice, cc="cc@example.com", bcc="bcc@example.com", client={"email": "buyer@example.com", "save": "1"}
    )
    assert (answer.status_code, answer.content) == (200, b"")
    emails = wait_for(lambda: api.get("/_ixserver/emails").json()["emails"])
    assert len(emails) == 1
    sent = emails[0]
    serie = invoice["inverted_sequence_number"].split("/")[0]
    assert (sent["to"], sent["cc"], sent["bcc"], sent["subject"]) == (
        "buyer@example.com",
        "cc@example.com",
        "bcc@example.com",
        "A sua fatura",
    )
    assert sent["html"].strip() == "<p>Segue em anexo.</p>"
    assert (
        sent["attachments"][0]["filename"] == f"FT_{serie}-1.pdf"
        and sent["attachments"][0]["content_type"] == "application/pdf"
    )
    assert sent["attachments"][0]["size"] > 1000
    client = api.get(f"/clients/{invoice['client']['id']}.json").json()["client"]
    assert client["email"] == "buyer@example.com", "save: 1 keeps the address on the client"
    # the message is kept, then the job marked done: two writes
    jobs = wait_for(lambda: [j for j in api.get("/_ixserver/jobs").json()["jobs"] if j["status"] != "running"])
    assert [(j["kind"], j["status"], j["attempts"], j["last_error"]) for j in jobs] == [("email", "done", 1, None)]


@pytest.mark.parametrize("doc_type", ["quote", "shipping", "purchase_order"])
def test_every_family_sends(api: Api, doc_type: str) -> None:
    if doc_type == "shipping":
        from tests.api.test_guides import guide

        document = finalize(
            api, doc_type, api.post("/shippings.json", json={"shipping": guide()}).json()["shipping"]["id"]
        )
    else:
        document = finalize(api, doc_type, create(api, doc_type)["id"])
    assert send(api, document, doc_type).status_code == 200
    wait_for(lambda: api.get("/_ixserver/emails").json()["emails"])


def test_refusals_leave_nothing_to_send(api: Api) -> None:
    invoice = issue(api)
    missing = api.put(f"/invoices/{invoice['id']}/email-document.json", json={"message": {"client": {"save": "0"}}})
    assert (missing.status_code, missing.json()) == (422, {"errors": [{"error": "Email is a required field"}]})
    assert send(api, invoice, cc="not-an-address").json() == {"errors": [{"error": "Cc: is an invalid email"}]}
    assert send(api, invoice, client={"email": "x@", "save": "0"}).json() == {
        "errors": [{"error": "Email: is an invalid email"}]
    }
    draft = create(api)
    assert send(api, draft).json() == {"errors": [{"error": "A draft can't be sent: finalize it first"}]}
    assert send(api, {"id": 999_999_999}).status_code == 404
    assert api.put(f"/invoices/{invoice['id']}/email-document.json", json={}).status_code == 422
    assert api.get("/_ixserver/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"subject": "Fatura\r\nBcc: spy@example.com"}, "Subject can't contain a line break (U+000D)"),
        ({"subject": "Fatura\nBcc: spy@example.com"}, "Subject can't contain a line break (U+000A)"),
        ({"subject": "Fatura\n"}, "Subject can't contain a line break (U+000A)"),
        ({"subject": "Fatura\u2028Bcc: spy@example.com"}, "Subject can't contain a line break (U+2028)"),
        ({"subject": "Fatura\u2029"}, "Subject can't contain a line break (U+2029)"),
        ({"subject": "Fatura\x85Bcc: spy@example.com"}, "Subject can't contain a line break (U+0085)"),
        ({"cc": "cc@example.com\u2028Bcc: spy@example.com"}, "Cc: is an invalid email"),
        ({"bcc": "bcc@exam\x85ple.com"}, "Bcc: is an invalid email"),
        ({"client": {"email": "dest@example.com\r\nBcc: spy@example.com", "save": "0"}}, "Email: is an invalid email"),
    ],
)
def test_a_header_value_with_a_line_break_is_refused_and_nothing_is_sent(
    api: Api, message: dict[str, Any], error: str
) -> None:
    """Issue 23: such a subject was accepted (200), then the job failed on every attempt (Python's
    email package refuses a header with a line break: nothing was injected). Every value that
    becomes a header is checked at the API: 422 naming the field, no job."""
    invoice = issue(api)
    refused = send(api, invoice, **message)
    assert (refused.status_code, refused.json()) == (422, {"errors": [{"error": error}]})
    assert api.get("/_ixserver/jobs").json()["jobs"] == []


def test_a_tab_accents_and_a_dash_are_a_subject(api: Api) -> None:
    """What the line breaks' refusal leaves alone (once: each send is a job, a PDF drawn)."""
    invoice = issue(api)
    assert send(api, invoice, subject="Fatura\r\nBcc: spy@example.com").status_code == 422
    assert send(api, invoice, subject="Fatura\tFT 1 — ação").status_code == 200, "a tab, accents, a dash are a subject"
    jobs = wait_for(lambda: [j for j in api.get("/_ixserver/jobs").json()["jobs"] if j["status"] == "done"])
    assert len(jobs) == 1
    assert api.get("/_ixserver/emails").json()["emails"][0]["subject"] == "Fatura\tFT 1 — ação"


def test_a_rolled_back_transaction_leaves_no_job(server: LiveServer, api: Api) -> None:
    """The job is the use case's: rolled back with it, committed with it."""
    from ixserver.store.accounts import account_by_name

    db: Database = server.db
    invoice = issue(api)
    with db.read() as conn:
        account = account_by_name(conn, api.name)
    assert account is not None
    payload = {"document_id": invoice["id"], "to": "x@example.com", "cc": "", "bcc": "", "subject": None, "body": None}
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            job_store.enqueue(conn, account.id, "email", payload, clock.now())
            raise RuntimeError("the use case fails after enqueuing")
    with db.read() as conn:
        assert job_store.account_jobs(conn, account.id) == []
    with db.transaction() as conn:
        job_store.enqueue(conn, account.id, "email", payload, clock.now())
    with db.read() as conn:
        assert len(job_store.account_jobs(conn, account.id)) == 1


class Inbox:
    """What a real SMTP server received: envelope recipients and the message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def mailing_server(backend: str, tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    """A server of its own database: the workers of every instance on a database share its
    outbox, and the session's server (without SMTP) would take these jobs too."""
    with fresh_database(backend, tmp_path) as url, live_server(url, tmp_path, sandbox=True, **settings) as mailing:
        yield mailing


@pytest.fixture(scope="module")
def smtp_port() -> int:
    """The port the mailing server sends through: a real SMTP server listens there while a test
    runs one (`smtp`), else nothing does."""
    return free_port()


@pytest.fixture(scope="module")
def mailing(backend: str, smtp_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server whose workers send through an SMTP server, its job tried twice, each conversation
    at most 2 s."""
    with mailing_server(backend, tmp_path_factory.mktemp("mailing"), smtp_host="127.0.0.1", smtp_port=smtp_port,
                        smtp_from="faturas@example.com", job_attempts=2, smtp_timeout=2) as server:  # fmt: skip
        yield server


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    with smtp_server(inbox, smtp_port):
        yield inbox


def test_an_email_leaves_through_a_real_smtp_server(mailing: LiveServer, smtp: Inbox) -> None:
    api = mailing.account()
    invoice = issue(api, client=CLIENT)
    assert send(api, invoice, cc="cc@example.com", bcc="hidden@example.com").status_code == 200
    recipients, message = wait_for(lambda: smtp.received)[0]
    assert sorted(recipients) == ["cc@example.com", "dest@example.com", "hidden@example.com"]
    assert (message["From"], message["To"], message["Cc"], message["Bcc"]) == (
        "faturas@example.com",
        "dest@example.com",
        "cc@example.com",
        None,
    )
    assert message["Subject"] == "A sua fatura"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF-")
    assert api.get("/_ixserver/emails").json()["emails"] == [], "with an SMTP server, the sink keeps nothing"


def test_a_failing_job_is_retried_and_its_error_shown(mailing: LiveServer) -> None:
    api = mailing.account()  # nothing listens on its SMTP port now
    assert send(api, issue(api)).status_code == 200
    job = wait_for(lambda: [j for j in api.get("/_ixserver/jobs").json()["jobs"] if j["status"] == "failed"], 20)[0]
    assert job["attempts"] == 2 and "Connection refused" in job["last_error"], job


def test_ixserver_worker_sends_what_servers_without_workers_enqueue(backend: str, tmp_path: Path) -> None:
    """`IXSERVER_JOB_WORKERS=0` servers leave their jobs to `ixserver worker`, a process of its own."""
    import os
    import signal
    import subprocess
    import sys

    from tests.support import TEST_SECRET_KEY

    with mailing_server(backend, tmp_path, job_workers=0) as quiet:
        api = quiet.account()
        assert send(api, issue(api, client=CLIENT)).status_code == 200
        time.sleep(1)
        assert [j["status"] for j in api.get("/_ixserver/jobs").json()["jobs"]] == ["queued"], "no worker here"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
        env.update(IXSERVER_DATABASE_URL=quiet.settings.resolved_database_url, IXSERVER_SANDBOX="1",
                   IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_SECRET_KEY=TEST_SECRET_KEY,
                   IXSERVER_JOB_POLL_SECONDS="0.1")  # fmt: skip
        worker = subprocess.Popen([sys.executable, "-m", "ixserver", "worker", "--threads", "2"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            emails = wait_for(lambda: api.get("/_ixserver/emails").json()["emails"], 30)
            assert emails[0]["to"] == "dest@example.com"
            assert wait_for(
                lambda: [j["status"] for j in api.get("/_ixserver/jobs").json()["jobs"] if j["status"] == "done"]
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0].decode()
        assert "ixserver worker: 2 thread(s)" in output, output


def test_without_an_address_the_clients_is_used(api: Api) -> None:
    invoice = issue(api, client={**CLIENT, "email": "compras@sol.pt"})
    assert send(api, invoice, client={"save": "0"}).status_code == 200
    emails = wait_for(lambda: api.get("/_ixserver/emails").json()["emails"])
    assert emails[0]["to"] == "compras@sol.pt"
    nobody = issue(api, client={"name": "Sem Email", "code": "SE"})
    assert send(api, nobody, client={"save": "0"}).json() == {"errors": [{"error": "Email is a required field"}]}
