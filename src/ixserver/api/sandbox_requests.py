"""`GET /_ixserver/requests?limit=N` (sandbox): the recorder's account's latest requests, oldest
first, with their bodies and answers (web/recorder.py): what `ixserver replay` replays."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.sandbox import sandbox_context
from ixserver.domain.errors import ValidationFailed
from ixserver.store.sandbox_state import Recorded
from ixserver.web.context import account
from ixserver.web.recorder import KEEP
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_int

router = Router(prefix="/_ixserver")
DEFAULT_LIMIT = 100


def body(text: str) -> Any:
    """A body as JSON when it is JSON (as the API's are), else its text; null when empty."""
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def render(request_id: int, entry: Recorded) -> dict[str, Any]:
    return {
        "id": request_id,
        "at": entry.at.isoformat(timespec="milliseconds"),
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "status": entry.status or None,  # null: the connection closed before an answer
        "duration_ms": entry.duration_ms,
        "request": {"body": body(entry.request_body)},
        "response": {"body": body(entry.response_body)},
        "truncated": entry.truncated,
    }


@router.get("/requests")
async def recorded_requests(request: Request) -> Response:
    ctx = sandbox_context(request)
    limit = as_int(request.query_params.get("limit"), "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= KEEP:
        raise ValidationFailed(f"limit must be from 1 to {KEEP} (the recorder keeps the latest {KEEP})")
    assert ctx.sandbox is not None and ctx.recorder is not None  # built in sandbox mode
    await run_in_threadpool(ctx.recorder.flush)  # this process's latest too
    found = await run_in_threadpool(ctx.sandbox.recorded, account(request).id, limit)
    return JSONResponse({"requests": [render(n, entry) for n, entry in found]})
