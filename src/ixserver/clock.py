"""Time, in one place: instants in UTC, business dates in Portugal's time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LISBON = ZoneInfo("Europe/Lisbon")


def now() -> datetime:
    return datetime.now(timezone.utc)


def today() -> date:
    """The business date in Portugal (documents are dated in Lisbon time)."""
    return datetime.now(LISBON).date()
