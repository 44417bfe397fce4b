"""An account's share of a server process (web/shares.py), on its own: who is let in, in what
order, and what a request that leaves while it waits gives back."""

from __future__ import annotations

import asyncio

import pytest

from ixserver.web.shares import AccountBusy, AccountShares


def test_requests_past_the_share_wait_in_order_and_past_as_many_waiting_are_refused() -> None:
    async def run() -> None:
        shares = AccountShares(requests=2, body_bytes=100, max_body_bytes=1000)
        assert shares.enter(1, 500) is None, "an account's first request is let in whatever its size"
        assert shares.enter(2, 10) is None, "another account's share is its own"
        first, second = shares.enter(1, 10), shares.enter(1, 0)
        assert first is not None and second is not None
        with pytest.raises(AccountBusy):
            shares.enter(1, 0)
        shares.leave(1, 500)
        assert first.done() and second.done(), "both fit once the large one is done, in order"
        assert shares.in_use(1) == (2, 10, 0)
        assert shares.enter(1, 0) is not None, "a third waits: two are in process"
        shares.leave(1, 10)
        shares.leave(1, 0)
        shares.leave(1, 0)
        shares.leave(2, 10)
        assert shares.in_use(1) == shares.in_use(2) == (0, 0, 0)

    asyncio.run(run())


def test_a_request_that_leaves_while_it_waits_gives_its_place_to_the_next() -> None:
    async def run() -> None:
        shares = AccountShares(requests=4, body_bytes=100, max_body_bytes=1000)
        assert shares.enter(1, 90) is None
        large, small = shares.enter(1, 50), shares.enter(1, 5)
        assert large is not None and small is not None
        waiting_large = asyncio.ensure_future(shares.wait(1, 50, large))
        waiting_small = asyncio.ensure_future(shares.wait(1, 5, small))
        await asyncio.sleep(0)
        assert not waiting_small.done(), "behind the large one, in order"
        waiting_large.cancel()  # its client went away
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert waiting_small.done() and shares.in_use(1) == (2, 95, 0)
        shares.leave(1, 5)
        shares.leave(1, 90)
        assert shares.in_use(1) == (0, 0, 0)

    asyncio.run(run())
