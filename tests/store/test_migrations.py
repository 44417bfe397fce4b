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
