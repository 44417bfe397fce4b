"""Job worker threads. Each polls for a due job with a read (no write transaction while idle),
claims it in a short write, runs its handler outside any transaction, then finishes it — or, when
the handler raised, puts it back `backoff(attempts)` later with the error, until
IXSERVER_JOB_ATTEMPTS are spent.

A claim dies with its process, not after a lease: it records its token and its claimer (`this
process`: the host, the pid and the process's start) and a heartbeat that this process's
heartbeat thread moves on every `HEARTBEAT_EVERY` seconds while the job runs. Another worker
takes a running job whose claimer is gone: on the same host, at once when its pid is not alive or
is another process (a pid reused); elsewhere (or when the host cannot tell), once its heartbeat
is `STALE_AFTER` old. A handler whose effect cannot be undone (an e-mail) marks the job `sending`
just before (`JobContext.mark_sending`): a job found `sending` with its claimer gone is not run
again (store/jobs.py), and a handler that cannot tell whether its effect happened raises
`InDoubt` — the job fails with that error, never retried (at most once)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.config import Settings
from ixserver.domain.errors import Unavailable
from ixserver.render.children import Renderers
from ixserver.resources import renderers_for
from ixserver.store import jobs as store
from ixserver.store.db import Database
from ixserver.writes import Writes
from ixserver.writes.use_cases import of_no_account

log = logging.getLogger("ixserver.jobs")
HEARTBEAT_EVERY = 2.0  # seconds between the heartbeats of a process's running jobs
STALE_AFTER = timedelta(seconds=10)  # a heartbeat older than this: its claimer is gone
FINISH_TRIES = 5  # a finished job's record, tried again this often (1, 2, 4, 8 s apart) before giving up
IN_DOUBT = (
    "Its worker ended while the job was being carried out (an e-mail being handed to the SMTP server): it may or may"
    " not have taken effect, and is not run again (at most once)."
)

Handler = Callable[["JobContext", store.Job], None]


class InDoubt(Exception):  # noqa: N818 - a state the job ends in, as the API says it
    """Whether the job's effect happened cannot be told (the SMTP server's answer to a message
    was lost): the job fails with this error and is not run again."""


class ClaimLost(Exception):  # noqa: N818 - what happened, not an error of the handler's
    """The job is another worker's now (this process was taken for gone): leave it."""


