"""Engines and transactions for SQLite and PostgreSQL.

Reads use `Database.read()` (one statement at a time, no transaction) or
`Database.snapshot()` (several statements seeing one state); neither takes a write lock. Writes use
`Database.transaction()`: on SQLite it opens with BEGIN IMMEDIATE so that the write lock is
taken up front (no lock upgrade that can fail half way); on PostgreSQL an ordinary transaction
in which the counters are locked row by row. Every write goes through the write path of
ixserver/writes/ (in a server, its writer; in the CLI, a transaction per use case).

Several processes on one SQLite file (`serve --workers N`, the CLI beside a server) queue for
writing on an advisory lock file beside the database before they BEGIN: the kernel hands it
to the next waiter the moment it is released, where SQLite's own busy handler would have
each waiter poll with sleeps of 1 to 100 ms (which made the slowest writes take a second).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from ixserver.store import deferred

T = TypeVar("T")
# Where a write transaction notes the seal heads it moved (store/seal.py), for `on_sealed`:
# (account id, event number, MAC, what the event is of), or (account id, 0, "", "reset").
SEALED = "ixserver.sealed"
SealedHead = tuple[int, int, str, str]
SQLITE_BUSY_TIMEOUT_MS = 60_000
VERSIONS_APPLICATION = "ixserver-versions"  # PostgreSQL's application_name of the read cache's connections


def normalize_url(url: str) -> str:
    """`postgresql://…` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _unicode_lower(value: Any) -> Any:
    """SQL's lower() as PostgreSQL's (every letter, `É` too), where SQLite's folds ASCII only:
    the list filters that ignore letter case find the same documents on both databases."""
    return value.lower() if isinstance(value, str) else value


