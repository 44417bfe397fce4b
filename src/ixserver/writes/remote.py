"""A server process's connection to the writer process (process.py): `Writes` answered there.
With several writer processes (PostgreSQL: `serve --workers N` starts N), each account's use cases
go to one of them, the account's number modulo N (a use case of no account to the first): an
account's writes still share its writer's batches, and different accounts' run on several cores.

If the connection is lost before an outcome arrives, the request fails with `WriterUnavailable`
(503): its use case may or may not have been committed, and a repeat with the same
`proprietary_uid` is safe. Nothing is answered before its commit, so nothing acknowledged is
lost. The next use case connects again.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ixserver.domain.errors import Unavailable
from ixserver.writes import crossing
from ixserver.writes.use_cases import UseCase

T = TypeVar("T")


class WriterUnavailable(Unavailable):
    message = (
        "The server lost its connection to its writer; this request may or may not have been carried out."
        " Repeat it (a document creation with the same proprietary_uid is safe to repeat)."
    )


class RemoteWriter:
    def __init__(self, path: str) -> None:
        """`path`: the writer process's socket, or the sockets of several (os.pathsep between)."""
        self.paths = path.split(os.pathsep)
        self._ids = itertools.count(1)
        self._links: list[_Link | None] = [None] * len(self.paths)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    async def open(self) -> None:
        for index in range(len(self.paths)):
            await self._connected(index)

    def close(self) -> None:
        for link in self._links:
            if link is not None:
                link.transport.close()

    # Each use case is built here (UseCase): one the write path cannot take (NotAUseCase) is
    # refused in this process, at the call, before it crosses.

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._send_case(UseCase(fn, args))

    async def run_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._send_case(UseCase(fn, args, with_resources=True))

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """For a plain thread of a server process whose loop is running."""
        return self._wait(UseCase(fn, args))

    def run_sync_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        return self._wait(UseCase(fn, args, with_resources=True))

    def _wait(self, case: UseCase) -> Any:
        if self._loop is None:
            raise WriterUnavailable()
        return asyncio.run_coroutine_threadsafe(self._send_case(case), self._loop).result()

    async def ready(self) -> bool:
        """Connected to every writer process, or able to connect now."""
        for index, link in enumerate(self._links):
            if link is not None and not link.lost:
                continue
            try:
                await self._connected(index)
            except WriterUnavailable:
                return False
        return True

    async def stats(self) -> dict[str, Any]:
        """The writer processes' figures, added up."""
        each = [await self._call(crossing.STATS, (), False, index) for index in range(len(self.paths))]
        if len(each) == 1:
            return each[0]
        races: dict[str, int] = {}
        for stats in each:
            for state, count in stats["races"].items():
                races[state] = races.get(state, 0) + count
        return {
            "batches": sum(stats["batches"] for stats in each),
            "use_cases": sum(stats["use_cases"] for stats in each),
            "seconds": round(sum(stats["seconds"] for stats in each), 6),
            "races": races,
            "fault": next((stats["fault"] for stats in each if stats["fault"] is not None), None),
            "writers": len(each),
        }

    async def fault(self) -> str | None:
        """Why a writer process would not carry a use case out now, or None."""
        try:
            if await self.ready():
                for index in range(len(self.paths)):
                    fault = await self._call(crossing.FAULT, (), False, index)
                    if fault is not None:
                        return str(fault)
                return None
        except WriterUnavailable:
            pass
        return "the writer process is being started again"

    async def _send_case(self, case: UseCase) -> Any:
        index = 0 if case.account is None else case.account % len(self.paths)
        return await self._call(case.fn, case.args, case.with_resources, index)

    async def _call(self, fn: Any, args: tuple[Any, ...], with_resources: bool, index: int = 0) -> Any:
        call_id = next(self._ids)
        frame = crossing.request(call_id, fn, args, with_resources)
        link = await self._connected(index)
        future = link.loop.create_future()
        link.pending[call_id] = future
        link.send(frame)
        return await future

    async def _connected(self, index: int) -> _Link:
        link = self._links[index]
        if link is not None and not link.lost:
            return link
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            link = self._links[index]
            if link is None or link.lost:
                loop = asyncio.get_running_loop()
                try:
                    _transport, link = await loop.create_unix_connection(lambda: _Link(loop), self.paths[index])
                except OSError as exc:
                    raise WriterUnavailable() from exc
                self._links[index] = link
                self._loop = loop
            return link


class _Link(asyncio.Protocol):
    """One connection to the writer process, and the use cases sent over it not yet answered."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []
        self.lost = False

    def send(self, frame: bytes) -> None:
        """Queue a use case; those queued in one turn of the event loop leave in one write."""
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(frame)

    def _flush(self) -> None:
        frames, self.outgoing = self.outgoing, []
        if not self.lost:
            self.transport.write(b"".join(frames))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # a uvloop transport is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        pending = self.pending
        for payload in crossing.frames(self.buffer):
            call_id, ok, value = crossing.read_outcome(payload)
            future = pending.pop(call_id, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WriterUnavailable())
