"""Time, in one place: instants in UTC, business dates in Portugal's time zone.

An account's time (sandbox: `PUT /_ixserver/clock`) is the server's time moved on by the
account's offset (`services/clocks.py`, kept in the database). The writer runs each use case of
an account with that offset in force (`shifted`, `writes/use_cases.py`), and a read that asks
the account's date sets it itself (`services/clocks.account_today`): `now`, `today` and
`local_now` are then the account's. `real_now` is the server's own time, never an account's:
what the machinery measures with (jobs' run times, claims and heartbeats, rate windows)."""

from __future__ import annotations

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