def _sqlite_setup(engine: Engine, *, begin: str, temp_store: str = "DEFAULT") -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, not pysqlite's implicit one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA temp_store={temp_store}")
        cur.close()
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql(begin)


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            private_sqlite_file(self.url)
            args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            self.read_engine = create_engine(self.url, connect_args=args, pool_size=8, max_overflow=16)
            self.write_engine = create_engine(self.url, connect_args=args, pool_size=2, max_overflow=2)
            _sqlite_setup(self.read_engine, begin="BEGIN")
            # The writer's savepoints (UseCasePoints) keep each changed page in a statement
            # journal, a temporary file by default: in memory, a use case costs ~15 µs less.
            # Writes make no large sorts; reads keep their temporary files on disk.
            _sqlite_setup(self.write_engine, begin="BEGIN IMMEDIATE", temp_store="MEMORY")
        elif self.dialect == "postgresql":
            self.read_engine = create_engine(self.url, pool_size=8, max_overflow=16, pool_pre_ping=True)
            self.write_engine = self.read_engine
            deferred.install(self.write_engine)
        else:
            raise ValueError(f"unsupported database: {self.dialect} (use sqlite:/// or postgresql://)")
        # Each thread that reads keeps one connection in driver-level autocommit: a read costs
        # no pool checkout and no BEGIN/ROLLBACK round trips, and every statement sees the
        # latest committed data (a single SELECT is atomic on both backends).
        self._local = threading.local()
        self._held: list[Connection] = []
        self._held_lock = threading.Lock()
        # Told the seal heads each committed write transaction moved (see `transaction`).
        self.on_sealed: Callable[[list[SealedHead]], None] | None = None
        # The writers' queue: a mutex between this process's threads, a file lock between processes.
        self._write_mutex = threading.Lock()
        self._lock_path: str | None = None
        if self.dialect == "sqlite" and parsed.database and parsed.database != ":memory:":
            self._lock_path = f"{parsed.database}-writelock"
        self._lock_fd: int | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads made of single statements (the hot path)."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.read_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.conn = conn
            with self._held_lock:
                self._held.append(conn)
        try:
            yield conn
        finally:
            if conn.in_transaction():
                try:
                    conn.rollback()
                except Exception:  # a broken connection: the next read opens a new one
                    conn.invalidate()

    async def async_reader(self) -> Any:
        """A new psycopg AsyncConnection in autocommit, for reads awaited on the event loop
        (PostgreSQL: the read cache's versions, api/cache.py)."""
        import psycopg

        url = make_url(self.url).set(drivername="postgresql")
        return await psycopg.AsyncConnection.connect(
            url.render_as_string(hide_password=False), autocommit=True, application_name=VERSIONS_APPLICATION
        )

    def change_token(self) -> tuple[int, int] | None:
        """A value that changes whenever anything is committed to the database, by any
        connection of any process: SQLite's `PRAGMA data_version`, read on this thread's read
        connection (it is per connection, hence the connection's identity beside it).
        None on PostgreSQL, which has no equivalent that is this cheap."""
        if not self.is_sqlite:
            return None
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            with self.read() as conn:
                pass
        raw = conn.connection.dbapi_connection
        assert raw is not None
        return id(raw), raw.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction: several statements that must see one consistent state.

        It runs on this thread's read connection, begun and ended on the driver (SQLAlchemy's
        pooled connect-begin-commit cost more than the statements of a small read): SQLite's
        deferred BEGIN holds one snapshot from the first read on; PostgreSQL's REPEATABLE READ
        does the same. Nested in another snapshot of the thread, it is that one."""
        with self.read() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            if self.is_sqlite:
                if raw.in_transaction:
                    yield conn
                    return
                begin = "BEGIN"
            else:
                if raw.info.transaction_status != 0:  # psycopg: not idle
                    yield conn
                    return
                begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            raw.execute(begin)
            try:
                yield conn
            except BaseException:
                try:
                    raw.execute("ROLLBACK")
                except Exception:  # a broken connection: the next read opens a new one
                    conn.invalidate()
                raise
            raw.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed on success, rolled back on any exception. The seal
        heads it moved (store/seal.py notes them) are handed to `on_sealed` once it is committed:
        the seal journal (ixserver/journal.py) of the process that made this Database."""
        sealed: list[SealedHead] = []
        with self._writing(), self.write_engine.begin() as conn:
            conn.info[SEALED] = sealed
            try:
                yield conn
            finally:
                del conn.info[SEALED]
        if sealed and self.on_sealed is not None:
            self.on_sealed(sealed)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """This process's and then this database's turn to write (SQLite files; elsewhere the
        database's own locks do)."""
        if self._lock_path is None:
            yield
            return
        with self._write_mutex:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def dispose(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        for conn in held:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing what may already be broken
                pass
        self._local = threading.local()
        with self._write_mutex:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def admin_engine(url: str) -> Engine:
    """A throwaway engine without pooling (migrations, database creation in tests)."""
    private_sqlite_file(url)
    return create_engine(normalize_url(url), poolclass=NullPool)


def private_sqlite_file(url: str) -> None:
    """An SQLite file readable by its owner only (0600), created so before SQLite opens it: SQLite
    gives its -wal and -shm files the database file's mode. Other URLs are left alone."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    if path.exists():
        # Never open and close a database file that exists: closing any descriptor of it drops
        # every POSIX lock this process holds on it, SQLite's included. Another process could
        # then take this process's connections for gone, checkpoint and delete the -wal and -shm
        # files under them ("database disk image is malformed"; sqlite.org/howtocorrupt.html 2.2).
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))


class UseCasePoints:
    """Savepoints on one write connection, one use case at a time (the writer's batches): a use
    case that refuses is undone alone. On SQLite, on the driver's cursor: a pair costs about
    2 µs, plus a copy of each page the use case changes into the statement journal (kept in
    memory on write connections: see `Database`). On PostgreSQL they are deferred
    (store/deferred.py): they go with the use case's statements, no round trip of their own."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sealed = 0

    def begin(self) -> None:
        deferred.defer(self._conn, "SAVEPOINT use_case")
        self._sealed = len(self._conn.info.get(SEALED, ()))

    def undo(self) -> None:
        deferred.defer(self._conn, "ROLLBACK TO SAVEPOINT use_case")
        del self._conn.info.get(SEALED, [])[self._sealed :]  # the heads it moved are undone with it

    def end(self) -> None:
        deferred.defer(self._conn, "RELEASE SAVEPOINT use_case")
