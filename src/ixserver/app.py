"""`create_app(settings)`: the ASGI application. No module-level state: every app builds its
own database, writer thread and caches, so tests can run many side by side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import ixserver.api  # noqa: F401 - registers the {…:id} path convertor
from ixserver import __version__
from ixserver.api import accounts, clients, errors, invoices, items, permalink, sandbox, sequences, taxes
from ixserver.api.auth import AuthMiddleware, KeyCache
from ixserver.api.context import AppContext
from ixserver.config import Settings


def create_app(settings: Settings) -> FastAPI:
    ctx = AppContext.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ctx.start()
        try:
            yield
        finally:
            ctx.stop()

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
    for module in (sandbox, sequences, taxes, clients, items, accounts, invoices, permalink):
        # Flat on the app router: no nested-router hop per request, and one route table.
        app.router.routes.extend(module.router.routes)
    app.add_middleware(AuthMiddleware, ctx=ctx, keys=KeyCache(ctx))
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` (several worker processes): settings from IXSERVER_*."""
    return create_app(Settings())
