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
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool

from ixserver.domain.errors import CommitUnknown, DatabaseUnavailable
from ixserver.store import deferred

T = TypeVar("T")
# Where a write transaction notes the seal heads it moved (store/seal.py), for `on_sealed`:
# (account id, event number, MAC, what the event is of), or (account id, 0, "", "reset").
SEALED = "ixserver.sealed"
SealedHead = tuple[int, int, str, str]
# Where a write transaction keeps the work its statements left for its end (`at_commit`).
AT_COMMIT = "ixserver.at_commit"
# Where a write transaction keeps what it read and may read again (`remembered`).
MEMO = "ixserver.memo"
SQLITE_BUSY_TIMEOUT_MS = 60_000
VERSIONS_APPLICATION = "ixserver-versions"  # PostgreSQL's application_name of the read cache's connections


# -- faults: what the database could not do, as opposed to what it refused --------------------

LOST = "connection lost"  # the server went away (terminated, restarted, unreachable): a new connection may do
FULL = "disk full"
READ_ONLY = "read-only"
IO_ERROR = "I/O error"
BUSY = "busy"
RESOURCES = "out of resources"
DAMAGED = "database file damaged"
# Seconds a client is asked to wait: a lost connection is usually back at once; the others wait
# for someone to act (free space, make it writable) and are probed by the writer until then.
RETRY_AFTER = {LOST: 1, BUSY: 1}
STORAGE_RETRY_AFTER = 5
# SQLite's primary result codes (sqlite3 errors carry them as sqlite_errorcode, extended)
_SQLITE_FAULTS = {5: BUSY, 6: BUSY, 8: READ_ONLY, 10: IO_ERROR, 11: DAMAGED, 13: FULL, 14: IO_ERROR, 26: DAMAGED}
# PostgreSQL's SQLSTATEs (class 08 is a connection exception: LOST)
_PG_FAULTS = {"57P01": LOST, "57P02": LOST, "57P03": LOST, "53100": FULL, "53200": RESOURCES, "53300": RESOURCES,
              "53400": RESOURCES, "25006": READ_ONLY, "58030": IO_ERROR}  # fmt: skip


def fault_of(exc: BaseException) -> str | None:
    """The fault `exc` is (LOST, FULL, READ_ONLY …), or None for anything else (a refusal, a
    bug). Driver errors are read through SQLAlchemy's wrapper or as the driver raised them."""
    if isinstance(exc, DatabaseUnavailable | CommitUnknown):
        return exc.reason
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return LOST
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_FAULTS.get(code & 0xFF)
    module = type(orig).__module__ or ""
    if not module.startswith("psycopg"):
        return None
    state = getattr(orig, "sqlstate", None)
    if state is None:  # no answer from the server at all (refused, reset, closed): the connection's fault
        return LOST if type(orig).__name__ in ("OperationalError", "InterfaceError") else None
    return _PG_FAULTS.get(state) or (LOST if state.startswith("08") else None)


def unavailable(fault: str) -> DatabaseUnavailable:
    """The answer to a request the fault stopped before anything of it was changed (a 503)."""
    return DatabaseUnavailable(fault, RETRY_AFTER.get(fault, STORAGE_RETRY_AFTER))


def _socket_closed(raw: Any) -> bool:
    """Whether a PostgreSQL connection that is idle has heard from its server, which then can
    only be that it went away (a terminated backend, a restart): a poll, no round trip."""
    if raw.closed or raw.broken:
        return True
    try:
        poller = select.poll()
        poller.register(raw.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError, AttributeError):  # a socket already gone
        return True


