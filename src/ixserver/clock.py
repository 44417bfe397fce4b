"""Time, in one place: instants in UTC, business dates in Portugal's time zone."""

from __future__ import annotations

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
