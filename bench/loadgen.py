"""A bounded HTTP/1.1 keep-alive load generator, used by `make bench` when wrk is not
installed. Each of N connections sends one request at a time for a fixed duration; latency is
measured per request. Loopback only, bounded in time, stops by itself."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def _connection(host: str, port: int, request: bytes, deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            if not head.startswith(b"HTTP/1.1 2"):
                result.errors += 1
    finally:
        writer.close()


def run_load(
    url: str, *, connections: int, seconds: float, method: str = "GET", body: bytes = b"", host_header: str | None = None
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load generator only targets loopback addresses")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header or parts.netloc}", "Accept: application/json"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    result = LoadResult(0, 0, seconds, [])

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(_connection(host, port, request, deadline, result) for _ in range(connections)))
        result.seconds = time.perf_counter() - started

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
    return result
