"""Writes whose answer nobody waits for, sent with the next statement that is waited for.

On PostgreSQL each statement is a round trip to the server, and a write transaction of the
writer is a chain of them, run while the account's lock is held (writes/batches.py): the round
trips, not the server's work, are most of a use case's time. Many statements of a use case are
writes whose answer the use case does not read: the account's lock, the savepoints around each
use case of a batch, the chain's advance and the new status of a finalization, the seal's event.
`defer` queues such a statement on the connection; the next statement that is waited for
(`Prepared`) sends the queue and itself in one pipeline (store/libpq.py: straight on libpq, one
write and one wait for all of them). The queue is also sent before any other statement of the
connection (SQLAlchemy's `before_cursor_execute`) and before the commit; a rollback drops it.

So the server runs every statement in the order the use case issued it, as before; only the
waiting changed. A deferred statement that fails makes the statement it was sent with fail, or
the commit: the transaction is then aborted, and the writer runs each use case of the batch again
on its own, as for any failure that is not a refusal.

On SQLite (in the process, no round trips) a deferred statement runs at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ixserver.store import libpq

_QUEUE = "ixserver_deferred"  # in the pooled connection's `info`: [(libpq.Statement, values), …]


def defer(conn: Connection, sql: str, params: Any = None) -> None:
    """Run `sql` (a write whose answer is not read) before the connection's next waited statement.
    On PostgreSQL, `sql` has no parameters (a savepoint): a prepared statement is `queue`d."""
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
    if params:
        raise ValueError("a statement with parameters is deferred as a prepared statement (Prepared.send)")
    queue(conn, libpq.text(sql), None)


def queue(
    conn: Connection, statement: libpq.Statement, values: Sequence[Any] | None, later: libpq.Later | None = None
) -> None:
    """PostgreSQL: `statement` with `values` (its parameters in order), before the connection's
    next waited statement; with `later`, its answer is kept there."""
    if not conn.in_transaction():
        conn.begin()  # what Connection.execute's autobegin would do
    conn.connection.info.setdefault(_QUEUE, []).append((statement, values) if later is None else
                                                       (statement, values, later))  # fmt: skip


def taken(conn: Connection) -> list[libpq.Queued] | None:
    """The connection's queue, emptied (None when there is none)."""
    return conn.connection.info.pop(_QUEUE, None)


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
    queued = conn.connection.info.pop(_QUEUE, None) if not conn.invalidated else None
    if queued:
        try:
            libpq.exchange(conn.connection.dbapi_connection, queued)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise driver_error(conn, exc, "; ".join(q[0].sql.decode() for q in queued), None) from exc


def install(engine: Engine) -> None:
    """Send the queue before any other statement or the commit of a connection of `engine`;
    drop it at a rollback; its prepared statements are this package's alone (PostgreSQL engines:
    `libpq.own_preparation`). `Database.transaction` sends it before it
    commits, so that a failure of the queue is told apart from a failure of the COMMIT."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        libpq.own_preparation(dbapi_conn)

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
