"""The one write path: a writer that runs use cases in batches.

`Batches` holds the rules; the writer thread below (`Writer`, one per server process: the
path on PostgreSQL) and the writer process (writer_process.py, the one writer of the server
processes of an SQLite database) feed it. Every write use case is handed to a single writer
that owns the write connection. It takes whatever is queued (up to `batch_max` use cases), runs
them in one transaction and commits them together: one fsync for many finalizations (group
commit), and no request thread ever spins on SQLite's write lock. Batches are optimistic: if one use case raises, the batch is
rolled back and its use cases are run again one by one, each in its own transaction, so that
only the failing one fails. Nobody is answered before the commit of its own work has
succeeded, so nothing acknowledged is lost.

With several server processes on PostgreSQL, a use case that loses a race to another process
is run again in a later batch: a deadlock or serialization failure, or a unique violation from
a find-or-create that both processes attempted (the loser's insert waits for the winner's
commit, then fails; run again, it finds the winner's row). A use case that keeps failing is
answered with its error after a few tries.

Between batches, at most every `housekeeping_every` seconds and only after writes, the writer
runs `housekeeping(conn)` in a transaction of its own (folding the document count changes
that triggers record; see store/documents.py). Its failure is logged and tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from ixserver.store.db import Database

log = logging.getLogger("ixserver.writer")

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}  # serialization failure, deadlock, unique violation
MAX_RETRIES = 5


@dataclass
class Job:
    """One use case to run: `fn(conn, *args)`. `reply` is whatever its deliverer needs to answer."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    reply: Any = None
    retries: int = 0


Outcome = tuple[Job, bool, Any]  # (job, succeeded, its value or its exception)


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class Batches:
    """Runs batches of use cases with the rules above, and the housekeeping between them. The
    writer thread below and the writer process (store/writer_process.py) differ only in how use
    cases reach them and how their outcomes are sent back."""

    def __init__(
        self, db: Database, *, housekeeping: Callable[[Any], Any] | None = None, housekeeping_every: float = 2.0
    ) -> None:
        self.db = db
        self.housekeeping = housekeeping
        self.housekeeping_every = housekeeping_every
        self._written_since_housekeeping = False
        self._last_housekeeping = time.monotonic()
        self.batches = 0
        self.jobs = 0
        self.seconds = 0.0  # spent running batches: the serial part of every write

    def stats(self) -> dict[str, Any]:
        return {"batches": self.batches, "use_cases": self.jobs, "seconds": round(self.seconds, 6)}

    def run(self, batch: list[Job]) -> tuple[list[Outcome], list[Job]]:
        """The outcome of each use case that is settled, and the use cases to run again later."""
        started = time.perf_counter()
        try:
            outcomes, retry = self._run(batch)
        finally:
            self.seconds += time.perf_counter() - started
            self._written_since_housekeeping = True
        self.jobs += len(outcomes)
        return outcomes, retry

    def _run(self, batch: list[Job]) -> tuple[list[Outcome], list[Job]]:
        if len(batch) > 1:
            values = self._run_together(batch)
            if values is not None:
                self.batches += 1
                return [(job, True, value) for job, value in zip(batch, values, strict=True)], []
        outcomes: list[Outcome] = []
        retry: list[Job] = []
        for job in batch:
            self._run_alone(job, outcomes, retry)
        return outcomes, retry

    def _run_together(self, batch: list[Job]) -> list[Any] | None:
        """Every use case of the batch in one transaction; None (all rolled back) if any
        fails, or if the commit does."""
        try:
            with self.db.transaction() as conn:
                return [job.fn(conn, *job.args) for job in batch]
        except Exception:  # noqa: BLE001 - each use case is run again on its own
            return None

    def _run_alone(self, job: Job, outcomes: list[Outcome], retry: list[Job]) -> None:
        self.batches += 1
        try:
            with self.db.transaction() as conn:
                value = job.fn(conn, *job.args)
            outcomes.append((job, True, value))
        except Exception as exc:  # noqa: BLE001 - handed to the caller (or retried)
            if _retryable(exc) and job.retries < MAX_RETRIES:
                job.retries += 1
                retry.append(job)
            else:
                outcomes.append((job, False, exc))

    def housekeeping_due_in(self) -> float | None:
        """Seconds until housekeeping is due; None when there is nothing to keep."""
        if self.housekeeping is None or not self._written_since_housekeeping:
            return None
        return max(0.0, self._last_housekeeping + self.housekeeping_every - time.monotonic())

    def housekeep(self, *, due_only: bool) -> None:
        due_in = self.housekeeping_due_in()
        if due_in is None or (due_only and due_in > 0):
            return
        assert self.housekeeping is not None
        self._last_housekeeping = time.monotonic()
        try:
            with self.db.transaction() as conn:
                self.housekeeping(conn)
            self._written_since_housekeeping = False
        except Exception:  # noqa: BLE001 - tried again after the next batch
            log.exception("writer housekeeping failed")


@dataclass
class _Waiter:
    """How a use case handed to the writer thread is answered."""

    future: asyncio.Future[Any] | None  # None for synchronous callers (see run_sync)
    loop: asyncio.AbstractEventLoop | None
    done: threading.Event | None = None
    outcome: tuple[bool, Any] | None = None


class Writer:
    """The writer thread of this process."""

    def __init__(
        self,
        db: Database,
        *,
        batch_max: int = 64,
        housekeeping: Callable[[Any], Any] | None = None,
        housekeeping_every: float = 2.0,
    ) -> None:
        self.db = db
        self.batch_max = batch_max
        self.runner = Batches(db, housekeeping=housekeeping, housekeeping_every=housekeeping_every)
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def batches(self) -> int:
        return self.runner.batches

    @property
    def jobs(self) -> int:
        return self.runner.jobs

    @property
    def seconds(self) -> float:
        return self.runner.seconds

    async def open(self) -> None:
        """Nothing to connect to: the thread is started by `start`."""

    async def stats(self) -> dict[str, Any]:
        return self.runner.stats()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ixserver-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a write transaction; return once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Job(fn, args, _Waiter(future, loop)))
        return await future

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same, for a caller that is a plain thread."""
        waiter = _Waiter(None, None, done=threading.Event())
        self._queue.put(Job(fn, args, waiter))
        assert waiter.done is not None
        waiter.done.wait()
        assert waiter.outcome is not None
        ok, value = waiter.outcome
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    # -- the writer thread -----------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.runner.housekeeping_every if self.runner.housekeeping else None)
            except queue.Empty:
                self.runner.housekeep(due_only=False)
                continue
            if first is None:
                break
            batch = [first]
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            outcomes, retry = self.runner.run(batch)
            self._answer(outcomes)
            for job in retry:
                self._queue.put(job)
            self.runner.housekeep(due_only=True)
        self.runner.housekeep(due_only=False)

    @staticmethod
    def _answer(outcomes: list[Outcome]) -> None:
        # One wake-up of each event loop for the whole batch, not one per use case.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for job, ok, value in outcomes:
            waiter: _Waiter = job.reply
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
