"""Signing in with an account's API key, and out. A wrong key is counted against the caller's
address as a wrong key of the API is (IXSERVER_RATE_LIMIT), so that guessing keys is limited
here too."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ixserver.api.console.pages import enabled, page, plain, render, router, with_headers
from ixserver.api.console.session import (
    COOKIE,
    PATH,
    SESSION_SECONDS,
    SIGN_IN_COOKIE,
    Session,
    current,
    forget,
    form,
    same_token,
    sealed,
    set_cookie,
)
from ixserver.domain.errors import NotFound
from ixserver.services.accounts import authenticate
from ixserver.web.context import context
from ixserver.web.errors import too_many_requests

SIGN_IN_SECONDS = 3600  # the sign-in form's token


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    if not enabled(context(request)):
        raise NotFound()
    target = "/documents" if current(request) is not None else "/sign-in"
    return with_headers(RedirectResponse(PATH + target, status_code=303))


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if not enabled(context(request)):
        raise NotFound()
    return _form(request)


def _form(request: Request, problem: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, None, "sign_in.html", status=401 if problem else 200, csrf=token, problem=problem)
    set_cookie(request, response, SIGN_IN_COOKIE, token, SIGN_IN_SECONDS)
    return with_headers(response)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    ctx = context(request)
    if not enabled(ctx):
        raise NotFound()
    fields = await form(request)
    if not same_token(fields.get("csrf"), request.cookies.get(SIGN_IN_COOKIE, "")):
        return plain(403, "This form is out of date (no or a wrong CSRF token): reload the page.")
    key = fields.get("api_key", "").strip()
    with ctx.db.read() as conn:
        account = authenticate(conn, key) if key else None
    if account is None:
        limiter = ctx.address_limiter
        wait = limiter.check(request.client.host if request.client else "") if limiter is not None else 0
        if wait:
            return with_headers(too_many_requests(wait))
        return _form(request, "No account has this API key.")
    value, _csrf = sealed(ctx, key)
    response = RedirectResponse(f"{PATH}/documents", status_code=303)
    set_cookie(request, response, COOKIE, value, SESSION_SECONDS)
    forget(request, response, SIGN_IN_COOKIE)
    return with_headers(response)


@page("/sign-out", "POST", in_production=True)
async def sign_out(request: Request, _session: Session) -> Response:
    response = RedirectResponse(f"{PATH}/sign-in", status_code=303)
    forget(request, response, COOKIE)
    return response
