"""`/_ixserver/faults` (sandbox): faults the account's next requests meet (web/faults.py).

`POST {"fault": {"method": "POST", "path": "/invoices.json", "status": 503, "times": 1}}` adds
one (also `delay_ms`, `"close": true`, `"always": true` instead of a number of times);
`POST {"fault": {"pdf_pending": 2}}`: the next 2 PDF requests (`GET /api/pdf/{id}.json`)
answer the documented 202 before the 200. `GET` lists the account's faults, `DELETE` clears them."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ixserver import clock
from ixserver.api.sandbox import sandbox_context
from ixserver.domain.errors import ValidationFailed
from ixserver.store.sandbox_state import Fault, SandboxState
from ixserver.web.context import AppContext, account
from ixserver.web.faults import PDF_PATH
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_flag, as_int, as_text, read_body, require_root

router = Router(prefix="/_ixserver")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_TIMES = 10_000
MAX_DELAY_MS = 60_000


def render(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "method": fault.method,
        "path": fault.path,
        "status": fault.status,
        "delay_ms": fault.delay_ms,
        "close": fault.close,
        "times": fault.remaining,  # left; null: every time
        "created_at": fault.created_at.isoformat(timespec="seconds"),
    }


def fault_of(data: dict[str, Any]) -> Fault:
    """The fault a body asks for, or a 422 saying what is wrong with it."""
    now = clock.real_now()
    pending = as_int(data.get("pdf_pending"), "pdf_pending")
    if pending is not None:
        if not 1 <= pending <= MAX_TIMES:
            raise ValidationFailed(f"pdf_pending must be from 1 to {MAX_TIMES}")
        return Fault(0, "GET", PDF_PATH, 202, 0, False, pending, now)
    problems: list[str] = []
    method = (as_text(data.get("method"), "method", 8) or "").upper() or None
    if method is not None and method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)} (or left out: any)")
    path = as_text(data.get("path"), "path", 255) or ""
    if not path.startswith("/") or "?" in path:
        problems.append(
            'path must be an API path without its query, e.g. "/invoices.json" ("*": any characters but "/")'
        )
    elif path.startswith("/_ixserver/"):
        problems.append("the control API (/_ixserver/…) takes no faults")
    status = as_int(data.get("status"), "status")
    if status is not None and not 400 <= status <= 599:
        problems.append("status must be from 400 to 599 (for the PDF's 202, pdf_pending)")
    delay_ms = as_int(data.get("delay_ms"), "delay_ms") or 0
    if not 0 <= delay_ms <= MAX_DELAY_MS:
        problems.append(f"delay_ms must be from 0 to {MAX_DELAY_MS}")
    close = bool(as_flag(data.get("close"), "close"))
    if close and status is not None:
        problems.append("a fault either closes the connection or answers a status, not both")
    if status is None and not close and not delay_ms:
        problems.append("a fault needs a status, a delay_ms or close")
    always = bool(as_flag(data.get("always"), "always"))
    times = as_int(data.get("times"), "times")
    if always and times is not None:
        problems.append('"always" and "times" are one or the other')
    if times is not None and not 1 <= times <= MAX_TIMES:
        problems.append(f"times must be from 1 to {MAX_TIMES}")
    if problems:
        raise ValidationFailed(*problems)
    return Fault(0, method, path, status, delay_ms, close, None if always else (times or 1), now)


def _state(request: Request) -> tuple[AppContext, SandboxState]:
    ctx = sandbox_context(request)
    assert ctx.sandbox is not None  # built in sandbox mode
    return ctx, ctx.sandbox


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    _ctx, state = _state(request)
    fault = fault_of(require_root(await read_body(request), "fault"))
    added = await run_in_threadpool(state.add_fault, account(request).id, fault)
    return JSONResponse({"fault": render(added)}, status_code=201)


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    _ctx, state = _state(request)
    found = await run_in_threadpool(state.list_faults, account(request).id)
    return JSONResponse({"faults": [render(f) for f in found]})


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    _ctx, state = _state(request)
    cleared = await run_in_threadpool(state.clear_faults, account(request).id)
    return JSONResponse({"cleared": cleared})
