"""The HTTP connection of every server process: uvicorn's httptools protocol, held to deadlines
a slow client cannot stretch, and to a number of connections per client address.

uvicorn bounds only the idle time between two requests (`timeout_keep_alive`). A client that
opens a connection and sends nothing, or sends its request head or body a byte at a time, would
hold the connection (a file descriptor, a protocol, a parser) as long as it likes: a few thousand
of them exhaust the process's descriptors and every other client's request fails. So:

- a request's head (from its first byte, or from the connection's opening until a first byte
  arrives) must be whole within `header_seconds`, else the connection is closed (with a 408 when
  part of a head had come);
- its body must be whole within `body_seconds` of its head, else a 408 and the connection closes;
- an address holds at most `per_client` connections to the process; one more is closed at once
  (0: no cap, for a server behind a proxy, whose connections all come from the proxy's address).

The timers are armed only when a head or a body is still incomplete after the bytes that came
(a request that arrives in one read arms none), and the connection's first is the one that
closes a connection on which nothing is sent.

A response leaves in one write: uvicorn writes its head and its body apart, two system calls
and two TCP segments (a loopback write costs ~10-20 µs of CPU, the receiver's delivery
included); each request's cycle writes through `_OneWrite`, which holds the head until the
body's first write (in the same turn of the event loop) or, at the latest, that turn's end.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ixserver.domain.errors import RequestTimedOut


@dataclass(frozen=True)
class ConnectionLimits:
    header_seconds: float
    body_seconds: float
    per_client: int  # 0: no cap


# What each server (uvicorn's ServerState, one per `uvicorn.Server`) holds per client address.
_open_by_server: weakref.WeakKeyDictionary[Any, Counter[str]] = weakref.WeakKeyDictionary()

_HEAD, _BODY, _OTHER = 1, 2, 0


def _timeout_response(what: str, seconds: float) -> bytes:
    # imported here: `serve` imports this module before it sets the metrics' directory, which
    # the error table's imports (the database's faults) must not precede
    from ixserver.web.errors import closing_bytes

    return closing_bytes(RequestTimedOut(what, seconds))


class Connection(HttpToolsProtocol):
    """One client connection (uvicorn's `http=` protocol class), with the limits its config
    (`serve.ServerConfig`) carries."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: ConnectionLimits = config.limits
        self._open = _open_by_server.setdefault(server_state, Counter())
        self._counted: str | None = None
        self._phase = _OTHER
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.client is not None and self.limits.per_client:
            address = self.client[0]
            if self._open[address] >= self.limits.per_client:
                transport.abort()  # no more from this address: the others are served
                return
            self._open[address] += 1
            self._counted = address
        self._arm(self.limits.header_seconds, self._head_timed_out)  # until a first byte, and a head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted is not None:
            left = self._open[self._counted] - 1
            if left:
                self._open[self._counted] = left
            else:
                del self._open[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._timer is None and self._phase != _OTHER and not self.transport.is_closing():
            if self._phase == _HEAD:
                self._arm(self.limits.header_seconds, self._head_timed_out)
            else:
                self._arm(self.limits.body_seconds, self._body_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = _HEAD
        # the sandbox's faults close a connection without an answer (web/faults.py)
        self.scope["extensions"] = {"ixserver.abort": self.transport.abort}  # type: ignore[dict-item]

    def on_headers_complete(self) -> None:
        if self._timer is not None:
            self._disarm()
        self._phase = _BODY
        started = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not started:  # a request's cycle (not an upgrade's return)
            cycle.transport = _OneWrite(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        if self._timer is not None:
            self._disarm()
        self._phase = _OTHER
        super().on_message_complete()

    def _arm(self, seconds: float, handler: Any) -> None:
        self._timer = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._phase == _HEAD:  # part of a head came
            self.transport.write(_timeout_response("headers", self.limits.header_seconds))
        self.transport.close()  # else nothing was sent: closed as an idle connection is

    def _body_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the app reads the end of the body, and its answer goes nowhere
            cycle.message_event.set()
            self.transport.write(_timeout_response("body", self.limits.body_seconds))
        self.transport.close()


class _OneWrite:
    """The connection's transport as one request's cycle sees it: the cycle's first write (the
    response's head; a `100 Continue` goes at once) is held until its next write (the body,
    which Starlette sends in the same turn of the loop) and leaves with it, or alone at the
    end of that turn (a HEAD request's answer, a stream whose body comes later); held data
    leaves before the transport closes."""

    __slots__ = ("_transport", "_loop", "_held", "_first")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif self._first and not data.startswith(b"HTTP/1.1 100 "):
            self._first = False
            self._held = data
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
