"""Rendered responses of hot reads, kept while the account's data has not changed.

Every request first reads a change counter, and a cached body is used only while the counter is
the one it was rendered under; the counter is read before rendering, so a body is never older
than its counter. Keys include the account, so tenants never see each other's answers.

- SQLite: the database's change counter (`Database.change_token`, `PRAGMA data_version`, no
  statement): any commit, by this process's writer or by another process, changes it and empties
  the cache.
- PostgreSQL: the account's version, which every write transaction of the account moves on
  before its commit, whichever instance ran it (the writer's account lock,
  `store/accounts.lock_account_writes`). A write acknowledged by any instance is therefore seen
  by the next read on every instance: never stale, where a notification (LISTEN/NOTIFY) could
  arrive after the next request. The versions are read by `Versions`: awaited, so that the
  event loop serves other requests during the round trip, and in rounds, one statement for
  every request waiting (`store/accounts.account_versions_of`). A request waits for a round
  that starts after it arrived, never for one already under way, so what it reads is at least
  as new as any write acknowledged before it came.

IXSERVER_READ_CACHE=0 turns it off. Entries live in the event-loop thread only (no locking):
handlers look up and fill the cache without awaiting between the counter and the body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Any

from ixserver import metrics
from ixserver.store.accounts import account_versions_of
from ixserver.store.db import Database, fault_of, unavailable

log = logging.getLogger("ixserver.cache")

MAX_ENTRIES = 4096
MAX_BODY = 256 * 1024


class Versions:
    """The accounts' versions on PostgreSQL, read in rounds on one AsyncConnection of this
    process's event loop."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, list[asyncio.Future[int]]] = {}
        self._round: asyncio.Task[None] | None = None
        self.rounds = 0

    async def of(self, account_id: int) -> int:
        """The account's version, read after this call began."""
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account_id, []).append(waiter)
        if self._round is None:
            self._round = asyncio.create_task(self._rounds())
        return await waiter

    async def _rounds(self) -> None:
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, {}  # who comes from now on waits for the next round
                try:
                    try:
                        versions = await self._read(list(waiting))
                    except Exception:  # noqa: BLE001 - a connection the server closed (a restart): once more on a new one
                        await self._drop_connection()
                        versions = await self._read(list(waiting))
                except Exception as exc:  # noqa: BLE001 - each waiting request gets the error
                    await self._drop_connection()
                    fault = fault_of(exc)
                    if fault is not None:  # the database's: a 503, not a 500
                        exc = unavailable(fault)
                    for waiters in waiting.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                self.rounds += 1
                for account_id, waiters in waiting.items():
                    version = versions.get(account_id, 0)
                    for waiter in waiters:
                        if not waiter.done():  # not a request cancelled meanwhile
                            waiter.set_result(version)
        finally:
            self._round = None

    async def _read(self, account_ids: list[int]) -> dict[int, int]:
        if self._conn is None or self._conn.closed or self._loop is not asyncio.get_running_loop():
            self._conn = await self.db.async_reader()  # the connection serves one event loop
            self._loop = asyncio.get_running_loop()
        return await account_versions_of(self._conn, account_ids)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # noqa: BLE001 - closing what may already be broken
                log.debug("closing a broken connection failed", exc_info=True)

    async def close(self) -> None:
        await self._drop_connection()


class ReadCache:
    def __init__(self, db: Database, *, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled
        self.versions = Versions(db) if not db.is_sqlite else None
        # per account: (the counter its bodies were rendered under, its bodies)
        self._buckets: dict[int, tuple[object, dict[Hashable, bytes]]] = {}
        self._size = 0
        self.hits = 0
        self.misses = 0

    async def body(self, account_id: int, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached body for `key` of the account, or `render()`'s (remembered for next time)."""
        if not self.enabled:
            return self.db.retrying(render)
        counter = self.db.change_token() if self.versions is None else await self.versions.of(account_id)
        bucket = self._buckets.get(account_id)
        if bucket is None or bucket[0] != counter:
            if bucket is not None:
                self._size -= len(bucket[1])
            bucket = self._buckets[account_id] = (counter, {})
        entries = bucket[1]
        cached = entries.get(key)
        if cached is not None:
            self.hits += 1
            metrics.CACHE.labels("hit").inc()
            return cached
        self.misses += 1
        metrics.CACHE.labels("miss").inc()
        body = self.db.retrying(render)  # a read that lost its connection: once more on a new one
        if len(body) <= MAX_BODY:
            # bounded in bodies, and in accounts (an emptied bucket stays until then)
            if self._size >= MAX_ENTRIES or len(self._buckets) > MAX_ENTRIES:
                self._buckets = {account_id: bucket}
                entries.clear()
                self._size = 0
            entries[key] = body
            self._size += 1
        return body

    async def close(self) -> None:
        """Let go of the versions' connection (at the app's shutdown)."""
        if self.versions is not None:
            await self.versions.close()
