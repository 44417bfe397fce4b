"""The recorder (sandbox): each account's latest API requests with their answers, for
`GET /_ixserver/requests` and `ixserver replay`.

`RecorderMiddleware` (inside AuthMiddleware: it needs the account) copies a request's body and
its answer as they pass, up to BODY_MAX bytes each, and hands the entry to the process's
`Recorder`, which keeps the newest KEEP of each account and writes them every FLUSH_EVERY
seconds in one transaction of the shared store (store/sandbox_state.py), which keeps the newest
KEEP of each account. So a request costs a copy of its bodies and an append; the decoding and
the writes are off the request's path, and at most KEEP entries of an account are written per
flush however fast it sends (at 10,000 reads a second, writing each answer cost the sandbox's
reads a third of their rate). `GET /_ixserver/requests` writes its process's entries first;
another server process's are there within FLUSH_EVERY. The control API (`/_ixserver/…`) is not
recorded; the key (`api_key`) is left out of the query."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ixserver import clock
from ixserver.store.sandbox_state import Recorded, SandboxState

log = logging.getLogger("ixserver")
BODY_MAX = 64 * 1024
KEEP = 500
FLUSH_EVERY = 1.0
CONTROL_PREFIX = "/_ixserver/"


# A query of `name=value` pairs of characters that urlencode leaves as they are: its pairs are
# what parse_qsl and urlencode would give back, so the key's pair is taken out without them
# (they cost ~8 µs a request in the flush, a third of it; the API's queries are nearly all so).
_PLAIN_QUERY = re.compile(rb"[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*(?:&[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*)*")


def query_without_key(raw: bytes) -> str:
    if not raw:
        return ""
    if b"api_key" not in raw:
        return raw.decode("latin-1")
    if _PLAIN_QUERY.fullmatch(raw):
        return "&".join(pair for pair in raw.decode("ascii").split("&") if not pair.startswith("api_key="))
    return urlencode([(k, v) for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if k != "api_key"])


class Recorder:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        # per account, its newest KEEP: appended on the event loop, taken by the flusher
        self._pending: dict[int, deque[Taken]] = {}
        self._lock = threading.Lock()  # one flush at a time
        self._taking = threading.Lock()  # the pending entries, between the loop and the flusher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, entry: Taken) -> None:
        with self._taking:
            kept = self._pending.get(entry.account_id)
            if kept is None:
                kept = self._pending[entry.account_id] = deque(maxlen=KEEP)
            kept.append(entry)

    def flush(self) -> None:
        with self._lock:
            with self._taking:
                pending, self._pending = self._pending, {}
            entries = [taken.recorded() for kept in pending.values() for taken in kept]
            entries.sort(key=lambda entry: entry.at)
            try:
                self.state.record(entries, KEEP)
            except Exception:  # noqa: BLE001 - a recording is no reason to fail anything
                log.exception("recorder: %d requests not recorded", len(entries))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ixserver-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            if self._pending:
                self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


class RecorderMiddleware:
    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        account = scope.get("state", {}).get("account")
        if scope["type"] != "http" or account is None or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        asked, answered = bytearray(), bytearray()
        status = 0
        truncated = False

        async def receiving() -> Message:
            nonlocal truncated
            message = await receive()
            body = message.get("body", b"")
            if body:
                room = BODY_MAX - len(asked)
                truncated |= len(body) > room
                asked.extend(body[: max(room, 0)])
            return message

        async def sending(message: Message) -> None:
            nonlocal status, truncated
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                body = message.get("body", b"")
                if body:
                    room = BODY_MAX - len(answered)
                    truncated |= len(body) > room
                    answered.extend(body[: max(room, 0)])
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receiving, sending)
        finally:
            self.recorder.add(
                Taken(
                    account.id,
                    clock.real_now(),
                    scope["method"],
                    scope["path"],
                    scope.get("query_string", b""),
                    status,
                    round((time.perf_counter() - start) * 1000),
                    asked,
                    answered,
                    truncated,
                )
            )


@dataclass(slots=True)
class Taken:
    """A request as it passed, its bodies as bytes: made a `Recorded` (decoded) when written."""

    account_id: int
    at: datetime
    method: str
    path: str
    query: bytes
    status: int
    duration_ms: int
    request_body: bytearray
    response_body: bytearray
    truncated: bool

    def recorded(self) -> Recorded:
        return Recorded(
            account_id=self.account_id,
            at=self.at,
            method=self.method,
            path=self.path,
            query=query_without_key(self.query),
            status=self.status,
            duration_ms=self.duration_ms,
            request_body=self.request_body.decode("utf-8", "replace"),
            response_body=self.response_body.decode("utf-8", "replace"),
            truncated=self.truncated,
        )
