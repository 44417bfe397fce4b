"""Queries on users (the owners of accounts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ixserver.store.tables import users

_u = users.c


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    password_hash: str
    first_name: str | None
    last_name: str | None


def _select() -> Any:
    return select(_u.id, _u.email, _u.password_hash, _u.first_name, _u.last_name)


def user_by_email(conn: Connection, email: str) -> UserRow | None:
    r = conn.execute(_select().where(_u.email == email)).first()
    return UserRow(*r) if r else None


def insert_user(conn: Connection, *, created_at: datetime, **values: Any) -> int:
    return int(conn.execute(insert(users).values(created_at=created_at, **values).returning(_u.id)).scalar_one())


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    if values:
        conn.execute(update(users).where(_u.id == user_id).values(**values))
