"""The mode the database was made in, sandbox or production: the one row of `database_mode`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ixserver.store.tables import accounts, database_mode, sub_sequences

TRAINING = "F"  # tipoSerie of a training series: only the sandbox's AT simulator registers those


def recorded_mode(conn: Connection) -> str | None:
    """`sandbox` or `production`; None until the first server or command records it."""
    return conn.execute(select(database_mode.c.mode).where(database_mode.c.id == 1)).scalar()


def record_mode(conn: Connection, mode: str, how: str, now: datetime) -> str:
    """Records `mode` unless a mode is recorded already (by another process meanwhile); the
    database's mode, either way."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(database_mode)
        .values(id=1, mode=mode, recorded_at=now, how=how)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    found = recorded_mode(conn)
    assert found is not None
    return found


def has_accounts(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().select_from(accounts))).scalar())


def has_training_series(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().where(sub_sequences.c.series_type == TRAINING))).scalar())