def _checked_out_alive(engine: Engine) -> None:
    """A pooled PostgreSQL connection whose server closed it while it was idle (a terminated
    backend, a restart) is replaced as it is checked out: what SQLAlchemy's pre-ping does, but
    by a look at its socket (`_socket_closed`) where the pre-ping's SELECT 1 was a round trip
    before every write transaction. One that breaks later is the writer's to handle (a use case
    it stopped runs once more on a new connection: writes/batches.py)."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if _socket_closed(dbapi_conn):
            raise DisconnectionError("the server closed this connection")


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
            self.read_engine = create_engine(self.url, pool_size=8, max_overflow=16)
            self.write_engine = self.read_engine
            deferred.install(self.write_engine)
            _checked_out_alive(self.write_engine)
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

    def _reader(self) -> Connection:
        """This thread's read connection: a new one when it has none, or when the one it has was
        closed by its server (PostgreSQL: found before it is used, so the read goes to a new
        connection rather than fail). A database that cannot be reached is a DatabaseUnavailable."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.invalidated:
            raw = conn.connection.dbapi_connection
            if self.is_sqlite or not _socket_closed(raw):
                return conn
        if conn is not None:
            self._let_go(conn)
        try:
            conn = self.read_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            fault = fault_of(exc)
            if fault is None:
                raise
            raise unavailable(fault) from exc
        self._local.conn = conn
        with self._held_lock:
            self._held.append(conn)
        return conn

    def _let_go(self, conn: Connection) -> None:
        """Drop a read connection that is broken: the thread's next read opens a new one."""
        with self._held_lock:
            if conn in self._held:
                self._held.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with suppress(Exception):
            conn.invalidate()
        with suppress(Exception):
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads made of single statements (the hot path). A fault of the
        database (store/db.fault_of) is a DatabaseUnavailable: a 503, and, for a lost
        connection, this thread's next read on a new connection."""
        conn = self._reader()
        try:
            yield conn
        except Exception as exc:
            fault = fault_of(exc)
            if fault is None or isinstance(exc, DatabaseUnavailable):
                raise
            if fault == LOST:
                self._let_go(conn)
            raise unavailable(fault) from exc
        finally:
            if not conn.closed and conn.in_transaction():
                try:
                    conn.rollback()
                except Exception:  # a broken connection: the next read opens a new one
                    conn.invalidate()

    def ping(self) -> None:
        """A read of nothing: DatabaseUnavailable when the database does not answer (health)."""
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()

    def retrying(self, fn: Callable[[], T]) -> T:
        """`fn()`, reads only (it opens `read()` or `snapshot()` itself), run once more when it
        lost its connection: the second time on a new one. Then its DatabaseUnavailable."""
        try:
            return fn()
        except DatabaseUnavailable as exc:
            if exc.reason != LOST:
                raise
            return fn()

    async def async_reader(self) -> Any:
        """A new psycopg AsyncConnection in autocommit, for reads awaited on the event loop
        (PostgreSQL: the read cache's versions, web/cache.py)."""
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
        the seal journal (ixserver/journal.py) of the process that made this Database.

        What fails before the COMMIT was not carried out (the transaction is rolled back, or, its
        connection lost, by the server); a COMMIT that fails leaves it unknown whether the
        server committed: that is a CommitUnknown, never to be run again as if it had not."""
        sealed: list[SealedHead] = []
        with self._writing(), self.write_engine.connect() as conn:
            transaction = conn.begin()
            conn.info[SEALED] = sealed
            work: dict[str, Callable[[Connection], None]] = {}
            conn.info[AT_COMMIT] = work
            conn.info[MEMO] = {}
            try:
                yield conn
                for write in work.values():  # (`at_commit`) its failure is the body's too
                    write(conn)
                deferred.flush(conn)  # what waits for the commit is sent now: its failure is the body's
            except BaseException:
                with suppress(Exception):  # a lost connection: the server has rolled it back
                    transaction.rollback()
                raise
            finally:
                conn.info.pop(SEALED, None)
                conn.info.pop(AT_COMMIT, None)
                conn.info.pop(MEMO, None)
            if transaction.is_active:  # (not if the body ended it itself)
                try:
                    transaction.commit()
                except DBAPIError as exc:  # the driver's: what the server did is not known
                    raise CommitUnknown(fault_of(exc) or f"{type(exc.orig).__name__}: {exc.orig}"[:200]) from exc
        if sealed and self.on_sealed is not None:
            self.on_sealed(sealed)

    def probe_write(self) -> None:
        """A write that changes nothing, rolled back: it raises what a write would meet now (the
        disk full, the database read-only or unreachable). SQLite: a table is made (a page taken)
        on a disk that keeps some room; PostgreSQL: a temporary table."""
        if self.is_sqlite and self._lock_path is not None:
            stats = os.statvfs(os.path.dirname(self._lock_path) or ".")
            if stats.f_bavail * stats.f_frsize < PROBE_FREE_BYTES:
                raise DatabaseUnavailable(FULL, STORAGE_RETRY_AFTER)
        probe = "CREATE TABLE ixserver_probe (x)" if self.is_sqlite else "CREATE TEMPORARY TABLE ixserver_probe (x int)"
        with suppress(_Probed), self.transaction() as conn:
            conn.exec_driver_sql(probe)
            raise _Probed

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


def side_engine(database_url: str, suffix: str, pool_size: int = 1) -> Engine:
    """An engine for what every process of a server shares beside the database's own data (the
    rate counts, the sandbox's faults and recordings). PostgreSQL: the database itself. SQLite:
    a file of its own beside it (`<database>-<suffix>`, WAL, no fsync: a few counts or recordings
    lost in a crash are no loss), so that it never queues on the writer and never changes the
    database's `data_version` (which would empty every read cache)."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    side = url.set(database=f"{url.database}-{suffix}") if url.database not in (None, "", ":memory:") else url
    private_sqlite_file(side.render_as_string(hide_password=False))
    engine = create_engine(side, connect_args={"check_same_thread": False, "timeout": 10})
    event.listen(engine, "connect", _side_pragmas)
    return engine


