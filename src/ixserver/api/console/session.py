"""Who uses the console: an account's API key, typed once into the sign-in form, then carried by
a session cookie. The cookie is the key and the session's CSRF token, encrypted and MACed with a
key derived from the server's secret key (vault.py: Fernet), so that every server process and
instance reads it, and expiring after SESSION_SECONDS. Each request authenticates the key again
as the API does (services/accounts.authenticate): a key removed, or an account gone, ends its
sessions. The cookie is HttpOnly, SameSite=Strict, limited to the console's path, and Secure when
the console is reached over https.

Every form carries the session's CSRF token, checked on each POST; the sign-in form, before any
session, a token of its own cookie (double submit)."""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

from ixserver.services.accounts import AccountRef, authenticate
from ixserver.web.context import AppContext, context

PATH = "/_ixserver/console"
COOKIE = "ixserver_console"
SIGN_IN_COOKIE = "ixserver_console_sign_in"  # the sign-in form's CSRF token, before a session
SESSION_SECONDS = 12 * 3600
FORM_BYTES = 4096  # a console form is a few fields


@dataclass(frozen=True)
class Session:
    account: AccountRef
    key: str
    csrf: str


def _fernet(ctx: AppContext) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(ctx.resources.vault.derive("console-session")))


def sealed(ctx: AppContext, key: str) -> tuple[str, str]:
    """A new session's cookie value for `key`, and its CSRF token."""
    csrf = secrets.token_urlsafe(24)
    return _fernet(ctx).encrypt(orjson.dumps({"key": key, "csrf": csrf})).decode(), csrf


def current(request: Request) -> Session | None:
    """The session of the request's cookie, if it is one of this server's, not expired, and its
    key still a key of an account."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    ctx = context(request)
    try:
        data = orjson.loads(_fernet(ctx).decrypt(value.encode(), ttl=SESSION_SECONDS))
    except (InvalidToken, orjson.JSONDecodeError):
        return None
    with ctx.db.read() as conn:
        ref = authenticate(conn, str(data.get("key", "")))
    return Session(ref, data["key"], str(data["csrf"])) if ref is not None else None


def same_token(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


async def form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, read within FORM_BYTES (more: an empty form,
    which no check accepts)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_BYTES:
            return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))


def secure(request: Request) -> bool:
    """Whether the console is reached over https (directly, or as its public URL says)."""
    return request.url.scheme == "https" or context(request).settings.base_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict", secure=secure(request)
    )


def forget(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict", secure=secure(request))
