"""Writers of several processes on one SQLite file queue on a lock file beside it
(store/db.py), which the kernel hands to the next waiter at once."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from ixserver.store.db import Database

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _other_process_sees(lock: Path) -> str:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(lock)], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()  # fmt: skip


def test_a_write_transaction_holds_the_lock_file_until_it_ends(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'ix.db'}")
    lock = tmp_path / "ix.db-writelock"
    try:
        with db.transaction() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert _other_process_sees(lock) == "held"
        assert _other_process_sees(lock) == "free"
        try:
            with db.transaction() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert _other_process_sees(lock) == "free", "a failed transaction lets go of the lock too"
    finally:
        db.dispose()


def test_writers_wait_for_the_lock_held_elsewhere(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'ix.db'}")
    lock = tmp_path / "ix.db-writelock"
    with db.transaction() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = os.open(lock, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    script = (
        "import sys; from sqlalchemy import text; from ixserver.store.db import Database\n"
        "db = Database(sys.argv[1])\n"
        "with db.transaction() as conn: conn.execute(text('INSERT INTO t VALUES (2)'))\n"
        "print('written')"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, f"sqlite:///{tmp_path / 'ix.db'}"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        try:
            writer.wait(timeout=1.5)
            raise AssertionError("the other process wrote while the lock was held")
        except subprocess.TimeoutExpired:
            pass
        fcntl.flock(holder, fcntl.LOCK_UN)
        out, _ = writer.communicate(timeout=30)
        assert out.strip() == "written"
    finally:
        os.close(holder)
        writer.kill()
        db.dispose()
    with db.read() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [2]
