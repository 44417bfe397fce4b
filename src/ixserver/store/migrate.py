"""Alembic, driven from code: `ixserver migrate` and `ixserver serve` call `upgrade()`.

Several server instances may start at once against one database, so migrations run under a
lock: an advisory lock on PostgreSQL, a file lock beside the SQLite file.

Every command and server process asks whether its database is at the newest revision: that is
answered without Alembic (the revisions' lines read from the files, the stored one with a plain
query), which takes a quarter of a second of CPU to import and load the migrations; Alembic is
imported only when there is something to migrate.
"""

from __future__ import annotations

import fcntl
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from ixserver.store import deferred
from ixserver.store.db import Database, admin_engine, normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
PG_LOCK_ID = 0x1C5E_7E12  # arbitrary, constant: "ixserver migrations"
VERSION_TABLE = "alembic_version"  # Alembic's
# a migration's `revision = "0025"` and `down_revision = "0024"` lines, as the template writes them
_REVISION_LINE = re.compile(r'^(down_revision|revision)(?:: [^=]+)? = (?:"([^"]+)"|None)\s*$', re.MULTILINE)


class SchemaNotCurrent(RuntimeError):
    pass


SealStart = Callable[[Connection, int], None]


def _config(connection: Connection, seal_start: SealStart | None = None) -> Config:
    from alembic.config import Config

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
    start (migration 0019: it takes the seal's key, which the caller has and the store does not).
    Nothing to do (the database at `revision` already, as nearly always): one query, no lock."""
    url = normalize_url(url)
    engine = admin_engine(url)
    try:
        if revision in ("head", head_revision()) and _at_head(engine):
            return
        from alembic import command

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


def _at_head(engine: Engine) -> bool:
    """Whether the database is at the newest revision; False, to migrate under the lock, when in
    doubt (an SQLite file locked by another process's migration)."""
    try:
        with engine.connect() as conn:
            return stored_revision(conn) == head_revision()
    except DBAPIError:
        return False


@functools.cache
def head_revision() -> str:
    """The newest migration's revision: the one no migration names as its `down_revision` (one
    line of history; tests/store/test_migrations.py checks that it is Alembic's head)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text()):
            if value:
                (revisions if name == "revision" else downs).add(value)
    [head] = revisions - downs
    return head


def stored_revision(conn: Connection) -> str | None:
    """The revision the database is at (Alembic's version table), None before the first."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    stored = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return str(stored[0]) if len(stored) == 1 else None  # several: branches, which this history has not


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return stored_revision(conn)


def require_current(db: Database) -> None:
    current, head = current_revision(db), head_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"database schema is at {current or 'nothing'}, this ixserver needs {head}: run `ixserver migrate`"
        )
