"""`create_app(settings)`: the ASGI application. No module-level state: every app builds its
own database, writes (a writer thread, or the connection to the writer process) and caches, so
tests can run many side by side."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount

import ixserver.web  # noqa: F401 - registers the {…:id} path convertor
from ixserver import __version__
from ixserver.api import (
    accounts,
    assets,
    clients,
    console,
    estimates,
    guides,
    identity,
    invoices,
    items,
    meta,
    metrics,
    payments,
    pdf,
    permalink,
    purchase_orders,
    qr_codes,
    saft,
    sandbox,
    sandbox_clock,
    sandbox_faults,
    sandbox_requests,
    sandbox_seed,
    sequences,
    statements,
    taxes,
    treasury,
)
from ixserver.clock import SYSTEM, Clock
from ixserver.config import Settings
from ixserver.jobs.handlers import HANDLERS as JOB_HANDLERS
from ixserver.jobs.worker import JobWorkers
from ixserver.journal import attach
from ixserver.resources import Resources, renderers_for
from ixserver.services.modes import settle as settle_mode
from ixserver.services.signing_keys import register_signing_key
from ixserver.store.db import Database
from ixserver.store.migrate import require_current
from ixserver.store.rate_counts import RateCounts
from ixserver.store.sandbox_state import SandboxState
from ixserver.web import errors
from ixserver.web.auth import AuthMiddleware, KeyCache
from ixserver.web.boundary import InputBoundary
from ixserver.web.cache import ReadCache
from ixserver.web.context import AppContext
from ixserver.web.faults import FaultsMiddleware
from ixserver.web.parsing import PARSE_BUDGET, BodyParser
from ixserver.web.ratelimit import RateLimiter, SharedRateLimit
from ixserver.web.recorder import Recorder, RecorderMiddleware
from ixserver.web.requestlog import RequestLogMiddleware
from ixserver.web.routing import IndexedRouter
from ixserver.web.shares import AccountShares
from ixserver.writes import writes_for
from ixserver.writes.direct import DirectWrites

log = logging.getLogger("ixserver")
PARENT_CHECK = 1.0  # seconds between looks at whether `serve` is still there


def create_app(
    settings: Settings,
    writer_socket: str | None = None,
    parent_pid: int | None = None,
    clock: Clock = SYSTEM,
    *,
    prestart: bool = True,
) -> FastAPI:
    """The app of one server process; `writer_socket`: the writer process's socket, if any;
    `parent_pid`: the `serve` process it stops with, if it is one of several; `clock`: what its
    rate limits count by; `prestart`: whether it starts its first PDF child and its parser
    process as it starts (`serve`'s do; a test's server, most of whose tests draw no PDF and send
    no large body, starts them when the first needs one)."""
    ctx = build_context(settings, writer_socket, parent_pid, clock)
    ctx.prestart = prestart

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await start_context(ctx)
        tune_garbage_collector()
        try:
            yield
        finally:
            await ctx.cache.close()
            stop_context(ctx)

    app = FastAPI(
        title="ixserver",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)
    modules = (
        sandbox,
        sandbox_clock,
        sandbox_faults,
        sandbox_requests,
        sandbox_seed,
        meta,
        assets,
        console,
        metrics,
        invoices,
        payments,
        qr_codes,
        pdf,
        estimates,
        guides,
        purchase_orders,
        sequences,
        clients,
        treasury,
        statements,
        saft,
        items,
        taxes,
        accounts,
        identity,
        permalink,
    )
    router = IndexedRouter([route for module in modules for route in module.router.routes])
    app.state.router = router
    app.router.routes.append(Mount("", app=router))
    if ctx.recorder is not None:  # sandbox: inside the key's check (they need the account)
        app.add_middleware(FaultsMiddleware, ctx=ctx)
        app.add_middleware(RecorderMiddleware, recorder=ctx.recorder)  # records what faults answer too
    app.add_middleware(AuthMiddleware, ctx=ctx, keys=KeyCache(ctx))
    app.add_middleware(InputBoundary, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestLogMiddleware, access_log=settings.access_log, log_format=settings.log_format
    )  # last added: outermost
    return app


def tune_garbage_collector() -> None:
    """A server allocates many short-lived objects per request; with the default thresholds the
    cyclic collector runs every few hundred allocations and, over a large heap, its pauses make
    the slowest requests several times slower (measured: p99 of create+finalize 57-74 ms -> 19-25
    ms). Objects alive after startup are frozen out of collection; young collections are rarer."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def build_context(
    settings: Settings, writer_socket: str | None = None, parent_pid: int | None = None, clock: Clock = SYSTEM
) -> AppContext:
    """What the app of one server process owns (web/context.AppContext), nothing started yet.
    `writer_socket`: the writer process's socket (`ixserver serve`), else each
    process writes in a thread of its own. `parent_pid`: the `serve` process of this server
    process (`serve --workers N`), whose end it follows. `clock`: what the rate limits count by."""
    db = Database(settings.resolved_database_url)
    attach(db, settings).ensure()  # its writes (a writer thread) journal the seal heads they move
    resources = Resources.from_settings(settings)
    sandbox_state = SandboxState(settings.resolved_database_url) if settings.sandbox else None
    return AppContext(
        settings=settings,
        db=db,
        writes=writes_for(settings, db, resources, writer_socket),
        resources=resources,
        limiter=(
            SharedRateLimit(settings.rate_limit, RateCounts(settings.resolved_database_url), clock=clock)
            if settings.rate_limit > 0
            else None
        ),
        address_limiter=RateLimiter(settings.rate_limit, clock) if settings.rate_limit > 0 else None,
        public_limiter=(
            SharedRateLimit(
                settings.public_rate_limit, RateCounts(settings.resolved_database_url), many=True, clock=clock
            )
            if settings.public_rate_limit > 0 or settings.public_address_rate_limit > 0
            else None
        ),
        cache=ReadCache(db, enabled=settings.read_cache),
        shares=AccountShares(settings.account_requests, settings.account_body_bytes, settings.max_body_bytes),
        parser=BodyParser(
            settings.account_parse_ms,
            SharedRateLimit(0, RateCounts(settings.resolved_database_url), clock=clock, window=1.0, prefix=PARSE_BUDGET)
            if settings.account_parse_ms > 0
            else None,
        ),
        renderers=renderers_for(settings),
        drawing=asyncio.Semaphore(settings.render_workers),
        parent_pid=parent_pid,
        sandbox=sandbox_state,
        recorder=Recorder(sandbox_state) if sandbox_state is not None else None,
    )


