"""Requests per minute (api-v2 §1.11: 780 by default): per account, shared by every process
and instance of a server (SharedRateLimit); per client address for requests with a wrong key
(RateLimiter, a sliding log in this process). The public addresses (a document's page, PDF and QR
code, a statement, a SAF-T file) are counted per address and per client address by a
SharedRateLimit of their own. An account's parsing CPU a second (web/parsing.py) is a budget
counted the same way, per second (SharedRateLimit's `wait` and `spend`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Hashable
from typing import Any

from ixserver.clock import SYSTEM, Clock

log = logging.getLogger("ixserver")

WINDOW = 60.0
CARRIED = 60  # windows ahead that a budget's overspending is carried into (and kept in the store)
MAX_TRACKED = 100_000  # callers tracked before the idle ones are forgotten


class RateLimiter:
    """A sliding log per caller, in this process, on `clock`'s monotonic seconds."""

    def __init__(self, per_minute: int, clock: Clock = SYSTEM) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._log: dict[Hashable, deque[float]] = {}

    def check(self, who: Hashable) -> int:
        """0 when the request of `who` (a client address) may go ahead (and counts it); else the
        seconds to wait."""
        now = self._clock.monotonic()
        stamps = self._log.get(who)
        if stamps is None:
            if len(self._log) >= MAX_TRACKED:
                self._forget(now)
            stamps = self._log[who] = deque()
        horizon = now - WINDOW
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if len(stamps) >= self.per_minute:
            return max(1, math.ceil(stamps[0] + WINDOW - now))
        stamps.append(now)
        return 0

    def _forget(self, now: float) -> None:
        """Drop whoever has made no request within the window (addresses are many)."""
        horizon = now - WINDOW
        for who in [w for w, stamps in self._log.items() if not stamps or stamps[-1] <= horizon]:
            del self._log[who]


class SharedRateLimit:
    """Requests per minute per account, one limit for all the processes and instances of a
    server: counts per calendar minute (of `clock`'s seconds since the epoch) in the database
    (store/rate_counts.py).

    A request is checked against what this process knows in memory: the minute's total as the
    store last answered, plus what this process let through since. A thread sends what was let
    through every `flush_every` seconds and reads back the totals of every account this process
    has seen this minute; the first request of an account in a minute reads its total first. So
    the limit holds across processes to within what the others let through in the last
    `flush_every` seconds. If the store cannot be reached, requests are let through (and logged):
    the limit must not take the API down with it.
    """

    def __init__(
        self,
        per_minute: int,
        counts: Any,
        *,
        flush_every: float = 0.1,
        clock: Clock = SYSTEM,
        many: bool = False,
        window: float = WINDOW,
        prefix: str = "",
    ) -> None:
        """`many`: the callers are many and each asks rarely (the public addresses' tokens): a
        caller's first request is not read from the store first (a write on the event loop for
        every new token: 3.6 ms on SQLite under load), and a flush sends and reads back only the
        callers with new requests; the limit then holds across processes from a caller's first
        flush on. `window`: the seconds counted together (a minute; a budget's, a second), and
        `prefix`: what the callers' names start with in the store, for counts other than the
        requests per minute (whose windows, minutes since the epoch, never reach a second's)."""
        self.per_minute = per_minute
        self.many = many
        self.counts = counts
        self.flush_every = flush_every
        self._clock = clock
        self.window = window
        self.prefix = prefix
        self._known: dict[tuple[str, int], int] = {}
        self._pending: dict[tuple[str, int], int] = {}
        self._sending: dict[tuple[str, int], int] = {}  # what a flush is sending: counted until it is known
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._flushing, name="ixserver-rate-limit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._flush()
        self.counts.dispose()

    def check(self, who: int | str, per_minute: int | None = None) -> int:
        """0 when the request of `who` (an account id, or what a public address is counted by)
        may go ahead (and counts it); else the seconds to wait. `per_minute`: `who`'s own limit."""
        now = self._clock.time()
        limit = self.per_minute if per_minute is None else per_minute
        key = self._key(who, now)
        if key not in self._known and not self.many:
            self._read(key)
        with self._lock:
            pending = self._pending.get(key, 0)
            if self._total(key) >= limit:
                return max(1, math.ceil((key[1] + 1) * self.window - now))
            self._pending[key] = pending + 1
        return 0

    def wait(self, who: int | str, limit: int) -> float:
        """A budget's: the seconds until `who` has spent less than `limit` in a window (0.0: now).
        It may read the store (call it off the event loop)."""
        now = self._clock.time()
        name, first = self._key(who, now)
        for window in range(first, first + CARRIED):
            key = (name, window)
            if key not in self._known:
                self._read(key)  # (what other processes carried into it counts too)
            with self._lock:
                if self._total(key) < limit:
                    break
        return 0.0 if window == first else window * self.window - now

    def spend(self, who: int | str, amount: int, limit: int) -> None:
        """A budget's: `amount` spent by `who` now, in this window up to `limit`, and what goes
        past it in the windows after (so one who spends past the budget waits that much longer)."""
        name, first = self._key(who, self._clock.time())
        last = first + CARRIED - 1
        with self._lock:
            for window in range(first, last + 1):
                key = (name, window)
                part = amount if window == last else min(amount, max(0, limit - self._total(key)))
                if part:
                    self._pending[key] = self._pending.get(key, 0) + part
                    amount -= part
                if not amount:
                    return

    def _key(self, who: int | str, now: float) -> tuple[str, int]:
        return (f"{self.prefix}{who}", int(now // self.window))

    def _total(self, key: tuple[str, int]) -> int:
        """(Under the lock.) The window's count: the store's, what is being sent, what is not yet."""
        return self._known.get(key, 0) + self._sending.get(key, 0) + self._pending.get(key, 0)

    def _read(self, key: tuple[str, int]) -> None:
        try:
            total = self.counts.add({key: 0})[key]
        except Exception:  # noqa: BLE001 - see the class: let requests through
            log.exception("rate limit: the shared counts cannot be read")
            total = 0
        with self._lock:
            self._known[key] = max(total, self._known.get(key, 0))

    def _flushing(self) -> None:
        last_forget = 0.0
        while not self._stop.wait(self.flush_every):
            self._flush()
            now = self._clock.time()
            if now - last_forget > WINDOW:
                last_forget = now
                try:
                    self.counts.forget(int(now // self.window) - 1, self.prefix)
                except Exception:  # noqa: BLE001 - old rows are tried again later
                    log.exception("rate limit: old counts could not be removed")

    def _flush(self) -> None:
        current = int(self._clock.time() // self.window)
        with self._lock:
            pending, self._pending = self._pending, {}
            self._sending = pending
            for key in [k for k in self._known if k[1] < current]:
                del self._known[key]
            callers = pending.keys() if self.many else self._known.keys() | pending.keys()
            wanted = {key: pending.get(key, 0) for key in callers}
        if not wanted:
            return
        try:
            totals = self.counts.add(wanted)
        except Exception:  # noqa: BLE001 - counted again at the next flush
            log.exception("rate limit: the shared counts cannot be written")
            with self._lock:
                self._sending = {}
                for key, delta in pending.items():
                    self._pending[key] = self._pending.get(key, 0) + delta
            return
        with self._lock:
            self._sending = {}
            for key, total in totals.items():
                if key[1] >= current:
                    self._known[key] = total
