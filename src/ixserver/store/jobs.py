"""The job outbox (jobs/): enqueue in the caller's transaction; claim the next due job (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so that the workers of several instances never take the same one;
SQLite: the write transaction is exclusive already); finish, or put back for a retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ixserver.store.prepared import Prepared
from ixserver.store.tables import jobs, sent_emails

_j = jobs.c
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class Job:
    id: int
    account_id: int | None
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


_COLUMNS = (_j.id, _j.account_id, _j.kind, _j.payload, _j.status, _j.attempts, _j.run_after, _j.last_error,
            _j.created_at, _j.finished_at)  # fmt: skip


def _job(row: Any) -> Job:
    return Job(row[0], row[1], row[2], orjson.loads(row[3]), *row[4:])


def enqueue(conn: Connection, account_id: int | None, kind: str, payload: dict[str, Any], now: datetime) -> int:
    statement = insert(jobs).values(
        account_id=account_id, kind=kind, payload=orjson.dumps(payload).decode(), status=QUEUED, run_after=now, created_at=now
    )
    return int(conn.execute(statement.returning(_j.id)).scalar_one())


# Due: queued and its time has come, or running with its lease run out (its worker died).
_DUE = or_(_j.status == QUEUED, _j.status == RUNNING) & (_j.run_after <= bindparam("now"))
_ANY_DUE = Prepared(select(exists().where(_DUE)))


def any_due(conn: Connection, now: datetime) -> bool:
    """Whether a job waits (a read, to poll without a write transaction)."""
    return bool(_ANY_DUE.scalar(conn, {"now": now}))


def claim(conn: Connection, now: datetime, lease_until: datetime) -> Job | None:
    """The next due job, now running until `lease_until`, its attempt counted."""
    query = select(*_COLUMNS).where(_DUE).order_by(_j.run_after, _j.id).limit(1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = conn.execute(query, {"now": now}).first()
    if row is None:
        return None
    conn.execute(update(jobs).where(_j.id == row[0]).values(status=RUNNING, attempts=_j.attempts + 1, run_after=lease_until))
    job = _job(row)
    return Job(job.id, job.account_id, job.kind, job.payload, RUNNING, job.attempts + 1, lease_until, job.last_error,
               job.created_at, None)  # fmt: skip


def finish(conn: Connection, job_id: int, now: datetime) -> None:
    conn.execute(update(jobs).where(_j.id == job_id).values(status=DONE, finished_at=now, last_error=None))


def retry_or_fail(conn: Connection, job_id: int, error: str, retry_at: datetime | None, now: datetime) -> None:
    """Put a failed attempt back for `retry_at`; with None, the job has failed for good."""
    if retry_at is None:
        values: dict[str, Any] = {"status": FAILED, "finished_at": now}
    else:
        values = {"status": QUEUED, "run_after": retry_at}
    conn.execute(update(jobs).where(_j.id == job_id).values(last_error=error, **values))


def depth(conn: Connection) -> dict[str, int]:
    """Jobs waiting or running, by status (GET /metrics)."""
    rows = conn.execute(select(_j.status, func.count()).where(_j.status.in_((QUEUED, RUNNING))).group_by(_j.status))
    return {status: count for status, count in rows}


def account_jobs(conn: Connection, account_id: int, limit: int = 100) -> list[Job]:
    """The account's latest jobs, newest first."""
    rows = conn.execute(select(*_COLUMNS).where(_j.account_id == account_id).order_by(_j.id.desc()).limit(limit))
    return [_job(row) for row in rows]


def record_email(conn: Connection, account_id: int, job_id: int | None, message: str, now: datetime) -> int:
    statement = insert(sent_emails).values(account_id=account_id, job_id=job_id, message=message, created_at=now)
    return int(conn.execute(statement.returning(sent_emails.c.id)).scalar_one())


def account_emails(conn: Connection, account_id: int, limit: int = 100) -> list[tuple[int, str, datetime]]:
    """The account's latest e-mails of the sandbox's sink: (id, message, received), newest first."""
    c = sent_emails.c
    rows = conn.execute(select(c.id, c.message, c.created_at).where(c.account_id == account_id).order_by(c.id.desc()).limit(limit))
    return [(int(r[0]), r[1], r[2]) for r in rows]


def delete_account_jobs(conn: Connection, account_id: int) -> None:
    conn.execute(delete(jobs).where(_j.account_id == account_id))
    conn.execute(delete(sent_emails).where(sent_emails.c.account_id == account_id))
