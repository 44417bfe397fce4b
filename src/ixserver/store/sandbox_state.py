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
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update

from ixserver.domain.errors import ValidationFailed
from ixserver.store.db import create_side_tables, side_engine
from ixserver.store.tables import sandbox_faults, sandbox_requests

_f, _r = sandbox_faults.c, sandbox_requests.c


FAULTS_FRESH = 1.0  # seconds a process uses the faults it read of an account
FAULTS_CACHED = 10_000  # accounts whose faults a process remembers, at most
MAX_FAULTS = 100  # faults an account may hold at once


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
        self._faults: dict[int, tuple[float, list[Fault]]] = {}  # account -> (when read, its faults)
        self._select_faults = (
            "SELECT id, method, path, status, delay_ms, close, remaining, created_at FROM sandbox_faults"
            f" WHERE account_id = {self._marker} ORDER BY id"
        )

    # -- faults ----------------------------------------------------------------------------

    def faults_of(self, account_id: int) -> list[Fault]:
        """The account's faults, as this process read them less than FAULTS_FRESH seconds ago (a
        fault added through another server process applies here within that; one added, taken
        or cleared through this one, at once). Asked before every request of a sandbox account:
        a read per request cost the sandbox's reads a third of their rate on PostgreSQL."""
        cached = self._faults.get(account_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < FAULTS_FRESH:
            return cached[1]
        faults = self._read_faults(account_id)
        if len(self._faults) > FAULTS_CACHED:
            self._faults.clear()
        self._faults[account_id] = (now, faults)
        return faults

    def _read_faults(self, account_id: int) -> list[Fault]:
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
            held = conn.execute(select(func.count()).where(_f.account_id == account_id)).scalar_one()
            if held >= MAX_FAULTS:  # each is matched against every request of the account
                raise ValidationFailed(
                    f"An account can have at most {MAX_FAULTS} faults: clear them first (DELETE /_ixserver/faults)"
                )
            new_id = conn.execute(
                sandbox_faults.insert().values(account_id=account_id, **values).returning(_f.id)
            ).scalar_one()
        self._faults.pop(account_id, None)
        return Fault(**{**fault.__dict__, "id": int(new_id)})

    def list_faults(self, account_id: int) -> list[Fault]:
        return self._read_faults(account_id)

    def take(self, fault: Fault) -> bool:
        """Use the fault once: False when another request took its last time first, or it was
        cleared (through any server process)."""
        self._faults.clear()  # (rare: a faulted request) what this process read of it is stale
        if fault.remaining is None:
            with self.engine.connect() as conn:
                return conn.execute(select(_f.id).where(_f.id == fault.id)).first() is not None
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(sandbox_faults).where(_f.id == fault.id, _f.remaining > 0).values(remaining=_f.remaining - 1)
            ).rowcount
            conn.execute(delete(sandbox_faults).where(_f.id == fault.id, _f.remaining <= 0))
        return bool(taken)

    def clear_faults(self, account_id: int) -> int:
        self._faults.pop(account_id, None)
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
        self._faults.pop(account_id, None)
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