def create_side_tables(engine: Engine, *tables: Table) -> None:
    """The side file's tables (SQLite), made by whichever server process opens it first: two that
    start together both find a table missing, and the second's CREATE fails; it is there then."""
    for table in tables:
        try:
            table.create(engine, checkfirst=True)
        except OperationalError:
            if not inspect(engine).has_table(table.name):
                raise


def _side_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


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


PROBE_FREE_BYTES = 1 << 20  # SQLite: a filesystem with less room than this is full (a batch's WAL frames would not fit)


class _Probed(Exception):  # noqa: N818 - not an error: the probe's way to roll back
    pass


W = TypeVar("W", bound=Callable[[Connection], None])


def at_commit(conn: Connection, key: str, write: Callable[[], W]) -> W | None:
    """The work of the write transaction on `conn` registered under `key` (made by `write()` the
    first time): it is called with the connection once, after the transaction's body and before
    its commit, so that what many use cases of a batch each ask for is written in one statement
    (store/document_search.py's rows). Rolled back with the transaction, it is dropped with it.
    None: `conn` is not in a transaction of `Database.transaction`; the caller writes at once."""
    work = conn.info.get(AT_COMMIT)
    if work is None:
        return None
    found = work.get(key)
    if found is None:
        found = work[key] = write()
    return found


def remembered(conn: Connection) -> dict[Any, Any] | None:
    """What the write transaction on `conn` remembers of rows it read (an account's clock), by a
    key of the store module that reads them, which forgets (pops) its key when it writes them.
    A savepoint undone gives it back as it was when the savepoint began (`UseCasePoints`).
    None: `conn` is not in a transaction of `Database.transaction`; nothing is remembered."""
    memo: dict[Any, Any] | None = conn.info.get(MEMO)
    return memo


class UseCasePoints:
    """Savepoints on one write connection, one use case at a time (the writer's batches): a use
    case that refuses is undone alone. On SQLite, on the driver's cursor: a pair costs about
    2 µs, plus a copy of each page the use case changes into the statement journal (kept in
    memory on write connections: see `Database`). On PostgreSQL they are deferred
    (store/deferred.py): they go with the use case's statements, no round trip of their own."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sealed = 0
        self._memo: dict[Any, Any] = {}

    def begin(self) -> None:
        deferred.defer(self._conn, "SAVEPOINT use_case")
        self._sealed = len(self._conn.info.get(SEALED, ()))
        self._memo = dict(self._conn.info.get(MEMO, ()))

    def undo(self) -> None:
        deferred.defer(self._conn, "ROLLBACK TO SAVEPOINT use_case")
        del self._conn.info.get(SEALED, [])[self._sealed :]  # the heads it moved are undone with it
        memo = self._conn.info.get(MEMO)
        if memo is not None:  # and what it read or wrote is remembered as before it
            memo.clear()
            memo.update(self._memo)

    def end(self) -> None:
        deferred.defer(self._conn, "RELEASE SAVEPOINT use_case")
