"""Jobs recover in seconds, and an e-mail is delivered at most once (issue 23).

A process holding a claimed job is SIGKILLed; another worker (the rescuer, started beside it
and leaving the job alone while its claimer lives) runs it within seconds, long before the claim's
heartbeat would go stale: the claimer's pid is found dead on this host. A SAF-T export (which
answered 202 for the 5 minutes of a lease) and an e-mail whose worker hung in the SMTP
envelope. Then the other side: a worker killed after the SMTP server accepted the message and
before the job recorded it — the real SMTP server (aiosmtpd) counts one delivery, and the job
fails in doubt rather than be sent again; the same for an SMTP conversation that breaks off
once the message is handed over, and a QUIT answered with an error after it was accepted (which
made the job be retried: delivered twice). Every case on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from ixserver import clock
from ixserver.jobs.handlers import HANDLERS
from ixserver.jobs.worker import HEARTBEAT_EVERY, STALE_AFTER, JobWorkers
from tests.api.invoicing import issue
from tests.support import TEST_SECRET_KEY, Api, LiveServer, fresh_database, live_server, smtp_server, wait_for

# Not among the slow proofs that run alone: these tests mostly wait (for a claim, a kill, an
# e-mail), so in make test's parallel part the others use the CPU meanwhile; what they time (a
# rescue within BY_HEARTBEAT of the kill) has seconds to spare on a loaded machine.

# Found by its pid, a dead claimer's job is taken within a poll; by its heartbeat it would take
# at least this long after the kill (the claimer beat just before it): the rescue must be sooner.
BY_HEARTBEAT = (STALE_AFTER.total_seconds() - HEARTBEAT_EVERY) - 1.0
RESCUER_POLL = 0.1  # seconds: the rescuer's job_poll_seconds
# Long enough for ten polls of the rescuer: a job it would take (or run again) is taken by then.
TEN_POLLS = 10 * RESCUER_POLL
CLIENT = {"name": "Mercearia Sol, Lda", "code": "SOL", "fiscal_id": "508025338"}

# A process that claims the next due job with the real claim, keeps its heartbeat, and holds it.
CLAIM_AND_HOLD = """
import time
from ixserver.config import Settings
from ixserver.jobs.handlers import HANDLERS
from ixserver.jobs.worker import JobWorkers
from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.writes.direct import DirectWrites
settings = Settings()
db = Database(settings.resolved_database_url)
workers = JobWorkers(settings, db, DirectWrites(db, Resources.from_settings(settings)), HANDLERS)
workers.start_heartbeat()
while (job := workers.claim()) is None:
    time.sleep(0.05)
