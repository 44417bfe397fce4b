"""store/db.py and the database's faults (issue 23): a thread's read connection that its server
ended is replaced before it is used; a read that loses its connection while it runs is a
DatabaseUnavailable (a 503), and `retrying` runs it once more on a new one; `fault_of` reads the
real errors of both drivers (a full SQLite database, a read-only one, a terminated backend)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ixserver.domain.errors import DatabaseUnavailable
from ixserver.store.db import FULL, LOST, READ_ONLY, Database, admin_engine, fault_of


def _end(url: str, pid: int) -> None:
    engine = admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        engine.dispose()


def _backend(db: Database) -> int:
    with db.read() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _ended_during(db: Database, url: str, sql: str = "SELECT pg_sleep(2)") -> None:
    """A read of this thread whose connection is ended while it runs."""
    pid = _backend(db)
    timer = threading.Timer(0.3, _end, (url, pid))
    timer.start()
    try:
        with db.read() as conn:
            conn.exec_driver_sql(sql)
    finally:
        timer.join()


@pytest.mark.postgres
def test_a_read_connection_ended_by_its_server_is_replaced_or_answered_503(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's connections")
    db = Database(database_url)
    try:
        idle = _backend(db)
        _end(database_url, idle)
        time.sleep(0.2)
        assert _backend(db) != idle, "ended while idle: a new connection, found before the read"
        with pytest.raises(DatabaseUnavailable) as lost:
            _ended_during(db, database_url)
        assert (lost.value.reason, lost.value.retry_after) == (LOST, 1)
        assert _backend(db) > 0, "the next read, on a new connection"
        with pytest.raises(DatabaseUnavailable):
            pid = _backend(db)
            threading.Timer(0.3, _end, (database_url, pid)).start()
            with db.snapshot() as conn:
                conn.exec_driver_sql("SELECT pg_sleep(2)")
        with db.snapshot() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        runs: list[int] = []

        def read() -> int:
            runs.append(1)
            if len(runs) == 1:
                _ended_during(db, database_url)
            return _backend(db)

        assert db.retrying(read) > 0 and len(runs) == 2, "once more, on a new connection"
    finally:
        db.dispose()


def test_the_faults_of_sqlite_are_read_from_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    conn.execute("PRAGMA max_page_count = 4294967294")
    conn.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError) as read_only:
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        conn.execute("SELECT * FROM nowhere")
    conn.close()
    assert (fault_of(full.value), fault_of(read_only.value), fault_of(no_table.value)) == (FULL, READ_ONLY, None)
    assert fault_of(ValueError("no database's")) is None


@pytest.mark.postgres
def test_a_pooled_write_connection_ended_while_idle_is_replaced_as_it_is_checked_out(database_url: str) -> None:
    """No pre-ping's round trip before each write transaction: a look at the idle connection's
    socket finds that its server ended it, and the transaction gets a new one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's connections")
    db = Database(database_url)
    try:
        with db.transaction() as conn:
            idle = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        _end(database_url, idle)
        time.sleep(0.2)
        with db.transaction() as conn:
            assert int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) != idle
    finally:
        db.dispose()
