"""The SAF-T files made for the API (GET /api/export_saft.json): started, done (kept gzipped), or
failed; found by account and period, or by the token of their download address."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ixserver.store.tables import documents, saft_exports

_e = saft_exports.c
RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass(frozen=True)
class Export:
    id: int
    account_id: int
    year: int
    month: int
    status: str
    token: str
    documents: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    seal_seq: int | None = None  # the seal's event that recorded the file (services/seal.py)


_COLUMNS = (_e.id, _e.account_id, _e.year, _e.month, _e.status, _e.token, _e.documents, _e.error, _e.created_at,
            _e.finished_at, _e.seal_seq)  # fmt: skip


def latest(conn: Connection, account_id: int, year: int, month: int) -> Export | None:
    query = select(*_COLUMNS).where(_e.account_id == account_id, _e.year == year, _e.month == month)
    row = conn.execute(query.order_by(_e.id.desc()).limit(1)).first()
    return Export(*row) if row else None


def get(conn: Connection, export_id: int) -> Export | None:
    row = conn.execute(select(*_COLUMNS).where(_e.id == export_id)).first()
    return Export(*row) if row else None


def start(conn: Connection, account_id: int, year: int, month: int, token: str, now: datetime) -> int:
    statement = insert(saft_exports).values(
        account_id=account_id, year=year, month=month, status=RUNNING, token=token, created_at=now
    )
    return int(conn.execute(statement.returning(_e.id)).scalar_one())


def finish(conn: Connection, export_id: int, content: bytes, count: int, now: datetime) -> None:
    conn.execute(
        update(saft_exports)
        .where(_e.id == export_id)
        .values(status=DONE, content=content, documents=count, finished_at=now)
    )


def set_seal(conn: Connection, export_id: int, seq: int) -> None:
    conn.execute(update(saft_exports).where(_e.id == export_id).values(seal_seq=seq))


def digest(content: bytes) -> str:
    """What the seal records of a kept file: the SHA-256 of its bytes as kept (gzipped)."""
    return hashlib.sha256(content).hexdigest()


def done_digests(conn: Connection, account_id: int) -> Iterator[tuple[Export, str]]:
    """The account's kept files and their digests (for `ixserver verify`), one at a time."""
    ids = conn.scalars(select(_e.id).where(_e.account_id == account_id, _e.status == DONE).order_by(_e.id)).all()
    for export_id in ids:
        row = conn.execute(select(*_COLUMNS, _e.content).where(_e.id == export_id)).first()
        if row is not None:
            yield Export(*row[:-1]), digest(bytes(row[-1] or b""))


def fail(conn: Connection, export_id: int, error: str, now: datetime) -> None:
    conn.execute(update(saft_exports).where(_e.id == export_id).values(status=FAILED, error=error, finished_at=now))


def content_by_token(conn: Connection, token: str) -> tuple[Export, bytes] | None:
    row = conn.execute(select(*_COLUMNS, _e.content).where(_e.token == token, _e.status == DONE)).first()
    return (Export(*row[:-1]), bytes(row[-1])) if row else None


def period_activity(conn: Connection, account_id: int, first: date, last: date) -> tuple[int, datetime | None]:
    """How many issued documents the period has, and when the last of them changed."""
    d = documents.c
    row = conn.execute(
        select(func.count(), func.max(d.updated_at, type_=d.updated_at.type)).where(
            d.account_id == account_id, d.number.is_not(None), d.date >= first, d.date <= last
        )
    ).one()
    return int(row[0]), row[1]


def delete_account_exports(conn: Connection, account_id: int) -> None:
    conn.execute(delete(saft_exports).where(_e.account_id == account_id))


def account_exports(conn: Connection, account_id: int, limit: int) -> list[Export]:
    """The account's latest files, newest first."""
    query = select(*_COLUMNS).where(_e.account_id == account_id).order_by(_e.id.desc()).limit(limit)
    return [Export(*row) for row in conn.execute(query)]
