"""Writes whose answer nobody waits for, sent with the next statement that is waited for.

On PostgreSQL each statement is a round trip to the server, and a write transaction of the
writer is a chain of them, run while the account's lock is held (writes/batches.py): the round
trips, not the server's work, are most of a use case's time. Many statements of a use case are
writes whose answer the use case does not read: the account's lock, the savepoints around each
use case of a batch, the chain's advance and the new status of a finalization, the seal's event.
`defer` queues such a statement on the connection; the next statement that is waited for
(`Prepared`) sends the queue and itself in one pipeline (psycopg's pipeline mode), one round trip
for all. The queue is also sent before any other statement of the connection (SQLAlchemy's
`before_cursor_execute`) and before the commit; a rollback drops it.

So the server runs every statement in the order the use case issued it, as before; only the
waiting changed. A deferred statement that fails makes the statement it was sent with fail, or
the commit: the transaction is then aborted, and the writer runs each use case of the batch again
on its own, as for any failure that is not a refusal.

On SQLite (in the process, no round trips) a deferred statement runs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_QUEUE = "ixserver_deferred"  # in the pooled connection's `info`: [(sql, params), …]


def defer(conn: Connection, sql: str, params: Any = None) -> None:
    """Run `sql` (a write whose answer is not read) before the connection's next waited statement."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name != "postgresql":
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params if params is not None else ())
        except conn.dialect.loaded_dbapi.Error as exc:
            raise driver_error(conn, exc, sql, params, cursor) from exc
        finally:
            cursor.close()
        return
    if not conn.in_transaction():
        conn.begin()  # what Connection.execute's autobegin would do
    conn.connection.info.setdefault(_QUEUE, []).append((sql, params))


def taken(conn: Connection) -> list[tuple[str, Any]] | None:
    """The connection's queue, emptied (None when there is none)."""
    return conn.connection.info.pop(_QUEUE, None)


def send_with(raw: Any, queue: list[tuple[str, Any]], waited: Callable[[], None]) -> None:
    """The queue, then `waited()` (the statement whose answer is read), in one pipeline: when it
    returns, every answer is in, and an error of any of them has been raised."""
    with raw.pipeline():
        sink = raw.cursor()
        try:
            for sql, params in queue:
                sink.execute(sql, params)
            waited()
        finally:
            sink.close()


def driver_error(conn: Connection, exc: Exception, sql: str, params: Any, cursor: Any = None) -> DBAPIError:
    """The driver's `exc` as SQLAlchemy raises it (the same type whichever way the statement
    went), the connection invalidated when `exc` broke it."""
    disconnect = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)  # type: ignore[arg-type]
    if disconnect:
        conn.invalidate(exc)
    error = DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=disconnect,
                                dialect=conn.dialect)  # fmt: skip
    assert isinstance(error, DBAPIError)  # `exc` is the driver's error, never a StatementError's cause
    return error


def flush(conn: Connection) -> None:
    """Send the connection's queue now (nothing when there is none)."""
    queue = conn.connection.info.pop(_QUEUE, None) if not conn.invalidated else None
    if queue:
        try:
            send_with(conn.connection.dbapi_connection, queue, lambda: None)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise driver_error(conn, exc, "; ".join(sql for sql, _ in queue), None) from exc


def install(engine: Engine) -> None:
    """Send the queue before any other statement or the commit of a connection of `engine`;
    drop it at a rollback (PostgreSQL engines). `Database.transaction` sends it before it
    commits, so that a failure of the queue is told apart from a failure of the COMMIT."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Connection, *_args: Any) -> None:
        flush(conn)

    @event.listens_for(engine, "commit")
    def _before_commit(conn: Connection) -> None:
        flush(conn)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        if not conn.invalidated:
            conn.connection.info.pop(_QUEUE, None)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(_QUEUE, None)  # a connection back in the pool holds nothing of its last transaction
