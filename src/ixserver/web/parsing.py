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
past its bounds does.

Each account has a budget of parsing CPU (IXSERVER_ACCOUNT_PARSE_MS a second, 100 by default),
one for all the processes and instances of a server: the CPU each of its parses took is counted
per second in the rate limits' shared counts (web/ratelimit.py, `SharedRateLimit.spend`; what goes
past a second's budget is carried into the seconds after), and once this second's is spent, its
next large body waits for a second with room, or, if that is more than MAX_WAIT seconds away, is
a 429 with Retry-After. Processes learn what the others spent within the counts' flush (0.1 s),
so a second may go past the budget by the parses under way in them. The parser runs at `nice`
10, but the other accounts' processes still share the machine's cores with it: an account
sending 1 MB bodies at its rate limit (13 a second) took a third of a 2-core machine, and with a
budget per process (as first built) each server process gave it as much again.

If the parser process dies, the body is parsed in a thread instead, and the next large body
starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ixserver.domain.errors import ParseUnavailable, ParsingBudgetSpent
from ixserver.web.ratelimit import SharedRateLimit
from ixserver.writes import crossing

log = logging.getLogger("ixserver")
T = TypeVar("T")
PARSER_NICE = 10
PARENT_CHECK = 1.0  # seconds between the parser process's looks at whether its server process is there
PARSE_SECONDS = 5.0  # a parse's deadline in the parser process (a 1 MB body: ~30 ms)
MAX_WAIT = 5.0  # seconds a large body may wait for its account's parsing budget; beyond, a 429
PARSE_BUDGET = "parse:"  # the budget's names in the shared counts
PARSE_IN_THREAD = 0.03  # CPU seconds charged for a body parsed in a thread (a 1 MB body's)


class BodyParser:
    def __init__(self, account_parse_ms: int = 0, budget: SharedRateLimit | None = None) -> None:
        """`budget`: where each account's parsing CPU is counted (per second, `parse:` names),
        when `account_parse_ms` is not 0."""
        self._pool: ProcessPoolExecutor | None = None
        self._ready = False  # the parser process has started (it takes a second or more to)
        self._limit = account_parse_ms * 1000  # CPU microseconds a second per account; 0: no budget
        self.budget = budget if self._limit else None

    async def _within_budget(self, account: int) -> None:
        """Wait until the account's parsing budget is not spent; Throttled if that is far."""
        assert self.budget is not None
        wait = await asyncio.to_thread(self.budget.wait, account, self._limit)
        if wait > MAX_WAIT:
            raise ParsingBudgetSpent(math.ceil(wait))
        if wait > 0:
            await asyncio.sleep(wait)

    def _charge(self, account: int, cpu: float) -> None:
        assert self.budget is not None
        self.budget.spend(account, math.ceil(cpu * 1_000_000), self._limit)

    def prestart(self) -> None:
        """Start the parser process in the background, so that the first large body need not."""
        self._started()

    @property
    def ready(self) -> bool:
        """Whether the parser process has started (until then large bodies are read in a thread)."""
        return self._ready

    async def parse(self, parsed: Callable[..., T], *args: Any, account: int | None = None) -> T:
        """`parsed(*args)` in the parser process (its function and arguments picklable); in a
        thread while the parser process is starting (the first large bodies do not wait for it).
        Past PARSE_SECONDS, ParseUnavailable (a 503) and a new parser process. With `account`,
        within the account's parsing budget (its CPU is charged to it)."""
        budget = account is not None and self.budget is not None
        if budget:
            assert account is not None
            await self._within_budget(account)
        pool = self._started()
        if not self._ready:
            try:
                return await asyncio.to_thread(parsed, *args)
            finally:
                if budget:
                    assert account is not None
                    self._charge(account, PARSE_IN_THREAD)
        loop = asyncio.get_running_loop()
        try:
            payload, cpu = await asyncio.wait_for(loop.run_in_executor(pool, _outcome, parsed, args), PARSE_SECONDS)
        except TimeoutError:
            log.error("a body took the parser process more than %.0f s: it is started again", PARSE_SECONDS)
            self._kill(pool)
            raise ParseUnavailable(f"its body took more than {PARSE_SECONDS:.0f} s to read") from None
        except BrokenProcessPool:
            log.error("the parser process ended; this body is parsed in a thread, the next starts it again")
            self.close()
            return await asyncio.to_thread(parsed, *args)
        if budget:
            assert account is not None
            self._charge(account, cpu)
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


def _outcome(parsed: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bytes, float]:
    """In the parser process: what `parsed(*args)` gave or raised, as crossing.py writes it, and
    the CPU seconds it took."""
    started = time.process_time()
    try:
        payload = crossing.outcome(0, True, parsed(*args))[4:]
    except Exception as exc:  # noqa: BLE001 - the request's error, raised in the server process
        payload = crossing.outcome(0, False, exc)[4:]
    return payload, time.process_time() - started
