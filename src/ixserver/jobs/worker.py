"""Job worker threads. Each polls for a due job with a read (no write transaction while idle),
claims it in a short write (the lease: a worker that dies leaves its job due again when the lease
ends), runs its handler outside any transaction, then finishes it — or, when the handler raised,
puts it back `backoff(attempts)` later with the error, until IXSERVER_JOB_ATTEMPTS are spent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.config import Settings
from ixserver.store import jobs as store
from ixserver.store.db import Database
from ixserver.writes import Writes

log = logging.getLogger("ixserver.jobs")
LEASE = timedelta(minutes=5)

Handler = Callable[["JobContext", store.Job], None]


class JobContext:
    """What a handler may use: the settings, reads, and short writes."""

    def __init__(self, settings: Settings, db: Database, writes: Writes) -> None:
        self.settings, self.db, self.writes = settings, db, writes


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 2, 4, 8 … seconds, at most five minutes."""
    return timedelta(seconds=min(2**attempts, 300))


def _claim(conn: Connection, now: datetime) -> store.Job | None:
    return store.claim(conn, now, now + LEASE)


def _finish(conn: Connection, job_id: int) -> None:
    store.finish(conn, job_id, clock.now())


def _retry_or_fail(conn: Connection, job_id: int, error: str, retry_at: datetime | None) -> None:
    store.retry_or_fail(conn, job_id, error, retry_at, clock.now())


class JobWorkers:
    def __init__(self, settings: Settings, db: Database, writes: Writes, handlers: dict[str, Handler]) -> None:
        self.context = JobContext(settings, db, writes)
        self.handlers = handlers
        self.settings = settings
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, count: int) -> None:
        for n in range(count):
            thread = threading.Thread(target=self._loop, name=f"ixserver-jobs-{n}", daemon=True)
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

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_one()
            except Exception:  # noqa: BLE001 - a worker outlives a database hiccup
                log.exception("job worker: could not claim or finish a job")
                worked = False
            if not worked:
                self.wake.wait(self.settings.job_poll_seconds)
                self.wake.clear()

    def run_one(self) -> bool:
        """Claim and run one due job; whether there was one."""
        now = clock.now()
        with self.context.db.read() as conn:
            if not store.any_due(conn, now):
                return False
        job = self.context.writes.run_sync(_claim, now)
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            handler(self.context, job)
        except Exception as exc:  # noqa: BLE001 - any failure is the job's, kept and retried
            error = f"{type(exc).__name__}: {exc}"[:2000]
            retry_at = None if job.attempts >= self.settings.job_attempts else clock.now() + backoff(job.attempts)
            log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, error)
            self.context.writes.run_sync(_retry_or_fail, job.id, error, retry_at)
            return True
        self.context.writes.run_sync(_finish, job.id)
        return True


def describe(job: store.Job) -> dict[str, Any]:
    """A job as /_ixserver/jobs shows it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "run_after": job.run_after.isoformat(),
        "last_error": job.last_error,
        "payload": job.payload,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
