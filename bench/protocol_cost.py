"""What ixserver's HTTP connection (src/ixserver/web/protocol.py: deadlines, a cap per address)
costs per request against uvicorn's own httptools protocol, without the network or the app:
a kept-alive GET fed whole to each, answered by a trivial ASGI app, the two alternated for 15
rounds of 20,000 requests; the CPU time of this process per request (other processes on the
machine do not count). `python bench/protocol_cost.py`"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: E402
from uvicorn.server import ServerState  # noqa: E402

from ixserver.serve import ServerConfig  # noqa: E402
from ixserver.web.protocol import Connection, ConnectionLimits  # noqa: E402

REQUEST = b"GET /invoices/1.json?api_key=abc HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
ROUNDS, REQUESTS = 15, 20_000


async def app(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def per_request(protocol_class: type[HttpToolsProtocol]) -> float:
    """CPU µs per request of one round."""
    loop = asyncio.new_event_loop()
    config = ServerConfig(app, limits=ConnectionLimits(10, 30, 100), log_level="warning")
    config.load()
    state = ServerState()
    protocol = protocol_class(config, state, {}, _loop=loop)  # type: ignore[arg-type]
    protocol.connection_made(Transport())

    async def requests() -> float:
        started = time.process_time()
        for _ in range(REQUESTS):
            protocol.data_received(REQUEST)
            await asyncio.gather(*state.tasks)
        return (time.process_time() - started) / REQUESTS * 1e6

    try:
        return loop.run_until_complete(requests())
    finally:
        loop.close()


def main() -> None:
    kinds: dict[str, type[HttpToolsProtocol]] = {"uvicorn": HttpToolsProtocol, "ixserver": Connection}
    figures: dict[str, list[float]] = {name: [] for name in kinds}
    for index in range(ROUNDS):
        for name in list(kinds) if index % 2 == 0 else list(reversed(kinds)):
            figures[name].append(per_request(kinds[name]))
    for name, values in figures.items():
        print(f"{name:9} median {statistics.median(values):.1f} µs/request  rounds {[round(v, 1) for v in values]}")
    difference = statistics.median(figures["ixserver"]) - statistics.median(figures["uvicorn"])
    print(f"ixserver - uvicorn: {difference:+.1f} µs/request")


if __name__ == "__main__":
    main()
