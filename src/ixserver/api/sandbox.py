"""The /_ixserver control API: health always; the rest only in sandbox mode
(IXSERVER_SANDBOX=1), where it answers 404 otherwise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.auth import api_key_of
from ixserver.api.context import context
from ixserver.api.errors import unauthorized
from ixserver.api.routing import Router
from ixserver.api.wire import JSONResponse
from ixserver.domain.errors import NotFound
from ixserver.services import accounts as account_service
from ixserver.store.db import Database

router = Router(prefix="/_ixserver")


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 when reads and writes are served; 503 while starting, or while writes cannot be (the
    writer process is being started again)."""
    ctx = context(request)
    if await ctx.can_write():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable" if ctx.ready else "starting"}, status_code=503)


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Wipe one account's data (the account of `api_key`) back to a new account's state."""
    ctx = context(request)
    if not ctx.settings.sandbox:
        raise NotFound()
    key = api_key_of(request.scope)
    ref = _authenticate(ctx.db, key) if key else None
    if ref is None:
        return unauthorized()
    await ctx.writes.run(account_service.reset_account, ref.id)
    return JSONResponse({"reset": ref.name})


@router.get("/stats")
async def stats(request: Request) -> Response:
    """What this server process has done: write batches and use cases, read-cache hits."""
    ctx = context(request)
    if not ctx.settings.sandbox:
        raise NotFound()
    return JSONResponse(
        {
            "writer": await ctx.writes.stats(),
            "read_cache": {"enabled": ctx.cache.enabled, "hits": ctx.cache.hits, "misses": ctx.cache.misses},
        }
    )


def _authenticate(db: Database, key: str) -> account_service.AccountRef | None:
    with db.read() as conn:
        return account_service.authenticate(conn, key)
