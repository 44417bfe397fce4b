"""Migrations from an empty database create exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ixserver.store.db import Database, admin_engine
from ixserver.store.migrate import SchemaNotCurrent, head_revision, require_current, upgrade
from ixserver.store.tables import metadata
from tests.conftest import BACKENDS
from tests.support import fresh_database


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
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert context.get_current_revision() == head_revision()
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
