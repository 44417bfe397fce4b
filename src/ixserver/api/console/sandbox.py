"""The console's sandbox pages (sandbox mode only: 404 in production): the account's clock (set,
advance, back to real time) and faults (add, list, clear), driving the control API's own code
(api/sandbox_clock.py, api/sandbox_faults.py: the same checks, the same refusals), and the
request recorder's latest requests with their bodies and answers (api/sandbox_requests.py)."""

from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ixserver.api import sandbox_requests
from ixserver.api.console.pages import page, render
from ixserver.api.console.session import PATH, Session
from ixserver.api.sandbox import sandbox_context
from ixserver.api.sandbox_clock import moment
from ixserver.api.sandbox_faults import METHODS, fault_of
from ixserver.api.sandbox_faults import render as render_fault
from ixserver.domain.errors import ValidationFailed
from ixserver.services import clocks
from ixserver.store.sandbox_state import SandboxState
from ixserver.web.context import AppContext

REQUESTS_SHOWN = 100


def _state(request: Request) -> tuple[AppContext, SandboxState]:
    ctx = sandbox_context(request)
    assert ctx.sandbox is not None  # built in sandbox mode
    return ctx, ctx.sandbox


def _back() -> Response:
    return RedirectResponse(f"{PATH}/sandbox", status_code=303)


@page("/sandbox")
async def controls(request: Request, session: Session) -> Response:
    ctx, state = _state(request)
    with ctx.db.read() as conn:
        found = clocks.clock_of(conn, session.account.id)
    faults = [render_fault(f) for f in await run_in_threadpool(state.list_faults, session.account.id)]
    return render(request, session, "sandbox.html", clock=found, faults=faults, methods=METHODS)


@page("/sandbox/clock", "POST")
async def set_clock(request: Request, session: Session) -> Response:
    ctx = sandbox_context(request)
    fields, account_id = request.state.form, session.account.id
    if fields.get("real"):
        await ctx.writes.run(clocks.real_time, account_id)
    elif fields.get("advance", "").strip():
        await ctx.writes.run(clocks.advance_clock, account_id, clocks.span(fields["advance"].strip()))
    elif fields.get("now", "").strip():
        await ctx.writes.run(clocks.set_clock, account_id, moment(fields["now"].strip()))
    else:
        raise ValidationFailed("Give the clock a time to be at, or a span to move on by (30d, 12h, 15m)")
    return _back()


@page("/sandbox/faults", "POST")
async def add_fault(request: Request, session: Session) -> Response:
    _ctx, state = _state(request)
    wanted = {k: v.strip() for k, v in request.state.form.items() if k != "csrf" and v.strip()}
    await run_in_threadpool(state.add_fault, session.account.id, fault_of(wanted))
    return _back()


@page("/sandbox/faults/clear", "POST")
async def clear_faults(request: Request, session: Session) -> Response:
    _ctx, state = _state(request)
    await run_in_threadpool(state.clear_faults, session.account.id)
    return _back()


@page("/requests")
async def requests(request: Request, session: Session) -> Response:
    ctx, state = _state(request)
    assert ctx.recorder is not None  # built in sandbox mode
    await run_in_threadpool(ctx.recorder.flush)  # this process's latest too
    found = await run_in_threadpool(state.recorded, session.account.id, REQUESTS_SHOWN)
    shown = [sandbox_requests.render(n, entry) for n, entry in reversed(found)]  # newest first
    return render(request, session, "requests.html", requests=shown, bodies=_pretty)


def _pretty(body: object) -> str:
    return (
        ""
        if body is None
        else body
        if isinstance(body, str)
        else orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    )
