"""The sandbox's faults and recorded requests, shared by every process of a server (and every
instance on one database): what `/_ixserver/faults` and `/_ixserver/requests` read and write.

PostgreSQL: the `sandbox_faults` and `sandbox_requests` tables of the database. SQLite: the
same tables in a file of their own beside the database (`<database>-sandbox`, WAL, no fsync: a
recording lost in a crash is no loss), as the rate counts are, so that neither ever queues on
the writer nor changes the database's `data_version` (which would empty every read cache).

Faults are asked before every request of a sandbox (`faults_of`: one indexed statement on a
connection kept for it); recordings are written in batches by `web/recorder.py`'s flusher."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from ixserver.store.db import create_side_tables, side_engine
from ixserver.store.tables import sandbox_faults, sandbox_requests

_f, _r = sandbox_faults.c, sandbox_requests.c


@dataclass(frozen=True)
class Fault:
    id: int
    method: str | None  # None: any
    path: str  # the API path; `*` any characters but "/"
    status: int | None  # None: the request runs (after the delay)
    delay_ms: int
    close: bool
    remaining: int | None  # None: every time
    created_at: datetime


@dataclass(frozen=True)
class Recorded:
    account_id: int
    at: datetime
    method: str
    path: str
    query: str
    status: int
    duration_ms: int
    request_body: str
    response_body: str
    truncated: bool


class SandboxState:
    def __init__(self, database_url: str) -> None:
        self.engine: Engine = side_engine(database_url, "sandbox", pool_size=2)
        if self.engine.dialect.name == "sqlite":
            create_side_tables(self.engine, sandbox_faults, sandbox_requests)
            self._marker = "?"
        else:
            self._marker = "%s"
        # Faults are asked on the event loop before each request: one statement on a DBAPI
        # connection of its own (a few µs on SQLite), not through the pool.
        self._hot: Any = None
        self._hot_lock = threading.Lock()
        self._select_faults = (
            "SELECT id, method, path, status, delay_ms, close, remaining, created_at FROM sandbox_faults"
            f" WHERE account_id = {self._marker} ORDER BY id"
        )

    # -- faults ----------------------------------------------------------------------------

    def faults_of(self, account_id: int) -> list[Fault]:
        """The account's faults, on the connection kept for it; a kept connection that was lost
        (a database restarted, its sessions ended) is replaced once, at once."""
        with self._hot_lock:
            try:
                rows = self._faults_rows(account_id)
            except Exception:  # noqa: BLE001 - a lost kept connection: once more on a new one
                rows = self._faults_rows(account_id)
        if not rows:
            return []
        return [_fault(row) for row in rows]

    def _faults_rows(self, account_id: int) -> list[Any]:
        if self._hot is None:
            self._hot = self.engine.raw_connection()
            if self._marker == "%s":
                self._hot.driver_connection.autocommit = True
        cursor = self._hot.cursor()
        try:
            cursor.execute(self._select_faults, (account_id,))
            rows = list(cursor.fetchall())
        except Exception:
            self._hot.invalidate()  # a new one for the next call
            self._hot = None
            raise
        finally:
            cursor.close()
        if self._marker == "?":
            self._hot.commit()  # no read transaction left open on the side file
        return rows

    def add_fault(self, account_id: int, fault: Fault) -> Fault:
        values = {k: v for k, v in fault.__dict__.items() if k != "id"}
        with self.engine.begin() as conn:
            new_id = conn.execute(
                sandbox_faults.insert().values(account_id=account_id, **values).returning(_f.id)
            ).scalar_one()
        return Fault(**{**fault.__dict__, "id": int(new_id)})

    def list_faults(self, account_id: int) -> list[Fault]:
        return self.faults_of(account_id)

    def take(self, fault: Fault) -> bool:
        """Use the fault once: False when another request took its last time first."""
        if fault.remaining is None:
            return True
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(sandbox_faults).where(_f.id == fault.id, _f.remaining > 0).values(remaining=_f.remaining - 1)
            ).rowcount
            conn.execute(delete(sandbox_faults).where(_f.id == fault.id, _f.remaining <= 0))
        return bool(taken)

    def clear_faults(self, account_id: int) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(delete(sandbox_faults).where(_f.account_id == account_id)).rowcount)

    # -- recordings --------------------------------------------------------------------------

    def record(self, entries: list[Recorded], keep: int) -> None:
        """Keep the entries, then only the newest `keep` of each of their accounts."""
        if not entries:
            return
        with self.engine.begin() as conn:
            conn.execute(sandbox_requests.insert(), [e.__dict__ for e in entries])
            for account_id in {e.account_id for e in entries}:
                cut = conn.execute(
                    select(_r.id).where(_r.account_id == account_id).order_by(_r.id.desc()).offset(keep).limit(1)
                ).scalar()
                if cut is not None:
                    conn.execute(delete(sandbox_requests).where(_r.account_id == account_id, _r.id <= cut))

    def recorded(self, account_id: int, limit: int) -> list[tuple[int, Recorded]]:
        """The account's latest `limit` requests, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(sandbox_requests).where(_r.account_id == account_id).order_by(_r.id.desc()).limit(limit)
            ).all()
        return [
            (int(row.id), Recorded(**{k: v for k, v in row._mapping.items() if k != "id"})) for row in reversed(rows)
        ]

    def forget(self, account_id: int) -> None:
        """A reset: the account's faults and recordings go too."""
        with self.engine.begin() as conn:
            conn.execute(delete(sandbox_faults).where(_f.account_id == account_id))
            conn.execute(delete(sandbox_requests).where(_r.account_id == account_id))

    def dispose(self) -> None:
        with self._hot_lock:
            if self._hot is not None:
                self._hot.close()
                self._hot = None
        self.engine.dispose()


def _fault(row: Any) -> Fault:
    fault_id, method, path, status, delay_ms, close, remaining, created_at = row
    if isinstance(created_at, str):  # SQLite's raw cursor: the UTC text the type stored
        created_at = datetime.fromisoformat(created_at)
    created_at = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
    return Fault(int(fault_id), method, path, status, int(delay_ms), bool(close), remaining, created_at)