async def start_context(ctx: AppContext) -> None:
    """The app's start: the schema checked, the database's mode checked against the settings'
    (recorded if it has none: services/modes.py), the writes opened, the signing key's public half
    registered, the limits' flushers, the job workers, the first PDF child and the parser process
    (unless `ctx.prestart` is off: then the first PDF and the first large body start them)."""
    require_current(ctx.db)
    note = settle_mode(ctx.db, ctx.settings.sandbox, DirectWrites(ctx.db).run_sync)  # ModeMismatch: not started
    if note is not None:
        log.warning(note)
    await ctx.writes.open()
    await ctx.writes.run_with_resources(register_signing_key)
    for limiter in (ctx.limiter, ctx.public_limiter, ctx.parser.budget):
        if limiter is not None:
            limiter.start()
    if ctx.settings.job_workers:
        ctx.jobs = JobWorkers(ctx.settings, ctx.db, ctx.writes, JOB_HANDLERS, ctx.renderers)
        ctx.jobs.start(ctx.settings.job_workers)
    if ctx.parent_pid is not None:
        threading.Thread(target=_follow, args=(ctx.parent_pid,), name="ixserver-parent", daemon=True).start()
    if ctx.recorder is not None:
        ctx.recorder.start()
    if ctx.prestart:
        ctx.renderers.prestart()
        ctx.parser.prestart()
    ctx.ready = True


def stop_context(ctx: AppContext) -> None:
    """Everything `start_context` started, stopped; the database's connections closed."""
    ctx.ready = False
    if ctx.jobs is not None:
        ctx.jobs.stop()
    for limiter in (ctx.limiter, ctx.public_limiter, ctx.parser.budget):
        if limiter is not None:
            limiter.close()
    ctx.renderers.close()
    if ctx.recorder is not None:
        ctx.recorder.stop()
    if ctx.sandbox is not None:
        ctx.sandbox.dispose()
    ctx.writes.close()
    ctx.parser.close()
    ctx.db.dispose()


def _follow(parent_pid: int) -> None:
    """When `serve` is gone (killed), stop this server process as SIGTERM would: the port is
    freed for the next `serve`, instead of an orphan that reads but cannot write."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK)
    log.error("the serve process %s is gone; this server process stops", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)