class JobContext:
    """What a handler may use: the settings, reads, short writes, and the process's PDF renderers."""

    def __init__(self, settings: Settings, db: Database, writes: Writes, renderers: Renderers) -> None:
        self.settings, self.db, self.writes, self.renderers = settings, db, writes, renderers

    def mark_sending(self, job: store.Job) -> None:
        """Just before the job's effect, which cannot be undone, starts: from now on the job is
        not run again if this process dies. ClaimLost if another worker has it."""
        assert job.token is not None
        if not self.writes.run_sync(_mark_sending, job.id, job.token):
            raise ClaimLost(f"job {job.id} was taken by another worker")


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 2, 4, 8 … seconds, at most five minutes."""
    return timedelta(seconds=min(2**attempts, 300))


# -- who claims ------------------------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """When the process `pid` started (clock ticks after boot, /proc/<pid>/stat's 22nd field);
    None when there is no such process, or it has ended (a zombie), or /proc cannot tell."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command, which may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def this_process() -> store.Claimer:
    """This process as a claimer. Its host names where its pid means it: the host's name, its
    boot, its PID namespace (two containers of one host do not see each other's pids)."""
    return _claimer(os.getpid())  # by pid: a forked child is a claimer of its own


@cache
def _claimer(pid: int) -> store.Claimer:
    boot = _read("/proc/sys/kernel/random/boot_id") or "?"
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "?"
    return store.Claimer(f"{socket.gethostname()} {boot} {namespace}"[:255], pid, process_start(pid))


def claimer_alive(pid: int, started: int | None) -> bool:
    """Whether the claimer (pid, start) of this host is still the process that claimed: false
    when the pid is gone, or is another process. True when this host cannot tell (no /proc):
    the heartbeat decides then."""
    if started is None or not Path("/proc/self/stat").exists():
        return True
    return process_start(pid) == started


# -- the use cases (short writes) --------------------------------------------------------------


@of_no_account
def _claim(conn: Connection, now: datetime, claimer: store.Claimer, orphans: list[str]) -> store.Job | None:
    return store.claim(conn, now, now - STALE_AFTER, claimer, secrets.token_hex(16), orphans, IN_DOUBT)


@of_no_account
def _heartbeat(conn: Connection, claims: list[tuple[int, str]]) -> None:
    store.heartbeat(conn, claims, clock.real_now())


@of_no_account
def _mark_sending(conn: Connection, job_id: int, token: str) -> bool:
    return store.mark_sending(conn, job_id, token, clock.real_now())


@of_no_account
def _finish(conn: Connection, job_id: int, token: str) -> None:
    store.finish(conn, job_id, token, clock.real_now())


@of_no_account
def _retry_or_fail(conn: Connection, job_id: int, token: str, error: str, retry_at: datetime | None) -> None:
    store.retry_or_fail(conn, job_id, token, error, retry_at, clock.real_now())


class JobWorkers:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        writes: Writes,
        handlers: dict[str, Handler],
        renderers: Renderers | None = None,
    ) -> None:
        """`renderers`: the process's (a server process's are its API's); else the workers' own."""
        self._own_renderers = renderers_for(settings) if renderers is None else None
        self.context = JobContext(settings, db, writes, renderers or self._own_renderers)  # type: ignore[arg-type]
        self.handlers = handlers
        self.settings = settings
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []
        self.claimer = this_process()
        self._running: dict[int, str] = {}  # the jobs this process runs: id -> the claim's token
        self._running_lock = threading.Lock()

    def start(self, count: int) -> None:
        self.start_heartbeat()
        for n in range(count):
            thread = threading.Thread(target=self._loop, name=f"ixserver-jobs-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def start_heartbeat(self) -> None:
        """The thread that keeps this process's claims alive."""
        thread = threading.Thread(target=self._beat, name="ixserver-jobs-heartbeat", daemon=True)
        thread.start()
        self.threads.append(thread)

    def notify(self) -> None:
        """A job was just enqueued: look now rather than at the next poll."""
        self.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(10)
        if self._own_renderers is not None:
            self._own_renderers.close()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_one()
            except Unavailable as exc:  # the database's fault (or the writer away): looked at again
                log.warning("job worker: %s", exc.message)
                worked = False
            except Exception:  # noqa: BLE001 - a worker outlives a database hiccup
                log.exception("job worker: could not claim or finish a job")
                worked = False
            if not worked:
                self.wake.wait(self.settings.job_poll_seconds)
                self.wake.clear()

    def _beat(self) -> None:
        while not self.stopping.wait(HEARTBEAT_EVERY):
            with self._running_lock:
                claims = list(self._running.items())
            if not claims:
                continue
            try:
                self.context.writes.run_sync(_heartbeat, claims)
            except Exception:  # noqa: BLE001 - the next beat tries again; a claim lasts STALE_AFTER
                log.warning("job worker: the heartbeat of %s job(s) could not be written", len(claims), exc_info=True)

    def run_one(self) -> bool:
        """Claim and run one due job; whether there was one."""
        job = self.claim()
        if job is None:
            return False
        try:
            self.run(job)
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)
        return True

    def claim(self) -> store.Job | None:
        """The next due job, claimed by this process (its heartbeat kept until it is run), or None.
        Found first with reads: what is due, and the claims of this host whose process is gone."""
        now = clock.real_now()
        with self.context.db.read() as conn:
            orphans = [token for token, pid, started in store.claims_on(conn, self.claimer.host)
                       if not claimer_alive(pid, started)]  # fmt: skip
            if not orphans and not store.any_due(conn, now, now - STALE_AFTER):
                return None
        job = self.context.writes.run_sync(_claim, now, self.claimer, orphans)
        if job is not None:
            assert job.token is not None
            with self._running_lock:
                self._running[job.id] = job.token
        return job

    def run(self, job: store.Job) -> None:
        """Run a claimed job's handler, then finish it or put it back."""
        assert job.token is not None
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            handler(self.context, job)
        except ClaimLost:
            log.warning("job %s (%s): another worker has taken it over", job.id, job.kind)
            return
        except Exception as exc:  # noqa: BLE001 - any failure is the job's, kept and retried
            error = f"{type(exc).__name__}: {exc}"[:2000]
            final = isinstance(exc, InDoubt) or job.attempts >= self.settings.job_attempts
            retry_at = None if final else clock.real_now() + backoff(job.attempts)
            log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, error)
            self._record(_retry_or_fail, job.id, job.token, error, retry_at)
            return
        self._record(_finish, job.id, job.token)

    def _record(self, fn: Callable[..., None], *args: Any) -> None:
        """An attempt's outcome, written: tried again a few times (the writer may be starting
        again, the database may be away for a moment) rather than leave a job that was carried
        out to look gone. Its heartbeat goes on meanwhile."""
        for attempt in range(FINISH_TRIES):
            try:
                self.context.writes.run_sync(fn, *args)
                return
            except Exception:  # noqa: BLE001 - tried again, then left to the claim's rules
                if attempt == FINISH_TRIES - 1 or self.stopping.is_set():
                    raise
                log.warning("job %s: its outcome could not be recorded; trying again", args[0], exc_info=True)
                time.sleep(2**attempt)
