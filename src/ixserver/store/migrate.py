"""Alembic, driven from code: `ixserver migrate` and `ixserver serve` call `upgrade()`.

Several server instances may start at once against one database, so migrations run under a
lock: an advisory lock on PostgreSQL, a file lock beside the SQLite file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from ixserver.store import deferred
from ixserver.store.db import Database, admin_engine, normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"
PG_LOCK_ID = 0x1C5E_7E12  # arbitrary, constant: "ixserver migrations"


class SchemaNotCurrent(RuntimeError):
    pass


SealStart = Callable[[Connection, int], None]


def _config(connection: Connection, seal_start: SealStart | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    if seal_start is not None:
        cfg.attributes["seal_start"] = seal_start
    return cfg


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head", *, seal_start: SealStart | None = None) -> None:
    """Migrate the database to `revision`. `seal_start(conn, account_id)` writes an account's seal
    start (migration 0019: it takes the seal's key, which the caller has and the store does not)."""
    url = normalize_url(url)
    engine = admin_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            with _sqlite_file_lock(url):
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # batch migrations copy tables
                with engine.begin() as conn:
                    command.upgrade(_config(conn, seal_start), revision)
        else:
            deferred.install(engine)  # a migration may write through the store's deferred statements
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_LOCK_ID})
                command.upgrade(_config(conn, seal_start), revision)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(db: Database) -> None:
    current, head = current_revision(db), head_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"database schema is at {current or 'nothing'}, this ixserver needs {head}: run `ixserver migrate`"
        )
