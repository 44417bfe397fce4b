"""Rendered responses of hot reads, kept while the database has not changed.

On SQLite every request first reads the database's change counter (`Database.change_token`,
`PRAGMA data_version`): any commit, by this process's writer or by another process, changes it
and empties the cache. A cached body is therefore never older than the database, and keys
include the account, so tenants never see each other's answers. On PostgreSQL (no counter this
cheap) nothing is cached. IXSERVER_READ_CACHE=0 turns it off.

Entries live in the event-loop thread only (no locking): handlers look up and fill the cache
without awaiting in between.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ixserver import metrics
from ixserver.store.db import Database

MAX_ENTRIES = 4096
MAX_BODY = 256 * 1024


class ReadCache:
    def __init__(self, db: Database, *, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled and db.is_sqlite
        self._token: object = None
        self._entries: dict[Hashable, bytes] = {}
        self.hits = 0
        self.misses = 0

    def body(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached body for `key`, or `render()`'s (remembered for next time)."""
        if not self.enabled:
            return render()
        token = self.db.change_token()
        if token != self._token:
            self._entries.clear()
            self._token = token
        cached = self._entries.get(key)
        if cached is not None:
            self.hits += 1
            metrics.CACHE.labels("hit").inc()
            return cached
        self.misses += 1
        metrics.CACHE.labels("miss").inc()
        body = render()
        if len(body) <= MAX_BODY:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = body
        return body
