"""Requests per minute per account (api-v2 §1.11: 780 by default), as a sliding log.

Per server process: with N processes behind one address each allows the full rate.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._log: dict[int, deque[float]] = {}

    def check(self, account_id: int) -> int:
        """0 when the request may go ahead (and counts it); else the seconds to wait."""
        now = self._clock()
        stamps = self._log.get(account_id)
        if stamps is None:
            stamps = self._log[account_id] = deque()
        horizon = now - WINDOW
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if len(stamps) >= self.per_minute:
            return max(1, math.ceil(stamps[0] + WINDOW - now))
        stamps.append(now)
        return 0
