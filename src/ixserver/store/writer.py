"""The one write path of a server process.

Every write use case is handed to a single thread that owns the write connection. The thread
takes whatever is queued (up to `batch_max` use cases), runs each inside its own SAVEPOINT of
one transaction and commits them together: one fsync for many finalizations (group commit),
and no request thread ever spins on SQLite's write lock. A use case that raises is rolled back
to its savepoint alone and its caller gets the exception; the others still commit. Nobody is
answered before the commit has succeeded, so nothing acknowledged is lost.

On PostgreSQL a deadlock or serialization failure with another server process is retried in a
later batch.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ixserver.store.db import Database

log = logging.getLogger("ixserver.writer")

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
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
    def __init__(self, db: Database, *, batch_max: int = 64) -> None:
        self.db = db
        self.batch_max = batch_max
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.jobs = 0

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
            first = self._queue.get()
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

    def _run_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, bool, Any]] = []
        retry: list[_Job] = []
        try:
            with self.db.write_engine.connect() as conn:
                trans = conn.begin()
                try:
                    if len(batch) == 1:
                        job = batch[0]
                        try:
                            outcomes.append((job, True, job.fn(conn, *job.args)))
                        except Exception as exc:  # noqa: BLE001 - handed to the caller
                            trans.rollback()
                            self._settle_failed(job, exc, retry, outcomes)
                    else:
                        for job in batch:
                            self._run_in_savepoint(conn, job, outcomes, retry)
                    if trans.is_active:
                        trans.commit()
                except BaseException:
                    if trans.is_active:
                        trans.rollback()
                    raise
        except Exception as exc:  # the commit itself (or the connection) failed: nothing is kept
            log.exception("write batch failed")
            outcomes = [(job, False, exc) for job, _ok, _v in outcomes]
        self.batches += 1
        self.jobs += len(outcomes)
        for job, ok, value in outcomes:
            self._resolve(job, ok, value)
        for job in retry:
            self._queue.put(job)

    def _run_in_savepoint(
        self, conn: Connection, job: _Job, outcomes: list[tuple[_Job, bool, Any]], retry: list[_Job]
    ) -> None:
        savepoint = conn.begin_nested()
        try:
            value = job.fn(conn, *job.args)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            savepoint.rollback()
            self._settle_failed(job, exc, retry, outcomes)
            return
        savepoint.commit()
        outcomes.append((job, True, value))

    @staticmethod
    def _settle_failed(
        job: _Job, exc: Exception, retry: list[_Job], outcomes: list[tuple[_Job, bool, Any]]
    ) -> None:
        if _retryable(exc) and job.retries < MAX_RETRIES:
            job.retries += 1
            retry.append(job)
        else:
            outcomes.append((job, False, exc))

    @staticmethod
    def _resolve(job: _Job, ok: bool, value: Any) -> None:
        if job.future is not None and job.loop is not None:
            job.loop.call_soon_threadsafe(_set_future, job.future, ok, value)
        else:
            job.outcome = (ok, value)
            assert job.done is not None
            job.done.set()


def _set_future(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
