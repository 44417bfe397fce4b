"""Each account's clock (sandbox): its offset from the server's time, in microseconds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection

from ixserver.store.db import remembered
from ixserver.store.prepared import Prepared
from ixserver.store.tables import account_clocks

_CLOCK = "clock"  # its key in what a write transaction remembers
_OFFSET = Prepared(select(account_clocks.c.offset_us).where(account_clocks.c.account_id == bindparam("account_id")))


def offset_of(conn: Connection, account_id: int) -> timedelta | None:
    """How far the account's time is ahead of the server's; None: the server's time. The writer
    asks it before every use case of an account: one prepared statement, read once per write
    transaction (store/db.remembered; `set_offset` and `delete_offset` forget it)."""
    memo = remembered(conn)
    key = (_CLOCK, account_id)
    if memo is not None and key in memo:
        return memo[key]
    row = _OFFSET.first(conn, {"account_id": account_id})
    offset = None if row is None else timedelta(microseconds=int(row[0]))
    if memo is not None:
        memo[key] = offset
    return offset


def _forget(conn: Connection, account_id: int) -> None:
    memo = remembered(conn)
    if memo is not None:
        memo.pop((_CLOCK, account_id), None)


def set_offset(conn: Connection, account_id: int, offset: timedelta) -> None:
    _forget(conn, account_id)
    micros = offset // timedelta(microseconds=1)
    if (
        conn.execute(
            account_clocks.update().where(account_clocks.c.account_id == account_id).values(offset_us=micros)
        ).rowcount
        == 0
    ):
        conn.execute(account_clocks.insert().values(account_id=account_id, offset_us=micros))


def delete_offset(conn: Connection, account_id: int) -> None:
    _forget(conn, account_id)
    conn.execute(delete(account_clocks).where(account_clocks.c.account_id == account_id))
