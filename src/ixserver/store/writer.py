"""The one write path of a server process.

Every write use case is handed to a single thread that owns the write connection. The thread
takes whatever is queued (up to `batch_max` use cases), runs them in one transaction and
commits them together: one fsync for many finalizations (group commit), and no request thread
ever spins on SQLite's write lock. Batches are optimistic: if one use case raises, the batch is
rolled back and its use cases are run again one by one, each in its own transaction, so that
only the failing one fails. Nobody is answered before the commit of its own work has
succeeded, so nothing acknowledged is lost.

With several server processes on PostgreSQL, a use case that loses a race to another process
is run again in a later batch: a deadlock or serialization failure, or a unique violation from
a find-or-create that both processes attempted (the loser's insert waits for the winner's
commit, then fails; run again, it finds the winner's row). A use case that keeps failing is
answered with its error after a few tries.

Between batches, at most every `housekeeping_every` seconds and only after writes, the thread
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
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any] | None  # None for synchronous callers (see run_sync)
    loop: asyncio.AbstractEventLoop | None
    done: threading.Event | None = None
    outcome: tuple[bool, Any] | None = None
    retries: int = 0


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class Writer:
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
        self.housekeeping = housekeeping
        self.housekeeping_every = housekeeping_every
        self._written_since_housekeeping = False
        self._last_housekeeping = time.monotonic()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.jobs = 0
        self.seconds = 0.0  # spent running batches: the serial part of every write

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
        self._queue.put(_Job(fn, args, future, loop))
        return await future

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same, for a caller that is a plain thread."""
        job = _Job(fn, args, None, None, done=threading.Event())
        self._queue.put(job)
        assert job.done is not None
        job.done.wait()
        assert job.outcome is not None
        ok, value = job.outcome
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    # -- the writer thread -----------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.housekeeping_every if self.housekeeping else None)
            except queue.Empty:
                self._housekeep(due_only=False)
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
            self._run_batch(batch)
            self._written_since_housekeeping = True
            self._housekeep(due_only=True)
        self._housekeep(due_only=False)

    def _housekeep(self, *, due_only: bool) -> None:
        if self.housekeeping is None or not self._written_since_housekeeping:
            return
        if due_only and time.monotonic() - self._last_housekeeping < self.housekeeping_every:
            return
        self._last_housekeeping = time.monotonic()
        try:
            with self.db.transaction() as conn:
                self.housekeeping(conn)
            self._written_since_housekeeping = False
        except Exception:  # noqa: BLE001 - tried again after the next batch
            log.exception("writer housekeeping failed")

    def _run_batch(self, batch: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            self._run_batch_once(batch)
        finally:
            self.seconds += time.perf_counter() - started

    def _run_batch_once(self, batch: list[_Job]) -> None:
        if len(batch) > 1:
            values = self._run_together(batch)
            if values is not None:
                self._finish([(job, True, value) for job, value in zip(batch, values, strict=True)], [])
                return
        for job in batch:
            self._run_alone(job)

    def _run_together(self, batch: list[_Job]) -> list[Any] | None:
        """Every use case of the batch in one transaction; None (all rolled back) if any
        fails, or if the commit does."""
        try:
            with self.db.transaction() as conn:
                return [job.fn(conn, *job.args) for job in batch]
        except Exception:  # noqa: BLE001 - each use case is run again on its own
            return None

    def _run_alone(self, job: _Job) -> None:
        outcomes: list[tuple[_Job, bool, Any]] = []
        retry: list[_Job] = []
        try:
            with self.db.transaction() as conn:
                value = job.fn(conn, *job.args)
            outcomes.append((job, True, value))
        except Exception as exc:  # noqa: BLE001 - handed to the caller (or retried)
            self._settle_failed(job, exc, retry, outcomes)
        self._finish(outcomes, retry)

    def _finish(self, outcomes: list[tuple[_Job, bool, Any]], retry: list[_Job]) -> None:
        self.batches += 1
        self.jobs += len(outcomes)
        # One wake-up of each event loop for the whole batch, not one per use case.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for job, ok, value in outcomes:
            if job.future is not None and job.loop is not None:
                by_loop.setdefault(job.loop, []).append((job.future, ok, value))
            else:
                job.outcome = (ok, value)
                assert job.done is not None
                job.done.set()
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_set_futures, settled)
        for job in retry:
            self._queue.put(job)

    @staticmethod
    def _settle_failed(job: _Job, exc: Exception, retry: list[_Job], outcomes: list[tuple[_Job, bool, Any]]) -> None:
        if _retryable(exc) and job.retries < MAX_RETRIES:
            job.retries += 1
            retry.append(job)
        else:
            outcomes.append((job, False, exc))


def _set_futures(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
