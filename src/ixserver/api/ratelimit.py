"""Requests per minute per account (api-v2 §1.11: 780 by default), as a sliding log.

Per server process: with N processes behind one address each allows the full rate.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW = 60.0
MAX_TRACKED = 100_000  # callers tracked before the idle ones are forgotten


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._log: dict[Hashable, deque[float]] = {}

    def check(self, who: Hashable) -> int:
        """0 when the request of `who` (an account id, or ("address", ip) for a wrong key) may go
        ahead (and counts it); else the seconds to wait."""
        now = self._clock()
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
