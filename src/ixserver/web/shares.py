"""Each account's share of a server process: how many of its requests, and how many bytes of
their bodies, the process works on at once (IXSERVER_ACCOUNT_REQUESTS, IXSERVER_ACCOUNT_BODY_BYTES).

An account's request beyond its share waits its turn, in the order its requests arrived, before
its body is read; the requests of other accounts never wait for it. An account's first request
in the process is always let in, whatever its size (a body of the largest size allowed, alone).
At most as many more as its share of requests wait; a request beyond those is answered 429 with
Retry-After, as the rate limit is. A body whose length is not declared (chunked) counts as the
largest allowed (IXSERVER_MAX_BODY_BYTES).

So an account sending 1 MB bodies from many connections has one parsed at a time by each server
process, and the others of the process go on meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field

from starlette.types import Scope

from ixserver import metrics

RETRY_AFTER = 1  # second: the Retry-After of a request refused because too many of its account wait


class AccountBusy(Exception):
    """Too many requests of the account wait their turn already (429)."""


@dataclass
class _Share:
    requests: int = 0
    body_bytes: int = 0
    waiting: deque[tuple[int, asyncio.Future[None]]] = field(default_factory=deque)


class AccountShares:
    def __init__(self, requests: int, body_bytes: int, max_body_bytes: int) -> None:
        self.requests = requests
        self.body_bytes = body_bytes
        self.max_body_bytes = max_body_bytes
        self._shares: dict[int, _Share] = {}

    def size_of(self, scope: Scope) -> int:
        """The body's declared length (the boundary refused one over the limit), else the limit."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else self.max_body_bytes
        return 0 if scope["method"] in ("GET", "HEAD", "DELETE") else self.max_body_bytes

    def enter(self, account_id: int, size: int) -> asyncio.Future[None] | None:
        """Take the account's share for a request of `size` bytes: None when it is taken, else a
        future for `wait`; raises AccountBusy when too many wait. Once the share is taken
        (`enter` gave None, or `wait` returned), the request gives it back with `leave`."""
        share = self._shares.get(account_id)
        if share is None:
            share = self._shares[account_id] = _Share()
        if not share.waiting and self._fits(share, size):
            share.requests += 1
            share.body_bytes += size
            return None
        if len(share.waiting) >= self.requests:
            metrics.ACCOUNT_WAITS.labels("refused").inc()
            raise AccountBusy()
        metrics.ACCOUNT_WAITS.labels("waited").inc()
        turn = asyncio.get_running_loop().create_future()
        share.waiting.append((size, turn))
        return turn

    async def wait(self, account_id: int, size: int, turn: asyncio.Future[None]) -> None:
        """Until the request's turn has come (its share taken). Cancelled meanwhile (the client
        left), it gives up its place, or the share it was just given, before the cancellation
        goes on."""
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.leave(account_id, size)
            else:
                share = self._shares.get(account_id)
                if share is not None:
                    with suppress(ValueError):  # (unless _let_in has dropped it already)
                        share.waiting.remove((size, turn))
                    self._let_in(account_id, share)
            raise

    def leave(self, account_id: int, size: int) -> None:
        """Give the request's share back, and let in the account's next requests that fit."""
        share = self._shares[account_id]
        share.requests -= 1
        share.body_bytes -= size
        self._let_in(account_id, share)

    def _let_in(self, account_id: int, share: _Share) -> None:
        while share.waiting and (share.waiting[0][1].done() or self._fits(share, share.waiting[0][0])):
            size, turn = share.waiting.popleft()
            if turn.done():  # cancelled while waiting
                continue
            share.requests += 1
            share.body_bytes += size
            turn.set_result(None)
        if share.requests == 0 and not share.waiting:
            del self._shares[account_id]

    def _fits(self, share: _Share, size: int) -> bool:
        return share.requests == 0 or (share.requests < self.requests and share.body_bytes + size <= self.body_bytes)

    def in_use(self, account_id: int) -> tuple[int, int, int]:
        """(requests, body bytes, requests waiting) of the account now (tests, the health of a share)."""
        share = self._shares.get(account_id)
        return (share.requests, share.body_bytes, len(share.waiting)) if share else (0, 0, 0)