print(job.id, flush=True)
time.sleep(600)
"""


def jobs(api: Api) -> list[dict[str, Any]]:
    return api.get("/_ixserver/jobs").json()["jobs"]  # type: ignore[no-any-return]


def _env(server: LiveServer, tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=server.settings.resolved_database_url, IXSERVER_SANDBOX="1",
               IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_SECRET_KEY=TEST_SECRET_KEY, IXSERVER_JOB_POLL_SECONDS="0.1",
               IXSERVER_SIGNING_KEY_FILE=str(server.settings.signing_key_file), IXSERVER_LOG_LEVEL="warning",
               **{f"IXSERVER_{k.upper()}": v for k, v in settings.items()})  # fmt: skip
    return env


@contextmanager
def victim(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


@contextmanager
def rescuer(server: LiveServer, **settings: Any) -> Iterator[JobWorkers]:
    """Another worker on the server's database: a job worker of the server's process."""
    polling = server.settings.model_copy(update={"job_poll_seconds": RESCUER_POLL, **settings})
    workers = JobWorkers(polling, server.ctx.db, server.ctx.writes, HANDLERS)
    workers.start(1)
    try:
        yield workers
    finally:
        workers.stop()


@contextmanager
def quiet_server(backend: str, tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    """A server of its own database without job workers: the victim claims first."""
    with (
        fresh_database(backend, tmp_path) as url,
        live_server(url, tmp_path, sandbox=True, job_workers=0, **settings) as server,
    ):
        yield server


def kill(proc: subprocess.Popen[str]) -> float:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return time.monotonic()


def test_a_saft_export_whose_worker_is_killed_is_made_elsewhere_within_seconds(backend: str, tmp_path: Path) -> None:
    with quiet_server(backend, tmp_path) as server:
        api = server.account()
        issue(api, client=CLIENT)
        today = clock.today()
        period = {"month": today.month, "year": today.year}
        assert api.get("/api/export_saft.json", params=period).status_code == 202
        with victim(["-c", CLAIM_AND_HOLD], _env(server, tmp_path)) as holder:
            assert holder.stdout is not None
            job_id = int(holder.stdout.readline())
            with rescuer(server):
                time.sleep(TEN_POLLS)  # its claimer lives: the rescuer leaves the job alone
                [job] = jobs(api)
                assert (job["id"], job["status"], job["claimed_by"]["pid"]) == (job_id, "running", holder.pid)
                assert api.get("/api/export_saft.json", params=period).status_code == 202
                killed = kill(holder)
                wait_for(lambda: api.get("/api/export_saft.json", params=period).status_code == 200, 30, "the export")
                took = time.monotonic() - killed
                assert took < BY_HEARTBEAT, f"made {took:.1f} s after the kill: found by the heartbeat, not the pid"
        [job] = jobs(api)
        assert (job["status"], job["attempts"], job["claimed_by"]["pid"]) == ("done", 2, os.getpid())


class Inbox:
    """A real SMTP server's handler: what it accepted (each message counted once when its DATA
    arrives), with ways to stall or break the conversation."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.rcpt = threading.Event()
        self.data = threading.Event()
        self.stall_rcpt = False  # hang at RCPT (before the message is handed over)
        self.hold_data = 0  # hold the answer to the next N messages (accepted, not yet answered)
        self.drop_after_data = False  # close the connection instead of answering the message
        self.quit_reply: str | None = None  # QUIT answered with this

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any) -> str:  # noqa: N802
        envelope.rcpt_tos.append(address)
        self.rcpt.set()
        while self.stall_rcpt:
            await asyncio.sleep(0.05)
        return "250 OK"

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(envelope.original_content)
        self.data.set()
        if self.drop_after_data:
            server.transport.close()
        if self.hold_data:
            self.hold_data -= 1
            await asyncio.sleep(3600)  # the worker is killed meanwhile
        return "250 OK"

    async def handle_QUIT(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802
        return self.quit_reply or "221 Bye"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def email(api: Api, invoice: dict[str, Any]) -> None:
    body = {"message": {"client": {"email": "dest@example.com", "save": "0"}, "subject": "A sua fatura"}}
    assert api.put(f"/invoices/{invoice['id']}/email-document.json", json=body).status_code == 200


def test_an_email_whose_worker_hung_in_the_envelope_and_was_killed_is_sent_elsewhere_once(
    backend: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """Killed before the message was handed over: not delivered, so sent again, elsewhere."""
    stalled = Inbox()
    stalled.stall_rcpt = True
    inbox, port = smtp
    with smtp_server(stalled) as stall_port:
        with quiet_server(backend, tmp_path, smtp_host="127.0.0.1", smtp_port=port) as server:
            api = server.account()
            email(api, issue(api, client=CLIENT))
            env = _env(server, tmp_path, smtp_host="127.0.0.1", smtp_port=str(stall_port))
            with victim(["-m", "ixserver", "worker"], env) as worker, ExitStack() as later:
                assert stalled.rcpt.wait(60), "the victim reached the envelope"
                later.enter_context(rescuer(server))  # once the victim holds the job
                time.sleep(TEN_POLLS)
                [job] = jobs(api)
                assert (job["status"], job["claimed_by"]["pid"], inbox.received) == ("running", worker.pid, [])
                killed = kill(worker)
                wait_for(lambda: inbox.received, 30, "the e-mail")
                took = time.monotonic() - killed
                assert took < BY_HEARTBEAT, f"sent {took:.1f} s after the kill: found by the heartbeat, not the pid"
                wait_for(lambda: jobs(api)[0]["status"] == "done", 10, "the job done")
                time.sleep(1)
            assert (len(inbox.received), stalled.received) == (1, [])
            [job] = jobs(api)
            assert (job["status"], job["attempts"]) == ("done", 2)
        stalled.stall_rcpt = False


def test_a_worker_killed_between_the_smtp_servers_acceptance_and_the_jobs_record_delivers_once(
    backend: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """At most once: the job was marked `sending` before the message was handed over; its
    claimer found dead, it fails in doubt instead of being sent again. Another e-mail of the
    same document, asked for again, is delivered once."""
    inbox, port = smtp
    inbox.hold_data = 1
    with quiet_server(backend, tmp_path, smtp_host="127.0.0.1", smtp_port=port) as server:
        api = server.account()
        invoice = issue(api, client=CLIENT)
        email(api, invoice)
        env = _env(server, tmp_path, smtp_host="127.0.0.1", smtp_port=str(port))
        with victim(["-m", "ixserver", "worker"], env) as worker, ExitStack() as later:
            assert inbox.data.wait(60), "the SMTP server accepted the message"
            later.enter_context(rescuer(server))
            [job] = jobs(api)
            assert (job["status"], job["claimed_by"]["pid"]) == ("sending", worker.pid)
            killed = kill(worker)
            failed = wait_for(lambda: [j for j in jobs(api) if j["status"] == "failed"], 30, "the job failed in doubt")
            took = time.monotonic() - killed
            assert took < BY_HEARTBEAT, f"settled {took:.1f} s after the kill: found by the heartbeat, not the pid"
            assert "may or may not have taken effect" in failed[0]["last_error"] and failed[0]["attempts"] == 1
            time.sleep(TEN_POLLS)
            assert len(inbox.received) == 1, "not sent again"
            email(api, invoice)  # the sender, told it is in doubt, asks again
            wait_for(lambda: len(inbox.received) == 2, 30, "the second e-mail")
            wait_for(lambda: jobs(api)[0]["status"] == "done", 10, "the second job done")
            time.sleep(1)
        assert len(inbox.received) == 2
        assert [(j["status"], j["attempts"]) for j in jobs(api)] == [("done", 1), ("failed", 1)]


@pytest.mark.parametrize("fault", ["drop_after_data", "quit_reply"])
def test_an_smtp_conversation_that_breaks_off_after_the_message_is_not_sent_again(
    backend: str, tmp_path: Path, smtp: tuple[Inbox, int], fault: str
) -> None:
    """The connection dropped once the message was handed over (its fate unknown): the job fails
    in doubt. QUIT answered with an error after the message was accepted: it was delivered, the
    job is done (it was retried, and delivered again)."""
    inbox, port = smtp
    if fault == "drop_after_data":
        inbox.drop_after_data = True
    else:
        inbox.quit_reply = "421 Closing"
    with quiet_server(backend, tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5) as server:
        api = server.account()
        email(api, issue(api, client=CLIENT))
        with rescuer(server):
            wait_for(lambda: jobs(api)[0]["status"] in ("done", "failed"), 30, "the job settled")
            time.sleep(4)  # a retry would come 2 s after a failed attempt
        [job] = jobs(api)
    assert len(inbox.received) == 1
    if fault == "drop_after_data":
        assert (job["status"], job["attempts"]) == ("failed", 1)
        assert job["last_error"].startswith("InDoubt: The SMTP conversation broke off"), job
    else:
        assert (job["status"], job["attempts"], job["last_error"]) == ("done", 1, None)
