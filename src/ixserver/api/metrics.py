"""`GET /metrics`: the server's Prometheus metrics (ixserver/metrics.py says what each is). No API
key, as Prometheus scrapes (it names routes and counts, never an account); IXSERVER_METRICS=0
turns it off (404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ixserver import metrics
from ixserver.domain.errors import NotFound
from ixserver.store import jobs as job_store
from ixserver.web.context import context
from ixserver.web.routing import Router

router = Router()
PATH = "/metrics"


@router.get(PATH)
async def exposition(request: Request) -> Response:
    ctx = context(request)
    if not ctx.settings.metrics:
        raise NotFound()
    with ctx.db.read() as conn:
        depth = job_store.depth(conn)
    body, content_type = metrics.exposition(depth)
    return Response(body, media_type=content_type)
