"""What every console page shares: its route (`page`), the checks before it (the console on, a
session, on a POST the CSRF token and, in production, whether the write is the one allowed
there), its template (Jinja2, templates/ as package data, autoescaped) and its headers: a
Content-Security-Policy that lets the page load only the server's own files (no inline script
or style), never framed by another site, never cached."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ixserver.api.assets import PREFIX as ASSETS
from ixserver.api.console.session import PATH, Session, current, form, same_token
from ixserver.domain.errors import DomainError, NotFound
from ixserver.web.context import AppContext, context
from ixserver.web.errors import status_for
from ixserver.web.routing import Router

router = Router(prefix=PATH)
PER_PAGE = 25  # rows of a list page; a page number beyond the last is the last's empty page
MAX_PAGE = 10_000

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ixserver.api.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(console=PATH, assets=ASSETS)

Handler = Callable[[Request, Session], Awaitable[Response]]


def enabled(ctx: AppContext) -> bool:
    """Whether this server serves the console (IXSERVER_CONSOLE; sandbox: on unless 0)."""
    return ctx.settings.console_enabled


def page(path: str, method: str = "GET", *, in_production: bool = False) -> Callable[[Handler], Handler]:
    """Register a page of a signed-in session. A POST is a write: refused without the session's
    CSRF token, and in production unless `in_production` (the console is read-only there but for
    a job's retry); its form's fields are in `request.state.form`."""

    def register(handler: Handler) -> Handler:
        async def serve(request: Request) -> Response:
            ctx = context(request)
            if not enabled(ctx):
                raise NotFound()
            session = current(request)
            if session is None:
                if method != "GET":
                    return plain(403, "Sign in first.")
                return with_headers(RedirectResponse(f"{PATH}/sign-in", status_code=303))
            if method == "POST":
                request.state.form = await form(request)
                if not same_token(request.state.form.get("csrf"), session.csrf):
                    return plain(403, "This form is out of date (no or a wrong CSRF token): reload the page.")
                if not ctx.settings.sandbox and not in_production:
                    return plain(403, "The console is read-only in production.")
            try:
                response = await handler(request, session)
            except DomainError as exc:
                response = render(request, session, "error.html", status=status_for(exc), messages=exc.messages)
            return with_headers(response)

        router.route(path, method)(serve)
        return handler

    return register


def render(request: Request, session: Session | None, template: str, *, status: int = 200, **values: Any) -> Response:
    ctx = context(request)
    html = ENV.get_template(template).render(
        session=session, sandbox=ctx.settings.sandbox, path=request.url.path, **values
    )
    return HTMLResponse(html, status_code=status)


def with_headers(response: Response) -> Response:
    """The console's headers, but those the response set itself (a stricter policy)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def plain(status: int, message: str) -> Response:
    return with_headers(Response(message, status_code=status, media_type="text/plain; charset=utf-8"))


def page_number(request: Request) -> int:
    """`page` of the query, from 1, bounded (a page of a list costs what its rows cost)."""
    text = request.query_params.get("page", "1")
    number = int(text) if text.isdigit() and len(text) < 6 else 1
    return min(max(number, 1), MAX_PAGE)


def pages(request: Request, page: int, total: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """What the pager of a list shows: this page, the last, and the addresses of the next and
    the previous with the rest of the query kept."""
    last = max(1, math.ceil(total / per_page))
    query = {k: v for k, v in request.query_params.items() if k != "page"}

    def link(number: int) -> str:
        return request.url.path + "?" + urlencode({**query, "page": number})

    return {"page": page, "last": last, "total": total, "previous": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last else None}  # fmt: skip
