"""Time, in one place: instants in UTC, business dates in Portugal's time zone.

An account's time (sandbox: `PUT /_ixserver/clock`) is the server's time moved on by the
account's offset (`services/clocks.py`, kept in the database). The writer runs each use case of
an account with that offset in force (`shifted`, `writes/use_cases.py`), and a read that asks
the account's date sets it itself (`services/clocks.account_today`): `now`, `today` and
`local_now` are then the account's. `real_now` is the server's own time, never an account's:
what the machinery measures with (jobs' run times, claims and heartbeats, rate windows). The
rate limits read it as seconds through a `Clock`, which a test moves instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LISBON = ZoneInfo("Europe/Lisbon")
ZERO = timedelta(0)
_offset: ContextVar[timedelta] = ContextVar("ixserver_clock_offset", default=ZERO)


def real_now() -> datetime:
    """The server's time, whichever account's time is in force."""
    return datetime.now(UTC)


def now() -> datetime:
    return datetime.now(UTC) + _offset.get()


def today() -> date:
    """The business date in Portugal (documents are dated in Lisbon time)."""
    return now().astimezone(LISBON).date()


def local_now() -> datetime:
    """Now in Portugal, to the second (SAF-T SystemEntryDate is local time)."""
    return now().astimezone(LISBON).replace(microsecond=0, tzinfo=None)


@contextmanager
def shifted(offset: timedelta) -> Iterator[None]:
    """Within: the time of an account whose clock is `offset` ahead of the server's (replaces,
    never adds to, an offset already in force)."""
    token = _offset.set(offset)
    try:
        yield
    finally:
        _offset.reset(token)


class Clock:
    """The server's time (`real_now`) in seconds, as an app's rate limits count by it
    (web/ratelimit.py), handed to them when the app is built (`create_app`): the system's
    (`SYSTEM`) in a server; a test hands its app one that it moves on, instead of waiting for
    the wall clock to get there."""

    def time(self) -> float:
        """Seconds since the epoch: a calendar minute is the same one in every process and instance."""
        return real_now().timestamp()

    def monotonic(self) -> float:
        """Seconds for intervals within one process, which no change of the system's clock moves."""
        return time.monotonic()


SYSTEM = Clock()
