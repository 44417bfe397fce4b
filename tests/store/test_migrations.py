"""Migrations from an empty database create exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ixserver.store.db import Database, admin_engine
from ixserver.store.migrate import MIGRATIONS, SchemaNotCurrent, head_revision, require_current, upgrade
from ixserver.store.tables import metadata
from tests.conftest import BACKENDS
from tests.support import fresh_database


def alembic_head() -> str | None:
    """The head as Alembic finds it (store/migrate.py reads it from the files without Alembic)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_empty_matches_the_declared_tables(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        db = Database(url)
        with pytest.raises(SchemaNotCurrent, match="ixserver migrate"):
            require_current(db)
        upgrade(url)
        require_current(db)
        upgrade(url)  # a second run changes nothing
        engine = admin_engine(url)
        with engine.connect() as conn:
            # The text index (FTS5 on SQLite, with its shadow tables; pg_trgm on PostgreSQL) has no
            # SQLAlchemy declaration: store/document_search.py holds its SQL.
            def declared(name: str | None, kind: str, _parent: Any) -> bool:
                return not (kind == "table" and name is not None and name.startswith("document_search"))

            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": declared})
            assert context.get_current_revision() == head_revision() == alembic_head()
            assert compare_metadata(context, metadata) == []
        engine.dispose()
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_accounts_made_before_master_data_get_their_taxes(backend: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "0001")
        engine = admin_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO accounts (name, created_at) VALUES ('old', '2026-01-01 00:00:00')"))
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, code, is_default FROM taxes ORDER BY id")).all()
        engine.dispose()
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [
        ("IVA23", "NOR", True), ("IVA13", "INT", False), ("IVA6", "RED", False), ("IVA0", "ISE", False),
    ]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_instances_starting_together_register_the_signing_key_once(backend: str, tmp_path: Path) -> None:
    import threading

    from ixserver.resources import Resources
    from ixserver.services.signing_keys import KeyVersionConflict, register_signing_key
    from tests.support import TEST_SECRET_KEY, Settings, data_file, write

    def resources(**settings: Any) -> Resources:
        return Resources.from_settings(Settings(**{"data_dir": tmp_path, "secret_key": TEST_SECRET_KEY, **settings}))

    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        ours = resources(signing_key_file=data_file("at-sample-keys/at-sample-private-key.pem"))
        databases = [Database(url) for _ in range(4)]
        errors: list[BaseException] = []
        gate = threading.Barrier(4)

        def start(db: Database) -> None:
            gate.wait()
            try:
                write(db, register_signing_key, ours)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(db,)) for db in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        other = resources(data_dir=tmp_path / "other")  # a different, generated key, also version 1
        with pytest.raises(KeyVersionConflict):
            write(databases[0], register_signing_key, other)
        for db in databases:
            db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_document_counts_are_backfilled_and_the_migration_undone(backend: str, tmp_path: Path) -> None:
    """0005 counts the documents already there (0018 per date and month too, and indexes their
    text); the downgrades leave 0004's schema, triggers included, so that the upgrade can run
    again."""
    from alembic import command
    from sqlalchemy import text

    from ixserver.domain.documents import DocumentFilters
    from ixserver.services.seal import open_existing, seal_unsealed
    from ixserver.services.verify import verify
    from ixserver.store.document_lists import list_document_ids
    from ixserver.store.migrate import _config
    from tests.api.invoicing import issue
    from tests.support import live_server, write

    with fresh_database(backend, tmp_path) as url:
        with live_server(url, tmp_path, sandbox=True) as server:
            api = server.account("counted")
            for _ in range(3):
                issue(api)
        engine = admin_engine(url)
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0004")
        with engine.begin() as conn:  # no trigger left behind: this would insert into a dropped table
            conn.execute(text("UPDATE documents SET archived = NOT archived"))
            conn.execute(text("UPDATE documents SET archived = NOT archived"))
        key = server.resources.seal_key
        # as `ixserver migrate` does: 0019 gives each account the seal's start, with its key
        upgrade(url, seal_start=lambda conn, account_id: open_existing(conn, key, account_id))
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT status, n FROM document_counts WHERE n > 0")).all()
        engine.dispose()
        db = Database(url)
        with db.read() as conn:  # the downgrade dropped the seal: its documents predate the new one
            assert sum("issued before the seal began and not sealed yet" in p for p in verify(conn, key)) == 3
            api_id = conn.exec_driver_sql("SELECT id FROM accounts WHERE name = 'counted'").scalar_one()
        write(db, seal_unsealed, server.resources, api_id)  # `ixserver seal`
        with db.read() as conn:
            assert verify(conn, key) == []  # the counts per date and month (0018) included
        with db.snapshot() as conn:  # 0018 indexed the text of the documents already there
            for needle in ("best pencil", "EXEMPLO"):
                assert list_document_ids(conn, api_id, DocumentFilters(text=needle), 1, 10)[1] == 3, needle
        db.dispose()
    assert [tuple(r) for r in kept] == [("final", 3)]


def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    """0600 for the file and, as SQLite copies its mode, its -wal and -shm files."""
    from ixserver.store.db import Database

    url = f"sqlite:///{tmp_path / 'private' / 'ix.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        modes = {
            p.name: oct(p.stat().st_mode & 0o777) for p in (tmp_path / "private").glob("ix.db*") if "lock" not in p.name
        }
        assert modes == {"ix.db": "0o600", "ix.db-wal": "0o600", "ix.db-shm": "0o600"}
    finally:
        db.dispose()


def test_opening_a_database_again_keeps_the_locks_of_its_open_connections(tmp_path: Path) -> None:
    """A second `Database` (or `upgrade`) on a file this process has open must not drop SQLite's
    locks on it: another process closing its last connection would then delete the -wal and
    -shm files under the open ones, whose next statement reads a malformed database."""
    import subprocess
    import sys

    from ixserver.store.db import Database

    path = tmp_path / "ix.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    first = Database(url)
    try:
        with first.read() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM accounts").one()
        second = Database(url)
        upgrade(url)
        other = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM accounts'); c.close()"
        subprocess.run([sys.executable, "-c", other, str(path)], check=True, timeout=30)
        assert (tmp_path / "ix.db-shm").exists(), "the other process saw this one's connection"
        with first.read() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM accounts").one()
        second.dispose()
    finally:
        first.dispose()
