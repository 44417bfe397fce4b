"""`ixserver jobs list` and `ixserver jobs retry` (issue 25 item 5): an operator sees every
account's jobs and runs a failed one again, in production as in sandbox. Against a real
database, a production server with its job workers, and a real SMTP server (aiosmtpd) that
refuses the recipient, then accepts it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from stdnum.pt import nif

from tests.api.invoicing import IDENTITY, issue
from tests.support import Api, LiveServer, fresh_database, live_server, smtp_server, wait_for
from tests.test_cli import ixserver


class Mailbox:
    """An SMTP server's answers: the recipient refused (550) while `refusing`, else kept."""

    def __init__(self) -> None:
        self.refusing = True
        self.received: list[EmailMessage] = []

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refusing:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def mailing(backend: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Mailbox]]:
    """A production server of its own database whose e-mails go through the Mailbox; a job has
    one attempt."""
    mailbox = Mailbox()
    with (
        smtp_server(mailbox) as port,
        fresh_database(backend, tmp_path) as url,
        live_server(
            url, tmp_path, sandbox=False, smtp_host="127.0.0.1", smtp_port=port, job_attempts=1, job_poll_seconds=0.1
        ) as server,  # fmt: skip
    ):
        yield server, mailbox


def a_production_account(server: LiveServer) -> Api:
    """An account that issues in production: its identity, and AT's code for its first series."""
    base = "5" + "".join(random.choice("0123456789") for _ in range(7))
    api = server.account(fiscal_id=base + nif.calc_check_digit(base), **IDENTITY)
    serie = api.get("/sequences.json").json()["sequences"][0]["serie"]
    entered = api.put(f"/_ixserver/series/{serie}/validation_codes.json", json={"validation_codes": {"FT": "AAAA1111"}})
    assert entered.status_code == 200, entered.text
    return api


def jobs(server: LiveServer, *args: str) -> Any:
    return ixserver("jobs", *args, data_dir=server.settings.data_dir, url=server.settings.resolved_database_url)


def test_an_operator_sees_a_failed_job_and_runs_it_again(mailing: tuple[LiveServer, Mailbox]) -> None:
    server, mailbox = mailing
    api = a_production_account(server)
    invoice = issue(api)
    body = {"message": {"client": {"email": "dest@example.com", "save": "0"}, "subject": "Fatura", "body": "<p>.</p>"}}
    assert api.put(f"/invoices/{invoice['id']}/email-document.json", json=body).status_code == 200

    def failed() -> list[list[str]]:
        listed = jobs(server, "list", "--state", "failed")
        assert listed.returncode == 0, listed.stderr
        return [line.split() for line in listed.stdout.splitlines()[1:]]

    [row] = wait_for(failed, 30, "the job failed")
    header = jobs(server, "list").stdout.splitlines()[0].split()
    assert header == ["ID", "KIND", "STATE", "ATTEMPTS", "LAST", "ERROR", "ACCOUNT"]
    job_id = row[0]
    assert row[1:4] == ["email", "failed", "1"] and row[-1] == api.name
    assert "550" in " ".join(row) and "mailbox unavailable" in " ".join(row), row
    assert mailbox.received == []

    mailbox.refusing = False
    retried = jobs(server, "retry", job_id)
    assert (retried.returncode, retried.stdout, retried.stderr) == (0, f"job {job_id} (email) queued again\n", "")
    [message] = wait_for(lambda: mailbox.received, 30, "the server's worker sent it")
    assert message["To"] == "dest@example.com" and message["Subject"] == "Fatura"

    def done() -> list[str] | None:
        rows = [line.split() for line in jobs(server, "list", "--account", api.name).stdout.splitlines()[1:]]
        return rows[0] if rows and rows[0][2] == "done" else None

    after = wait_for(done, 30, "the job is done")
    assert after[:4] == [job_id, "email", "done", "1"]
    again = jobs(server, "retry", job_id)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == f"error: Job {job_id} is done: only a failed job is retried\n"


def test_what_is_not_a_job_or_a_state_is_refused(mailing: tuple[LiveServer, Mailbox]) -> None:
    server, _mailbox = mailing
    missing = jobs(server, "retry", "987654")
    assert (missing.returncode, missing.stderr) == (1, "error: There is no job 987654\n")
    wrong = jobs(server, "list", "--state", "lost")
    assert wrong.returncode == 2 and "one of queued, running, sending, done, failed" in wrong.stderr
    nobody = jobs(server, "list", "--account", "nobody")
    assert nobody.returncode == 1 and nobody.stdout == ""
    empty = jobs(server, "list")
    assert empty.returncode == 0 and empty.stdout.split() == [
        "ID",
        "KIND",
        "STATE",
        "ATTEMPTS",
        "LAST",
        "ERROR",
        "ACCOUNT",
    ]
