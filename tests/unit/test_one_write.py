"""A response's head and body leave in one write (web/protocol.py's `_OneWrite`), and nothing
held is lost: a head without a body in the same turn of the loop, a `100 Continue`, a close."""

from __future__ import annotations

import asyncio
from typing import Any

from ixserver.web.protocol import _OneWrite

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return f"extra {name}"


def _in_a_loop(steps: Any) -> Transport:
    async def run() -> Transport:
        transport = Transport()
        await steps(_OneWrite(transport, asyncio.get_running_loop()), transport)
        return transport

    return asyncio.run(run())


def test_a_head_and_its_body_in_one_turn_leave_in_one_write() -> None:
    async def steps(one: _OneWrite, transport: Transport) -> None:
        one.write(HEAD)
        assert transport.writes == []
        one.write(b"{}")
        assert transport.writes == [HEAD + b"{}"]
        await asyncio.sleep(0)
        assert transport.writes == [HEAD + b"{}"], "nothing more at the turn's end"

    _in_a_loop(steps)


def test_a_head_alone_leaves_at_the_end_of_the_turn_and_a_later_body_after_it() -> None:
    async def steps(one: _OneWrite, transport: Transport) -> None:
        one.write(HEAD)  # a HEAD request's answer, or a stream whose first part comes later
        await asyncio.sleep(0)
        assert transport.writes == [HEAD]
        one.write(b"{")
        one.write(b"}")
        assert transport.writes == [HEAD, b"{", b"}"], "only the head is ever held"

    _in_a_loop(steps)


def test_a_100_continue_leaves_at_once_and_the_head_after_it_is_still_held() -> None:
    async def steps(one: _OneWrite, transport: Transport) -> None:
        one.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        one.write(HEAD)
        one.write(b"{}")
        assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"{}"]

    _in_a_loop(steps)


def test_a_held_head_leaves_before_the_transport_closes() -> None:
    async def steps(one: _OneWrite, transport: Transport) -> None:
        one.write(HEAD)
        one.close()
        assert transport.writes == [HEAD] and transport.closed and one.is_closing()
        await asyncio.sleep(0)
        assert transport.writes == [HEAD]
        assert one.get_extra_info("peername") == "extra peername", "the rest is the transport's"

    _in_a_loop(steps)
