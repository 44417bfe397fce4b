"""What one app instance owns: settings, database, writes (a writer thread, or the connection to
the writer process), the process's resources (signer, vault, AT adapter), caches."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from ixserver.api.cache import ReadCache
from ixserver.api.parsing import BodyParser
from ixserver.api.ratelimit import RateLimiter, SharedRateLimit
from ixserver.api.shares import AccountShares
from ixserver.config import Settings
from ixserver.domain.errors import DatabaseUnavailable
from ixserver.jobs.handlers import HANDLERS as JOB_HANDLERS
from ixserver.jobs.worker import JobWorkers
from ixserver.journal import attach
from ixserver.render.children import Renderers
from ixserver.resources import Resources, renderers_for
from ixserver.services.accounts import AccountRef
from ixserver.services.signing_keys import register_signing_key
from ixserver.store.db import Database
from ixserver.store.migrate import require_current
from ixserver.store.rate_counts import RateCounts
from ixserver.writes import Writes, writes_for

log = logging.getLogger("ixserver")
PARENT_CHECK = 1.0  # seconds between looks at whether `serve` is still there
HEALTH_FRESH = 0.5  # seconds a health check's look at the writer's fault and at a read is reused


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
    parent_pid: int | None = None
    jobs: JobWorkers | None = None  # the job outbox's workers of this process (IXSERVER_JOB_WORKERS)
    _health: tuple[float, str | None] = (float("-inf"), None)  # (when, what the last full health check found)

    @classmethod
    def build(cls, settings: Settings, writer_socket: str | None = None, parent_pid: int | None = None) -> AppContext:
        """`writer_socket`: the writer process's socket (`ixserver serve` on SQLite), else each
        process writes in a thread of its own. `parent_pid`: the `serve` process of this server
        process (`serve --workers N`), whose end it follows."""
        db = Database(settings.resolved_database_url)
        attach(db, settings).ensure()  # its writes (a writer thread) journal the seal heads they move
        resources = Resources.from_settings(settings)
        return cls(
            settings=settings,
            db=db,
            writes=writes_for(settings, db, resources, writer_socket),
            resources=resources,
            limiter=(
                SharedRateLimit(settings.rate_limit, RateCounts(settings.resolved_database_url))
                if settings.rate_limit > 0
                else None
            ),
            address_limiter=RateLimiter(settings.rate_limit) if settings.rate_limit > 0 else None,
            public_limiter=(
                SharedRateLimit(settings.public_rate_limit, RateCounts(settings.resolved_database_url), many=True)
                if settings.public_rate_limit > 0 or settings.public_address_rate_limit > 0
                else None
            ),
            cache=ReadCache(db, enabled=settings.read_cache),
            shares=AccountShares(settings.account_requests, settings.account_body_bytes, settings.max_body_bytes),
            renderers=renderers_for(settings),
            drawing=asyncio.Semaphore(settings.render_workers),
            parent_pid=parent_pid,
        )

    async def start(self) -> None:
        require_current(self.db)
        await self.writes.open()
        await self.writes.run_with_resources(register_signing_key)
        for limiter in (self.limiter, self.public_limiter):
            if limiter is not None:
                limiter.start()
        if self.settings.job_workers:
            self.jobs = JobWorkers(self.settings, self.db, self.writes, JOB_HANDLERS, self.renderers)
            self.jobs.start(self.settings.job_workers)
        if self.parent_pid is not None:
            threading.Thread(target=_follow, args=(self.parent_pid,), name="ixserver-parent", daemon=True).start()
        self.renderers.prestart()
        self.ready = True

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

    def stop(self) -> None:
        self.ready = False
        if self.jobs is not None:
            self.jobs.stop()
        for limiter in (self.limiter, self.public_limiter):
            if limiter is not None:
                limiter.close()
        self.renderers.close()
        self.writes.close()
        self.parser.close()
        self.db.dispose()


def _follow(parent_pid: int) -> None:
    """When `serve` is gone (killed), stop this server process as SIGTERM would: the port is
    freed for the next `serve`, instead of an orphan that reads but cannot write."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK)
    log.error("the serve process %s is gone; this server process stops", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def account(request: Request) -> AccountRef:
    ref: AccountRef = request.state.account
    return ref
