"""Each account's clock (sandbox): its offset from the server's time, in microseconds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection

from ixserver.store.prepared import Prepared
from ixserver.store.tables import account_clocks, sub_sequences

_OFFSET = Prepared(select(account_clocks.c.offset_us).where(account_clocks.c.account_id == bindparam("account_id")))


def offset_of(conn: Connection, account_id: int) -> timedelta | None:
    """How far the account's time is ahead of the server's; None: the server's time. One
    prepared statement: the writer asks it before every use case of an account."""
    row = _OFFSET.first(conn, {"account_id": account_id})
    return None if row is None else timedelta(microseconds=int(row[0]))


def set_offset(conn: Connection, account_id: int, offset: timedelta) -> None:
    micros = offset // timedelta(microseconds=1)
    if (
        conn.execute(
            account_clocks.update().where(account_clocks.c.account_id == account_id).values(offset_us=micros)
        ).rowcount
        == 0
    ):
        conn.execute(account_clocks.insert().values(account_id=account_id, offset_us=micros))


def delete_offset(conn: Connection, account_id: int) -> None:
    conn.execute(delete(account_clocks).where(account_clocks.c.account_id == account_id))


def latest_entry(conn: Connection, account_id: int) -> str | None:
    """The account's last SystemEntryDate, of any series (local time, `YYYY-MM-DDTHH:MM:SS`)."""
    return conn.execute(
        select(func.max(sub_sequences.c.last_entry)).where(sub_sequences.c.account_id == account_id)
    ).scalar()
