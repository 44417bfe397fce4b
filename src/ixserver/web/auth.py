"""Who is calling: the `api_key` query parameter on every API endpoint (api-v2 §1.2).

A missing or wrong key is a 401 with an empty body; the request log says which of the three
reasons (no key, an unknown key, the key of another account than the Host names). When the
Host is `{name}.{domain}` for one of the configured account domains (default `localhost`),
`{name}` must be the key's account.
A verified key is remembered for a short while so that reads do not pay for a lookup each time.
The rate limit (per account) is applied here too, since it needs the account, and so is the
account's share of the process (web/shares.py).
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

from ixserver.services.accounts import AccountRef, authenticate
from ixserver.web.context import AppContext
from ixserver.web.errors import too_many_requests, unauthorized
from ixserver.web.shares import RETRY_AFTER, AccountBusy

# Not behind the API key: the control API's public part, and the public document pages.
PUBLIC = frozenset(("/_ixserver/health", "/_ixserver/live", "/_ixserver/openapi.yaml", "/_ixserver/docs", "/metrics"))
PUBLIC_PREFIX = ("/documents/", "/statements/", "/saft/")  # permalinks, PDFs, QR codes; statements; SAF-T files
# The pages' files (public); the web console, which signs its users in itself (api/console/).
OWN_PREFIXES = ("/_ixserver/assets/", "/_ixserver/console")
CONTROL_PREFIX = "/_ixserver/"  # the rest of the control API: a key, in sandbox mode (else 404)
OPERATOR_PREFIXES = ("/_ixserver/series/", "/_ixserver/guides/")  # ... but AT's codes: a key, in every mode
_HOST = re.compile(r"(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)\.?(?::[0-9]{1,5})?")
HEADER_KEY = b"x-invoicexpress-api-key"
NO_KEY, UNKNOWN_KEY, OTHER_HOST = "no API key", "unknown API key", "API key of another account than the host's"
CACHE_MAX = 10_000


def api_key_of(scope: Scope) -> str | None:
    query: bytes = scope.get("query_string", b"")
    start = query.find(b"api_key=")
    while start != -1:
        if start == 0 or query[start - 1] == 0x26:  # "&": a whole parameter, not e.g. "x_api_key="
            end = query.find(b"&", start)
            raw = query[start + 8 : end if end != -1 else len(query)]
            return unquote_plus(raw.decode("latin-1")) if b"%" in raw or b"+" in raw else raw.decode("latin-1")
        start = query.find(b"api_key=", start + 1)
    for name, value in scope.get("headers", ()):
        if name == HEADER_KEY:
            return value.decode("latin-1")
    return None


def host_account_name(scope: Scope, domains: list[str]) -> str | None:
    """`acme` for Host `acme.localhost:8000` (or `acme.localhost.`, a fully qualified name) when
    `localhost` is an account domain; None when the host names no account. A Host that is not a
    plain name with an optional port (`beta.localhost:80:81`) names an account nobody has ("")."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            text = value.decode("latin-1").lower()
            if text.startswith("["):  # an IPv6 address
                return None
            match = _HOST.fullmatch(text)
            if match is None:
                return ""
            host = match.group("name")
            for domain in domains:
                if host.endswith("." + domain):
                    return host[: -len(domain) - 1]
            return None
    return None


class KeyCache:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.ttl = ctx.settings.auth_cache_seconds
        self._entries: dict[str, tuple[AccountRef, float]] = {}

    def resolve(self, key: str) -> AccountRef | None:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.ctx.db.read() as conn:
            ref = authenticate(conn, key)
        if ref is not None and self.ttl > 0:
            if len(self._entries) >= CACHE_MAX:
                self._entries.clear()
            self._entries[key] = (ref, now + self.ttl)
        return ref


class AuthMiddleware:
    def __init__(self, app: ASGIApp, ctx: AppContext, keys: KeyCache) -> None:
        self.app = app
        self.ctx = ctx
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(OWN_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path in PUBLIC or (path.startswith(PUBLIC_PREFIX) and not path.endswith(".json")):
            wait = self._public_wait(scope, path) if path.startswith(PUBLIC_PREFIX) else 0
            await (too_many_requests(wait) if wait else self.app)(scope, receive, send)
            return
        if path.startswith(CONTROL_PREFIX) and not path.startswith(OPERATOR_PREFIXES) and not self.ctx.settings.sandbox:
            await self.app(scope, receive, send)  # not there outside sandbox mode: its 404
            return
        key = api_key_of(scope)
        account = self.keys.resolve(key) if key else None
        refusal = NO_KEY if not key else UNKNOWN_KEY if account is None else None
        if account is not None:
            host_name = host_account_name(scope, self.ctx.settings.account_domains)
            if host_name is not None and host_name != account.name:
                account, refusal = None, OTHER_HOST
        if account is None:
            # The caller gets InvoiceXpress's empty 401 whatever the reason; the request log says which.
            scope.setdefault("state", {})["reason"] = refusal
            # Wrong keys count against the caller's address, so that guessing them is limited too.
            limiter = self.ctx.address_limiter
            wait = limiter.check(_address(scope)) if limiter is not None else 0
            await (too_many_requests(wait) if wait else unauthorized())(scope, receive, send)
            return
        if self.ctx.limiter is not None:
            wait = self.ctx.limiter.check(account.id)
            if wait:
                await too_many_requests(wait)(scope, receive, send)
                return
        scope.setdefault("state", {})["account"] = account
        shares, size = self.ctx.shares, self.ctx.shares.size_of(scope)
        try:
            turn = shares.enter(account.id, size)
        except AccountBusy:
            await too_many_requests(RETRY_AFTER)(scope, receive, send)
            return
        if turn is not None:
            await shares.wait(account.id, size, turn)
        try:
            await self.app(scope, receive, send)
        finally:
            shares.leave(account.id, size)

    def _public_wait(self, scope: Scope, path: str) -> int:
        """0 when a request to a public address may go ahead, else the seconds to wait: counted
        per client address, then per address (its token: a document, a statement, a file)."""
        limiter, settings = self.ctx.public_limiter, self.ctx.settings
        if limiter is None:
            return 0
        if settings.public_address_rate_limit > 0:
            wait = limiter.check(f"public-client:{_address(scope)[:48]}", settings.public_address_rate_limit)
            if wait:
                return wait
        token = path.split("/")[2].partition(".")[0]  # /documents/<token>/original.pdf, /saft/<token>.xml
        if settings.public_rate_limit > 0 and len(token) == 40:  # else not found: counted per client only
            return limiter.check(f"public:{token}", settings.public_rate_limit)
        return 0


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""
