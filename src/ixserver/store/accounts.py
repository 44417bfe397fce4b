"""Queries on accounts and their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from ixserver.domain.accounts import Account
from ixserver.store.common import update_row
from ixserver.store.prepared import Prepared
from ixserver.store.tables import account_versions, accounts, api_keys


@dataclass(frozen=True)
class KeyRow:
    account_id: int
    account_name: str
    key_hash: str


def insert_account(conn: Connection, *, name: str, created_at: datetime, **attrs: Any) -> int:
    return int(
        conn.execute(
            insert(accounts).values(name=name, created_at=created_at, **attrs).returning(accounts.c.id)
        ).scalar_one()
    )


def accounts_created_by(conn: Connection, creator_id: int, since: datetime) -> int:
    query = select(func.count()).where(accounts.c.created_by == creator_id, accounts.c.created_at >= since)
    return int(conn.execute(query).scalar_one())


def account_by_name(conn: Connection, name: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.name == name)).mappings().first()
    return Account(**row) if row else None


def account_by_id(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().first()
    return Account(**row) if row else None


def account_fields(conn: Connection, account_id: int, names: tuple[str, ...]) -> dict[str, Any] | None:
    """Some of an account's fields: only those columns are read (a migration's step reads the
    columns that exist at that step, before later ones add theirs)."""
    row = conn.execute(select(*(accounts.c[n] for n in names)).where(accounts.c.id == account_id)).mappings().first()
    return dict(row) if row else None


def list_accounts(conn: Connection) -> list[Account]:
    return [Account(**r) for r in conn.execute(select(accounts).order_by(accounts.c.id)).mappings()]


def update_account(conn: Connection, account_id: int, **attrs: Any) -> None:
    update_row(conn, accounts, account_id, **attrs)  # nothing to change (an update of only AT credentials) is fine


def insert_key(conn: Connection, *, account_id: int, lookup: str, key_hash: str, created_at: datetime) -> None:
    conn.execute(
        insert(api_keys).values(account_id=account_id, lookup=lookup, key_hash=key_hash, created_at=created_at)
    )


def key_by_lookup(conn: Connection, lookup: str) -> KeyRow | None:
    row = conn.execute(
        select(api_keys.c.account_id, accounts.c.name, api_keys.c.key_hash)
        .join(accounts, accounts.c.id == api_keys.c.account_id)
        .where(api_keys.c.lookup == lookup, accounts.c.state == "active")
    ).first()
    return KeyRow(row[0], row[1], row[2]) if row else None


# The writer's account lock (writes/batches.py) and the read caches' change counter (web/cache.py),
# on PostgreSQL: one row per account, moved on by every write transaction of the account and held
# by it to its commit. (On SQLite the write transaction is exclusive already, and the caches read
# the database's own change counter.)
_MOVE_ON = Prepared(
    pg_insert(account_versions)
    .values(account_id=bindparam("account_id"), version=1)
    .on_conflict_do_update(
        index_elements=[account_versions.c.account_id], set_={"version": account_versions.c.version + 1}
    )
)


def lock_account_writes(conn: Connection, account_id: int) -> None:
    """Wait for, then hold until commit, the account's write lock, and move the account's version
    on (PostgreSQL only). Deferred (store/deferred.py): the server takes the lock before the
    transaction's next statement, which is sent with it."""
    if conn.dialect.name == "postgresql":
        _MOVE_ON.send(conn, {"account_id": account_id})


_VERSIONS = "SELECT account_id, version FROM account_versions WHERE account_id = ANY(%s)"


async def account_versions_of(aconn: Any, account_ids: list[int]) -> dict[int, int]:
    """The change counters of several accounts (any committed write of an account has moved its
    counter on), in one statement, on psycopg's AsyncConnection in
    autocommit (`Database.async_reader`): accounts never written to are left out (version 0)."""
    cursor = await aconn.execute(_VERSIONS, (account_ids,), prepare=True)
    return {int(account_id): int(version) for account_id, version in await cursor.fetchall()}
