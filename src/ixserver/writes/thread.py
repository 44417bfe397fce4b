"""A writer thread in this process: the writer of each server process when
IXSERVER_WRITER_PROCESS=0 (PostgreSQL takes writers from several processes at once; SQLite's queue
on its write lock), and of an app made without `serve`'s writer process."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.writes.batches import BATCH_COST, HOUSEKEEPING_EVERY, Batches, Outcome, UseCase, take_batch

T = TypeVar("T")


@dataclass(slots=True)
class _Waiter:
    """How a use case handed to the thread is answered: a future of an event loop, or an event
    that a plain thread waits on."""

    future: asyncio.Future[Any] | None
    loop: asyncio.AbstractEventLoop | None
    done: threading.Event | None = None
    outcome: tuple[bool, Any] | None = None


class WriterThread:
    """`Writes` by a thread of this process that owns the write connection."""

    def __init__(self, db: Database, resources: Resources, *, batch_max: int = 64, cost_max: int = BATCH_COST) -> None:
        self.batch_max = batch_max
        self.cost_max = cost_max
        self.runner = Batches(db, resources)
        self._queue: queue.SimpleQueue[UseCase | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def open(self) -> None:
        self.start()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ixserver-writer", daemon=True)
                self._thread.start()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    async def stats(self) -> dict[str, Any]:
        return self.runner.stats()

    async def ready(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def fault(self) -> str | None:
        if not await self.ready():
            return "the writer thread is not running"
        return self.runner.fault

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._submit(UseCase(fn, args))

    async def run_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._submit(UseCase(fn, args, with_resources=True))

    async def _submit(self, case: UseCase) -> Any:
        loop = asyncio.get_running_loop()
        case.reply = _Waiter(loop.create_future(), loop)
        self._queue.put(case)
        return await case.reply.future

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self._wait(UseCase(fn, args))

    def run_sync_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        return self._wait(UseCase(fn, args, with_resources=True))

    def _wait(self, case: UseCase) -> Any:
        waiter = _Waiter(None, None, done=threading.Event())
        case.reply = waiter
        self._queue.put(case)
        assert waiter.done is not None
        waiter.done.wait()
        assert waiter.outcome is not None
        ok, value = waiter.outcome
        if ok:
            return value
        raise value

    # -- the thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        pending: list[UseCase] = []  # handed over, not yet run: shared between accounts (take_batch)
        while not stopping or pending:
            if not pending:
                try:
                    first = self._queue.get(timeout=self.runner.wait_at_most(HOUSEKEEPING_EVERY))
                except queue.Empty:
                    self.runner.housekeep(due_only=False)
                    continue
                if first is None:
                    break
                pending.append(first)
            while not stopping:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                else:
                    pending.append(nxt)
            batch, pending = take_batch(pending, self.batch_max, self.cost_max)
            outcomes, retry = self.runner.run(batch)
            _answer(outcomes)
            pending += retry
            self.runner.housekeep(due_only=True)
        self.runner.housekeep(due_only=False)


def _answer(outcomes: list[Outcome]) -> None:
    # One wake-up of each event loop for the whole batch, not one per use case.
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for case, ok, value in outcomes:
        waiter: _Waiter = case.reply
        if waiter.future is not None and waiter.loop is not None:
            by_loop.setdefault(waiter.loop, []).append((waiter.future, ok, value))
        else:
            waiter.outcome = (ok, value)
            assert waiter.done is not None
            waiter.done.set()
    for loop, settled in by_loop.items():
        loop.call_soon_threadsafe(_set_futures, settled)


def _set_futures(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
