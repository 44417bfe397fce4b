"""Time, in one place: instants in UTC, business dates in Portugal's time zone, and the seconds
that the server's limits count by (`Clock`)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LISBON = ZoneInfo("Europe/Lisbon")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """The business date in Portugal (documents are dated in Lisbon time)."""
    return datetime.now(LISBON).date()


def local_now() -> datetime:
    """Now in Portugal, to the second (SAF-T SystemEntryDate is local time)."""
    return datetime.now(LISBON).replace(microsecond=0, tzinfo=None)


class Clock:
    """The seconds an app's rate limits count by (web/ratelimit.py), handed to them when the app
    is built (`create_app`): the system's (`SYSTEM`) in a server; a test hands its app one that it
    moves on, instead of waiting for the wall clock to get there."""

    def time(self) -> float:
        """Seconds since the epoch: a calendar minute is the same one in every process and instance."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds for intervals within one process, which no change of the system's clock moves."""
        return time.monotonic()


SYSTEM = Clock()
