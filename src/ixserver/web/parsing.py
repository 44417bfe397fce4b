"""Large request bodies are parsed in a process of their own, at a lower priority.

A server process serves every account on one event loop, under one interpreter lock: parsing a
1 MB body (some 30 ms for 60,000 keys or 80,000 numbers), even in a thread, takes that lock
from the loop in turns of 5 ms, and the process's other requests wait behind it. So a body over
`wire.PARSE_APART_BYTES` is parsed, checked and read (`parse`) by a parser process beside the
server process (one, `nice` 10: when the CPUs are busy, the server processes go first), and
what it read comes back as the writer's outcomes do (writes/crossing.py: errors included).
It is started with the server process (`prestart`), in the background; a large body that comes
while it starts (a second or more) is parsed in a thread. Smaller bodies, nearly all requests,
are parsed in place.

A parse has a deadline (PARSE_SECONDS; a body of 1 MB takes some 30 ms): past it, the parser
process is stopped and started again, and the request answers 503 with Retry-After, as a PDF
past its bounds does. If the parser process dies, the body is parsed in a thread instead, and
the next large body starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ixserver.domain.errors import ParseUnavailable
from ixserver.writes import crossing

log = logging.getLogger("ixserver")
T = TypeVar("T")
PARSER_NICE = 10
PARENT_CHECK = 1.0  # seconds between the parser process's looks at whether its server process is there
PARSE_SECONDS = 5.0  # a parse's deadline in the parser process (a 1 MB body: ~30 ms)


class BodyParser:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._ready = False  # the parser process has started (it takes a second or more to)

    def prestart(self) -> None:
        """Start the parser process in the background, so that the first large body need not."""
        self._started()

    async def parse(self, parsed: Callable[..., T], *args: Any) -> T:
        """`parsed(*args)` in the parser process (its function and arguments picklable); in a
        thread while the parser process is starting (the first large bodies do not wait for it).
        Past PARSE_SECONDS, ParseUnavailable (a 503) and a new parser process."""
        pool = self._started()
        if not self._ready:
            return await asyncio.to_thread(parsed, *args)
        loop = asyncio.get_running_loop()
        try:
            payload = await asyncio.wait_for(loop.run_in_executor(pool, _outcome, parsed, args), PARSE_SECONDS)
        except TimeoutError:
            log.error("a body took the parser process more than %.0f s: it is started again", PARSE_SECONDS)
            self._kill(pool)
            raise ParseUnavailable(f"its body took more than {PARSE_SECONDS:.0f} s to read") from None
        except BrokenProcessPool:
            log.error("the parser process ended; this body is parsed in a thread, the next starts it again")
            self.close()
            return await asyncio.to_thread(parsed, *args)
        _id, ok, value = crossing.read_outcome(payload)
        if ok:
            return value
        raise value

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_lowered, initargs=(os.getpid(),)
            )
            pool.submit(int).add_done_callback(lambda started: self._up(pool, started))
            self._pool = pool
        return self._pool

    def _up(self, pool: ProcessPoolExecutor, started: Future[int]) -> None:
        """(In the pool's thread.) Whether the parser process has started."""
        if pool is self._pool and not started.cancelled() and started.exception() is None:
            self._ready = True

    def close(self) -> None:
        pool, self._pool, self._ready = self._pool, None, False
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # (a parse under way: some ms)

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        """Stop a parser process stuck on a body (its parse cannot be interrupted): the next large
        body starts a new one."""
        if pool is self._pool:
            self._pool, self._ready = None, False
        for process in list(getattr(pool, "_processes", {}).values()):  # the executor's own children
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self.prestart()


def _lowered(parent: int) -> None:
    """The parser process's start: a lower priority, and an end with its server process's
    (`parent`: it may have ended while this process was starting)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: `serve` stops it
    with contextlib.suppress(OSError):
        os.nice(PARSER_NICE)
    threading.Thread(target=_follow, args=(parent,), name="ixserver-parser-parent", daemon=True).start()


def _follow(parent: int) -> None:
    """A server process killed (SIGKILL) cannot stop its parser process, which waits for bodies
    on a pipe it holds both ends of: it leaves by itself once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _outcome(parsed: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """In the parser process: what `parsed(*args)` gave or raised, as crossing.py writes it."""
    try:
        return crossing.outcome(0, True, parsed(*args))[4:]
    except Exception as exc:  # noqa: BLE001 - the request's error, raised in the server process
        return crossing.outcome(0, False, exc)[4:]
