"""A bounded HTTP/1.1 keep-alive load generator, used by `make bench` when wrk is not
installed. Each of N connections sends one request at a time for a fixed duration; latency is
measured per request. Loopback only, bounded in time, stops by itself."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    documents: int = 0  # create+finalize scenario: documents finalized

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _request(method: str, host: str, target: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return int(head[9:12]), body


def _run(url: str, connections: int, seconds: float, step: Callable[..., object]) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in LOOPBACK:
        raise ValueError("the load generator only targets loopback addresses")
    result = LoadResult()

    async def connection(deadline: float) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                await step(reader, writer, parts, result)  # type: ignore[misc]
        finally:
            writer.close()

    async def main() -> None:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(connection(deadline) for _ in range(connections)))
        result.seconds = time.perf_counter() - started

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
    return result


async def _timed(reader, writer, request: bytes, result: LoadResult) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    status, body = await _exchange(reader, writer, request)
    result.latencies.append(time.perf_counter() - started)
    result.requests += 1
    if status >= 300:
        result.errors += 1
    return status, body


def run_load(url: str, *, connections: int, seconds: float) -> LoadResult:
    """GET `url` over and over."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = _request("GET", parts.netloc, target)

    async def step(reader, writer, _parts, result):  # type: ignore[no-untyped-def]
        await _timed(reader, writer, request, result)

    return _run(url, connections, seconds, step)


_ID = re.compile(rb'"id":(\d+)')


def run_documents(base: str, key: str, body: bytes, *, connections: int, seconds: float) -> LoadResult:
    """Each connection creates a draft invoice and finalizes it, over and over."""
    netloc = urlsplit(base).netloc
    create = _request("POST", netloc, f"/invoices.json?api_key={key}", body)

    async def step(reader, writer, _parts, result):  # type: ignore[no-untyped-def]
        status, answer = await _timed(reader, writer, create, result)
        match = _ID.search(answer)
        if status != 201 or match is None:
            return
        finalize = _request(
            "PUT", netloc, f"/invoices/{match.group(1).decode()}/change-state.json?api_key={key}",
            b'{"invoice":{"state":"finalized"}}',
        )  # fmt: skip
        status, _ = await _timed(reader, writer, finalize, result)
        if status == 200:
            result.documents += 1

    return _run(base, connections, seconds, step)
