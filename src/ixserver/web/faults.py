"""Faults an account asked for (sandbox, `POST /_ixserver/faults`), applied before its request
runs: a faulted request never reaches its handler, so a faulted write writes nothing.

A fault matches a request by method (or any) and API path, without the query: the path exactly
(`/invoices/12.json`), or with `*` standing for any characters but "/" (`/invoices/*.json`,
`/api/pdf/*.json`). Matching faults are tried in the order they were added; the first that
still has a time left is used (its `times` counted down in the shared store, so two server
processes never use one time twice). What it does: waits `delay_ms`, then closes the connection
without an answer (`close`), or answers `status` in the API's error shape (202: the PDF
endpoint's documented "keep requesting" body, api-v2 §4.8), or lets the request run."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from ixserver.store.sandbox_state import Fault
from ixserver.web.context import AppContext
from ixserver.web.errors import error_response
from ixserver.web.wire import JSONResponse

CONTROL_PREFIX = "/_ixserver/"
ABORT = "ixserver.abort"  # the scope's extension that closes the connection (web/protocol.py)
PDF_PATH = "/api/pdf/*.json"
ACCEPTED = {
    "accepted": {
        "code": "202",
        "message": "The request will be processed. You need to keep requesting until you get a response with"
        " HTTP status code 200.",
    }
}


@lru_cache(maxsize=1024)
def pattern(path: str) -> re.Pattern[str]:
    return re.compile("[^/]*".join(re.escape(part) for part in path.split("*")))


def matches(fault: Fault, method: str, path: str) -> bool:
    return (fault.method is None or fault.method == method) and pattern(fault.path).fullmatch(path) is not None


class FaultsMiddleware:
    """Inside AuthMiddleware (it needs the account); only in sandbox mode."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state, account = self.ctx.sandbox, scope.get("state", {}).get("account")
        if scope["type"] != "http" or state is None or account is None or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        for fault in state.faults_of(account.id):
            if matches(fault, scope["method"], scope["path"]) and state.take(fault):
                await self._apply(fault, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.close:
            abort = scope.get("extensions", {}).get(ABORT)
            if abort is not None:
                abort()
                await asyncio.sleep(0.01)  # the connection's end reaches uvicorn: it answers nothing
                return
        if fault.status == 202:
            await JSONResponse(ACCEPTED, status_code=202)(scope, receive, send)
        elif fault.status is not None:
            headers = {"Retry-After": "1"} if fault.status in (429, 503) else None
            message = f"Fault injected by /_ixserver/faults (fault {fault.id})"
            await error_response(fault.status, [message], headers=headers)(scope, receive, send)
        else:
            await self.app(scope, receive, send)
