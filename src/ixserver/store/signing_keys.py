"""The public halves of the signing keys, by version (HashControl)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ixserver.store.tables import signing_keys


def public_key(conn: Connection, version: int) -> str | None:
    return conn.execute(select(signing_keys.c.public_key).where(signing_keys.c.version == version)).scalar()


def all_public_keys(conn: Connection) -> dict[int, str]:
    return {
        version: pem for version, pem in conn.execute(select(signing_keys.c.version, signing_keys.c.public_key)).all()
    }


def insert_public_key(conn: Connection, version: int, pem: str, created_at: datetime) -> None:
    conn.execute(insert(signing_keys).values(version=version, public_key=pem, created_at=created_at))
