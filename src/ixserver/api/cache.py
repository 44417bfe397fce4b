"""Rendered responses of hot reads, kept while the account's data has not changed.

Every request first reads a change counter, and a cached body is used only while the counter is
the one it was rendered under; the counter is read before rendering, so a body is never older
than its counter. Keys include the account, so tenants never see each other's answers.

- SQLite: the database's change counter (`Database.change_token`, `PRAGMA data_version`, no
  statement): any commit, by this process's writer or by another process, changes it and empties
  the cache.
- PostgreSQL: the account's version (`store/accounts.account_version`, one prepared single-row
  read), which every write transaction of the account moves on before its commit, whichever
  instance ran it (the writer's account lock, `store/accounts.lock_account_writes`). A write
  acknowledged by any instance is therefore seen by the next read on every instance: never
  stale, where a notification (LISTEN/NOTIFY) could arrive after the next request.

IXSERVER_READ_CACHE=0 turns it off. Entries live in the event-loop thread only (no locking):
handlers look up and fill the cache without awaiting in between.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ixserver import metrics
from ixserver.store.accounts import account_version
from ixserver.store.db import Database

MAX_ENTRIES = 4096
MAX_BODY = 256 * 1024


class ReadCache:
    def __init__(self, db: Database, *, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled
        # per account: (the counter its bodies were rendered under, its bodies)
        self._buckets: dict[int, tuple[object, dict[Hashable, bytes]]] = {}
        self._size = 0
        self.hits = 0
        self.misses = 0

    def _counter(self, account_id: int) -> object:
        if self.db.is_sqlite:
            return self.db.change_token()
        with self.db.read() as conn:
            return account_version(conn, account_id)

    def body(self, account_id: int, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached body for `key` of the account, or `render()`'s (remembered for next time)."""
        if not self.enabled:
            return render()
        counter = self._counter(account_id)
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
        body = render()
        if len(body) <= MAX_BODY:
            # bounded in bodies, and in accounts (an emptied bucket stays until then)
            if self._size >= MAX_ENTRIES or len(self._buckets) > MAX_ENTRIES:
                self._buckets = {account_id: bucket}
                entries.clear()
                self._size = 0
            entries[key] = body
            self._size += 1
        return body
