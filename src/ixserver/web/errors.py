"""THE table: every error the API can answer, with its status and body.

Body shape: `{"errors": [{"error": "…"}]}` with `application/json` (api-v2 §1.10 shape A,
which every real client parses; clients.md §4.19). Errors that the spec numbers (sequences)
carry their code as well: `{"errors": [{"error": "Sequence already exists.", "code": "002"}]}`.
The one exception is 401, whose body is empty (the seed page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from ixserver.domain.errors import (
    AccountNotPortuguese,
    Conflict,
    DocumentCreationInProgress,
    DomainError,
    Forbidden,
    InvalidATCredentials,
    InvalidPaymentMechanism,
    MalformedRequest,
    NoOpenActivity,
    NotFound,
    QrCodeDocumentNotFound,
    QrCodeNotAvailable,
    RequestTimedOut,
    RequestTooLarge,
    SaftNothingToExport,
    SaftPeriodInvalid,
    SequenceBeingRegistered,
    SeriesRegisteredElsewhere,
    Throttled,
    Unavailable,
    ValidationFailed,
)
from ixserver.store.db import fault_of, unavailable
from ixserver.web.wire import JSONResponse

log = logging.getLogger("ixserver.api")

STATUS: dict[type[DomainError], int] = {
    MalformedRequest: 400,
    RequestTimedOut: 408,
    RequestTooLarge: 413,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Throttled: 429,
    ValidationFailed: 422,
    Unavailable: 503,
    DomainError: 422,
}

# Errors whose body the spec pins beyond the common shape: the proprietary_uid conflict is
# documented as {"reason": "…"} (api-v2 §1.10 shape J); both keys are sent.
EXTRA_BODY: dict[type[DomainError], Callable[[Any], dict[str, Any]]] = {
    DocumentCreationInProgress: lambda exc: {"reason": exc.message},
}

# Errors whose whole body the spec pins to another shape: an unknown payment mechanism is a bare
# array (api-v2 §4.11, shape E); the QR endpoint's refusals are `{"error": "…"}` (§4.9, shape H);
# the SAF-T export's `{"message": "…"}` (§14, shape K).
WHOLE_BODY: dict[type[DomainError], Callable[[DomainError], Any]] = {
    InvalidPaymentMechanism: lambda _exc: ["payment_mechanism", "is invalid"],
    QrCodeDocumentNotFound: lambda exc: {"error": exc.message},
    QrCodeNotAvailable: lambda exc: {"error": exc.message},
    SaftPeriodInvalid: lambda exc: {"message": exc.message},  # SAF-T: shape K (api-v2 §14)
    SaftNothingToExport: lambda exc: {"message": exc.message},
}

HTTP_MESSAGES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Request entity too large",
    429: "Too many requests",
}


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422


def error_response(
    status: int,
    messages: list[str],
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    entries: list[dict[str, Any]] = []
    for message in messages:
        entry: dict[str, Any] = {"error": message}
        if code is not None:
            entry["code"] = code
        entries.append(entry)
    return JSONResponse({"errors": entries, **(extra or {})}, status_code=status, headers=headers)


def unauthorized() -> Response:
    """401: "The API Key parameter is missing or is incorrectly entered" — empty body."""
    return Response(b"", status_code=401)


def too_many_requests(retry_after: int) -> Response:
    return error_response(429, [HTTP_MESSAGES[429]], headers={"Retry-After": str(retry_after)})


# Operations that number some errors otherwise than the error's own code: creating a series
# (api-v2 §8.5) against registering one (§8.6, the codes of domain/errors.py).
CODES_BY_OPERATION: dict[tuple[str, str], dict[type[DomainError], str]] = {
    ("POST", "/sequences.json"): {
        InvalidATCredentials: "004",
        NoOpenActivity: "005",
        SequenceBeingRegistered: "006",
        AccountNotPortuguese: "000",
        SeriesRegisteredElsewhere: "000",
    },
}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    codes = CODES_BY_OPERATION.get((request.method, request.url.path))
    return domain_error_response(exc, codes.get(type(exc)) if codes else None)


def domain_error_response(exc: DomainError, code: str | None = None) -> Response:
    """The answer to a domain error, from the table above (also for middleware, which runs
    outside the exception handlers); `code` overrides the error's own."""
    status = status_for(exc)
    if type(exc) in WHOLE_BODY:
        return JSONResponse(WHOLE_BODY[type(exc)](exc), status_code=status)
    extra = EXTRA_BODY[type(exc)](exc) if type(exc) in EXTRA_BODY else None
    headers = None
    if isinstance(exc, Throttled | Unavailable):  # when to repeat it: a clock behind says how long
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, exc.messages, code=code or exc.code, extra=extra, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 401:
        return unauthorized()
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, [message], headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.state.router.candidates(request.scope["path"]):
        route_methods: set[str] = getattr(route, "methods", None) or set()
        for method in route_methods:
            if route.matches({**request.scope, "method": method})[0] == Match.FULL:
                methods |= route_methods
                break
    return sorted(methods)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    # Handlers read their input themselves; this only catches a stray typed parameter.
    assert isinstance(exc, RequestValidationError)
    messages = [f"{'.'.join(str(p) for p in e['loc'][1:])} is not valid" for e in exc.errors()]
    return error_response(422, messages or ["Validation failed"])


def internal_error() -> Response:
    """The answer to an error nothing expected (its details go to the log, never to the client)."""
    return error_response(500, ["Internal server error"])


def closing_bytes(exc: DomainError) -> bytes:
    """The answer to `exc` as HTTP/1.1 bytes, for what answers below the app (the connection's
    protocol, web/protocol.py), closing the connection after it."""
    answer = domain_error_response(exc)
    head = f"HTTP/1.1 {answer.status_code} {HTTPStatus(answer.status_code).phrase}\r\n".encode()
    headers = b"".join(name + b": " + value + b"\r\n" for name, value in answer.raw_headers)
    return head + headers + b"connection: close\r\n\r\n" + bytes(answer.body)


def fault_response(exc: BaseException) -> Response | None:
    """The answer to an exception that reached the last resort but is not a bug: a domain error
    raised outside the routes (a middleware's), or a fault of the database (store/db.fault_of:
    a lost connection, a full disk …), which is a 503 with Retry-After, never a 500."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    fault = fault_of(exc)
    if fault is None:
        return None
    log.warning("the database's fault (%s) answered 503: %s", fault, exc)
    return domain_error_response(unavailable(fault))


async def _unexpected(_request: Request, exc: Exception) -> Response:
    answer = fault_response(exc)
    if answer is not None:
        return answer
    log.exception("unhandled error", exc_info=exc)
    return internal_error()


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
