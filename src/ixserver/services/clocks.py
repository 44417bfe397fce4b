"""An account's clock (sandbox: `/_ixserver/clock`): the server's time moved on by an offset
kept in the database, so that every server process, the writer and the job workers read the
same time for the account. The writer runs each use case of the account in it
(`writes/use_cases.call`), so every rule that reads "today" (a document's default date and due
date, the "future date" refusal, the system entry time of an issued document, the overdue
balance, SAF-T's DateCreated) reads the account's date; reads ask it here.

Time moves only forward from what the account has recorded: a clock is never set before the
system entry time of the account's last issued document (entry times must grow, Despacho
8632/2014 §3.4.3). A reset wipes the documents, and with them that limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.errors import ValidationFailed
from ixserver.domain.signing import ENTRY_FORMAT
from ixserver.store import clocks as store
from ixserver.store import counters
from ixserver.writes.use_cases import of_account

MAX_OFFSET = timedelta(days=366 * 50)  # so far and no further: dates stay within the API's years
_SPAN = re.compile(r"(\d{1,6})([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


@dataclass(frozen=True)
class AccountClock:
    now: datetime  # UTC
    offset: timedelta | None  # None: the server's time

    @property
    def today(self) -> date:
        return self.now.astimezone(clock.LISBON).date()


def span(text: str) -> timedelta:
    """`30d`, `12h`, `15m`, `1d12h` …: an advance of the clock (a positive span)."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _SPAN.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValidationFailed(
            f"Clock advance {text!r} is not a span: a number of days, hours, minutes or seconds (30d, 12h, 15m, 1d12h)"
        )
    total = sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta(0))
    if total <= timedelta(0):
        raise ValidationFailed("Clock advance must be more than 0: the account's time moves only forward")
    return total


def clock_of(conn: Connection, account_id: int) -> AccountClock:
    offset = store.offset_of(conn, account_id)
    return AccountClock(clock.real_now() + (offset or timedelta(0)), offset)


def account_now(conn: Connection, account_id: int) -> datetime:
    return clock_of(conn, account_id).now


def account_today(conn: Connection, account_id: int) -> date:
    """The account's business date (Lisbon), from a read or a use case alike."""
    return clock_of(conn, account_id).today


# -- use cases ------------------------------------------------------------------------------


@of_account
def set_clock(conn: Connection, account_id: int, moment: datetime) -> AccountClock:
    """The account's time is `moment` now, and runs on from there."""
    return _move(conn, account_id, moment - clock.real_now())


@of_account
def advance_clock(conn: Connection, account_id: int, by: timedelta) -> AccountClock:
    current = store.offset_of(conn, account_id) or timedelta(0)
    return _move(conn, account_id, current + by)


@of_account
def real_time(conn: Connection, account_id: int) -> AccountClock:
    """Back to the server's time (refused if that is before the account's last entry)."""
    return _move(conn, account_id, None)


def forget_clock(conn: Connection, account_id: int) -> None:
    """A reset: the server's time again, whatever the account had recorded (it is gone)."""
    store.delete_offset(conn, account_id)


def _move(conn: Connection, account_id: int, offset: timedelta | None) -> AccountClock:
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise ValidationFailed("Clock out of range: at most 50 years from the server's time")
    moment = clock.real_now() + (offset or timedelta(0))
    latest = counters.latest_entry(conn, account_id)
    local = moment.astimezone(clock.LISBON).replace(microsecond=0, tzinfo=None)
    if latest is not None and local < datetime.strptime(latest, ENTRY_FORMAT):
        raise ValidationFailed(
            f"The account's time only moves forward: its last document was entered at {latest} (Lisbon),"
            f" after {local:%Y-%m-%dT%H:%M:%S}. Reset the account (POST /_ixserver/reset) to go back."
        )
    if offset is None:
        store.delete_offset(conn, account_id)
    else:
        store.set_offset(conn, account_id, offset)
    return AccountClock(moment, offset)
