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
