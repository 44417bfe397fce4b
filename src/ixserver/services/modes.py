"""The mode is the database's (issue 25): a database records the mode, sandbox or production,
of the first server or command that opens it, and refuses any started with the other mode; the
settings' mode (IXSERVER_SANDBOX) of a process that has opened it is therefore the database's.

A database made before the mode was recorded (migration 0024) and holding accounts is a sandbox
one when a series of it is a training series (only the sandbox's AT simulator registers those);
otherwise it takes the mode of the first server or command that opens it, which says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.store import modes as store
from ixserver.store.db import Database
from ixserver.writes.use_cases import of_no_account

SANDBOX, PRODUCTION = "sandbox", "production"


class ModeMismatch(RuntimeError):
    """A server or command of one mode given a database made in the other (one line: how to proceed)."""


def mode_name(sandbox: bool) -> str:
    return SANDBOX if sandbox else PRODUCTION


def settle(db: Database, sandbox: bool, run_sync: Callable[..., Any]) -> str | None:
    """Checks that the database is of the mode `sandbox` says, recording it first when it has
    none (`record`, run by `run_sync`: the caller's writes); raises ModeMismatch when it is of
    the other. Returns a line to say when the mode of a database made before it was recorded was
    decided now, else None."""
    with db.read() as conn:
        mode = store.recorded_mode(conn)
    note = None
    if mode is None:
        mode, note = run_sync(record, sandbox)
    if mode != mode_name(sandbox):
        raise ModeMismatch(refusal(mode))
    return note


@of_no_account
def record(conn: Connection, sandbox: bool) -> tuple[str, str | None]:
    """The database's mode, recorded now if it has none: the mode of its opener (`sandbox`), or,
    for a database made before, a sandbox one if it holds training series. With the line that
    says how a database holding accounts was decided."""
    if store.recorded_mode(conn) is not None or not store.has_accounts(conn):
        return store.record_mode(conn, mode_name(sandbox), "made", clock.now()), None
    if store.has_training_series(conn):
        how = "made before the mode was kept; it holds training series (the sandbox's AT simulator registered them)"
        mode = store.record_mode(conn, SANDBOX, how, clock.now())
    else:
        how = "made before the mode was kept; the mode of the first server or command that opened it since"
        mode = store.record_mode(conn, mode_name(sandbox), how, clock.now())
    return mode, f"note: this database now keeps its mode, {mode} ({how})"


def refusal(mode: str) -> str:
    """What a server or command of the other mode says, and how to proceed."""
    if mode == SANDBOX:
        return (
            "this database was made in sandbox mode; start with IXSERVER_SANDBOX=1, or use another database"
            " (IXSERVER_DATABASE_URL, IXSERVER_DATA_DIR)"
        )
    return (
        "this database was made in production mode; start without IXSERVER_SANDBOX (or with IXSERVER_SANDBOX=0),"
        " or use another database (IXSERVER_DATABASE_URL, IXSERVER_DATA_DIR)"
    )
