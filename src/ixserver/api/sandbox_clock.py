"""`/_ixserver/clock` (sandbox): the account's time. `PUT {"clock": {"now": "2027-01-15T10:00:00+00:00"}}`
sets it (then it runs on), `PUT {"clock": {"advance": "30d"}}` moves it on, `GET` tells it,
`DELETE` puts the account back on the server's time. Refusals (a time before the account's last
entry, a span that is not one) are 422s in the API's error shape (services/clocks.py)."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from ixserver import clock
from ixserver.api.sandbox import sandbox_context
from ixserver.domain import limits
from ixserver.domain.errors import ValidationFailed
from ixserver.services import clocks as service
from ixserver.services.clocks import AccountClock
from ixserver.web.context import account
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_text, read_body, require_root

router = Router(prefix="/_ixserver")


def render(found: AccountClock) -> dict[str, object]:
    return {
        "clock": {
            "now": found.now.isoformat(timespec="seconds"),
            "today": found.today.isoformat(),
            "real": found.offset is None,
            "offset_seconds": round(found.offset.total_seconds()) if found.offset is not None else 0,
        }
    }


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    ctx = sandbox_context(request)
    with ctx.db.read() as conn:
        found = service.clock_of(conn, account(request).id)
    return JSONResponse(render(found))


@router.put("/clock")
async def put_clock(request: Request) -> Response:
    ctx = sandbox_context(request)
    data = require_root(await read_body(request), "clock")
    now = as_text(data.get("now"), "now", limits.SHORT_TEXT)
    advance = as_text(data.get("advance"), "advance", limits.SHORT_TEXT)
    if (now is None) == (advance is None):
        raise ValidationFailed('Give the clock either "now" (an ISO 8601 time) or "advance" (30d, 12h, 15m)')
    account_id = account(request).id
    if now is not None:
        found = await ctx.writes.run(service.set_clock, account_id, moment(now))
    else:
        found = await ctx.writes.run(service.advance_clock, account_id, service.span(advance or ""))
    return JSONResponse(render(found))


@router.delete("/clock")
async def delete_clock(request: Request) -> Response:
    ctx = sandbox_context(request)
    return JSONResponse(render(await ctx.writes.run(service.real_time, account(request).id)))


def moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset, Lisbon's; a date alone, its midnight in Lisbon."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"Clock now {text!r} is not an ISO 8601 time (2027-01-15T10:00:00+00:00)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=clock.LISBON)
