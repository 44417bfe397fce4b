"""The input boundary of every request, before routing: what no handler should have to check.

- A NUL character in the path or the query string (`%00`) is a 400: neither database stores it
  (PostgreSQL refuses it; SQLite would keep a value no other client can send back).
- A body declared larger than IXSERVER_MAX_BODY_BYTES is a 413 before it is read
  (`api/wire.read_body` counts what arrives as well, for bodies sent without a length).

The rest of the boundary is in web/wire.py (JSON depth, text, numbers) and domain/limits.py
(each field's range).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ixserver.domain.errors import DomainError, MalformedRequest, RequestTooLarge
from ixserver.web.errors import domain_error_response


class InputBoundary:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                refused: DomainError = MalformedRequest("The request contains a NUL character")
                await domain_error_response(refused)(scope, receive, send)
                return
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if not value.isdigit() or len(value) > 12 or int(value) > self.max_body_bytes:
                        await domain_error_response(RequestTooLarge(self.max_body_bytes))(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)
