"""The request log (web/requestlog.py): one structured event per request, a request id on every
response."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ixserver.web.requestlog import LOGGER_NAME, RequestLogMiddleware
from tests.support import LiveServer, fresh_database, live_server

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


class Capture(logging.Handler):
    """The access logger's records, whatever the propagation set-up of the session."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def events(self, request_id: str, timeout: float = 5.0) -> list[dict[str, str]]:
        """The events of one request (logged just after its response went out: wait a little)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in map(parse_logfmt, list(self.lines)) if e.get("request_id") == request_id]
            if found or time.monotonic() > deadline:
                time.sleep(0.05)  # and a second event would have had the time to show up
                return [e for e in map(parse_logfmt, list(self.lines)) if e.get("request_id") == request_id]
            time.sleep(0.01)


def parse_logfmt(line: str) -> dict[str, str]:
    return dict(field.split("=", 1) if "=" in field else (field, "") for field in shlex.split(line))


@pytest.fixture
def access_log() -> Iterator[Capture]:
    logger = logging.getLogger(LOGGER_NAME)
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("requestlog")
    with fresh_database("sqlite", tmp) as url, live_server(url, tmp / "data", access_log=True) as srv:
        yield srv


def test_one_event_per_request_with_its_fields(logged_server: LiveServer, access_log: Capture) -> None:
    api = logged_server.account()
    response = api.get("/sequences.json", params={"page": "1"}, headers={"X-Request-Id": "client-id_1.2"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "client-id_1.2"

    (event,) = access_log.events("client-id_1.2")
    assert event["event"] == "request"
    assert event["method"] == "GET"
    assert event["path"] == "/sequences.json"
    assert event["query"] == "page=1&api_key=[REDACTED]"
    assert event["status"] == "200"
    assert 0 <= float(event["duration_ms"]) < 10_000
    assert event["account"] == api.name
    assert event["client"] == "127.0.0.1"
    assert not any(api.key in line for line in access_log.lines), "the API key never reaches the log"


def test_an_id_is_generated_when_none_or_an_unusable_one_comes(logged_server: LiveServer, access_log: Capture) -> None:
    api = logged_server.account()
    ids = set()
    for headers in ({}, {"X-Request-Id": "has spaces"}, {"X-Request-Id": "x" * 65}, {"X-Request-Id": "a/b"}):
        response = api.get("/sequences.json", headers=headers)
        request_id = response.headers["x-request-id"]
        assert GENERATED_ID.fullmatch(request_id), headers
        assert len(access_log.events(request_id)) == 1
        ids.add(request_id)
    assert len(ids) == 4
    longest = "y" * 64
    assert api.get("/sequences.json", headers={"X-Request-Id": longest}).headers["x-request-id"] == longest


def test_401_and_404_carry_the_id_and_are_logged(logged_server: LiveServer, access_log: Capture) -> None:
    response = httpx.get(f"{logged_server.url}/sequences.json", params={"api_key": "wrong"})
    assert response.status_code == 401 and response.content == b""
    (event,) = access_log.events(response.headers["x-request-id"])
    assert event["status"] == "401" and "account" not in event
    assert event["query"] == "api_key=[REDACTED]"

    api = logged_server.account()
    response = api.get("/no-such-thing.json", headers={"X-Request-Id": "r404"})
    assert response.status_code == 404 and response.headers["x-request-id"] == "r404"
    (event,) = access_log.events("r404")
    assert event["status"] == "404" and event["path"] == "/no-such-thing.json"


def test_401_says_why_in_the_log_and_nothing_to_the_caller(logged_server: LiveServer, access_log: Capture) -> None:
    """Three different failures give the same empty 401 (InvoiceXpress's), and the log tells them apart."""
    api = logged_server.account()
    cases = {
        "no-key": ({}, {}, "no API key"),
        "bad-key": ({"api_key": "wrong"}, {}, "unknown API key"),
        "other-host": ({"api_key": api.key}, {"Host": "someone-else.localhost"},
                       "API key of another account than the host's"),
    }  # fmt: skip
    for request_id, (params, headers, reason) in cases.items():
        response = httpx.get(f"{logged_server.url}/sequences.json", params=params,
                             headers={**headers, "X-Request-Id": request_id})  # fmt: skip
        assert response.status_code == 401 and response.content == b""
        (event,) = access_log.events(request_id)
        assert event["reason"] == reason
        assert "wrong" not in access_log.lines[-1] and api.key not in " ".join(access_log.lines)


def test_a_4xx_logs_the_message_it_answered(logged_server: LiveServer, access_log: Capture) -> None:
    api = logged_server.account()
    response = api.post("/invoices.json", json={"invoice": {"date": "31/02/2026"}}, headers={"X-Request-Id": "r422"})
    assert response.status_code == 422
    (event,) = access_log.events("r422")
    assert event["reason"] == response.json()["errors"][0]["error"]

    response = api.get("/invoices/999999999.json", headers={"X-Request-Id": "r404b"})
    (event,) = access_log.events("r404b")
    assert response.status_code == 404 and event["reason"]

    ok = api.get("/sequences.json", headers={"X-Request-Id": "r200"})
    (event,) = access_log.events("r200")
    assert ok.status_code == 200 and "reason" not in event


def test_control_characters_stay_on_one_line(logged_server: LiveServer, access_log: Capture) -> None:
    response = httpx.get(f"{logged_server.url}/documents/x%0Aevent=forged", headers={"X-Request-Id": "ctl"})
    assert response.status_code == 404
    (event,) = access_log.events("ctl")
    assert event["path"] == "/documents/x\\nevent=forged"
    assert not any("\n" in line for line in access_log.lines)


def test_without_the_access_log_the_id_is_still_answered(server: LiveServer, access_log: Capture) -> None:
    assert server.settings.access_log is False
    response = httpx.get(f"{server.url}/_ixserver/health", headers={"X-Request-Id": "quiet-1"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "quiet-1"
    unauthorized = httpx.get(f"{server.url}/sequences.json")
    assert unauthorized.status_code == 401 and GENERATED_ID.fullmatch(unauthorized.headers["x-request-id"])
    assert access_log.events("quiet-1", timeout=0.2) == []


def test_an_unhandled_error_is_a_500_with_the_id(access_log: Capture, caplog: pytest.LogCaptureFixture) -> None:
    async def boom(_request: Request) -> Response:
        raise RuntimeError("boom")

    app = Starlette(routes=[Route("/boom", boom)], middleware=[Middleware(RequestLogMiddleware, access_log=True)])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/boom",
        "raw_path": b"/boom",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"x-request-id", b"r500")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))  # answered, not raised: the connection stays open
    reported = [r for r in caplog.records if r.name == "ixserver.api" and r.exc_info]
    assert len(reported) == 1 and "request_id=r500" in reported[0].getMessage(), "logged once, with the id"
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 500
    assert (b"x-request-id", b"r500") in start["headers"]
    assert json.loads(body) == {"errors": [{"error": "Internal server error"}]}
    (event,) = access_log.events("r500")
    assert event["status"] == "500" and event["path"] == "/boom"
