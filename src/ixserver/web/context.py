"""What one app instance owns: settings, database, writes (a writer thread, or the connection to
the writer process), the process's resources (signer, vault, AT adapter), caches, limits, the
PDF children; whether it is ready (the health check), and the accessors a handler reaches it by.
`app.py` builds, starts and stops it."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request

from ixserver.config import Settings
from ixserver.domain.errors import DatabaseUnavailable
from ixserver.render.children import Renderers
from ixserver.resources import Resources
from ixserver.services.accounts import AccountRef
from ixserver.store.db import Database
from ixserver.store.sandbox_state import SandboxState
from ixserver.web.cache import ReadCache
from ixserver.web.parsing import BodyParser
from ixserver.web.ratelimit import RateLimiter, SharedRateLimit
from ixserver.web.recorder import Recorder
from ixserver.web.shares import AccountShares
from ixserver.writes import Writes

log = logging.getLogger("ixserver")
HEALTH_FRESH = 0.5  # seconds a health check's look at the writer's fault and at a read is reused


class JobsRunning(Protocol):
    """The job outbox's workers of a process, as the app sees them (jobs/worker.JobWorkers)."""

    def notify(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class AppContext:
    settings: Settings
    db: Database
    writes: Writes
    resources: Resources
    limiter: SharedRateLimit | None  # per account, shared by the server's processes and instances
    address_limiter: RateLimiter | None  # per client address, for requests with a wrong key
    public_limiter: SharedRateLimit | None  # the public addresses: per address and per client address, shared
    cache: ReadCache
    shares: AccountShares  # each account's share of this process (requests, bytes of bodies)
    renderers: Renderers  # the child processes that draw this process's PDFs (and its job workers')
    drawing: asyncio.Semaphore  # a turn for each of them: the requests beyond wait on the event loop
    parser: BodyParser = field(default_factory=BodyParser)  # large bodies, in a process of their own
    # (account id, proprietary_uid) of document creations under way in this process
    in_flight: set[tuple[int, str]] = field(default_factory=set)
    ready: bool = field(default=False)
    prestart: bool = True  # the first PDF child and the parser process started with the app (app.start_context)
    parent_pid: int | None = None
    jobs: JobsRunning | None = None  # the job outbox's workers of this process (IXSERVER_JOB_WORKERS)
    sandbox: SandboxState | None = None  # sandbox: the accounts' faults and recorded requests, shared
    recorder: Recorder | None = None  # sandbox: this process's recordings on their way to `sandbox`
    _health: tuple[float, str | None] = (float("-inf"), None)  # (when, what the last full health check found)

    async def not_ready(self) -> str | None:
        """Why a request would not be served now, or None (the health check): still starting; the
        writer away, or the database's fault it met (its disk full, read-only …); the database
        not answering a read. What needs the writer process or the database is asked at most
        every HEALTH_FRESH seconds (a balancer, or a benchmark, may ask very often)."""
        if not self.ready:
            return "starting"
        if not await self.writes.ready():
            return f"writes: {await self.writes.fault()}"
        now = time.monotonic()
        if now - self._health[0] >= HEALTH_FRESH:
            self._health = (now, await self._health_now())
        return self._health[1]

    async def _health_now(self) -> str | None:
        fault = await self.writes.fault()
        if fault is not None:
            return f"writes: {fault}"
        try:
            self.db.ping()
        except DatabaseUnavailable as exc:
            return f"reads: {exc.reason}"
        return None

    def job_enqueued(self) -> None:
        """A use case of this process enqueued a job: its workers look now."""
        if self.jobs is not None:
            self.jobs.notify()


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def account(request: Request) -> AccountRef:
    ref: AccountRef = request.state.account
    return ref
