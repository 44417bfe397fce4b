"""Request counts per caller and minute, shared by every process of a server and every instance
on one database: what makes the rate limit one limit (web/ratelimit.py); and, beside them, the
CPU each account's large bodies took to parse, per second (names `parse:…`).

PostgreSQL: the `rate_counts` table of the database. SQLite: the same table in a file of its own
beside the database (`<database>-ratelimit`, WAL, no fsync: a count lost in a crash only lets a
few more requests through), so that counting never queues on the writer and never changes the
database's `data_version` (which would empty every read cache).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ixserver.store.db import create_side_tables, side_engine
from ixserver.store.tables import rate_counts

Key = tuple[str, int]  # (who, minute)


class RateCounts:
    def __init__(self, database_url: str) -> None:
        self.engine = side_engine(database_url, "ratelimit")
        if self.engine.dialect.name == "sqlite":
            create_side_tables(self.engine, rate_counts)
            self._insert: Any = sqlite_insert
        else:
            self._insert = pg_insert

    def add(self, deltas: dict[Key, int]) -> dict[Key, int]:
        """Add each delta (0 to only read) to its count; every count as it now stands. Keys in one
        order in every process: two instances adding together never deadlock."""
        upsert = self._insert(rate_counts)
        upsert = upsert.on_conflict_do_update(
            index_elements=["who", "window"], set_={"n": rate_counts.c.n + upsert.excluded.n}
        ).returning(rate_counts.c.n)
        totals: dict[Key, int] = {}
        with self.engine.begin() as conn:
            for who, window in sorted(deltas):
                totals[(who, window)] = int(
                    conn.execute(upsert, {"who": who, "window": window, "n": deltas[(who, window)]}).scalar_one()
                )
        return totals

    def forget(self, before_window: int, prefix: str = "") -> None:
        """The counts of windows before `before_window` (of callers named `prefix`…) removed."""
        old = rate_counts.c.window < before_window
        if prefix:
            old &= rate_counts.c.who.startswith(prefix, autoescape=True)
        with self.engine.begin() as conn:
            conn.execute(delete(rate_counts).where(old))

    def dispose(self) -> None:
        self.engine.dispose()
