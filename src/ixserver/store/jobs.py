"""The job outbox (jobs/): enqueue in the caller's transaction; claim the next due job (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so that the workers of several instances never take the same one;
SQLite: the write transaction is exclusive already); finish, or put back for a retry.

A claim records its token and its claimer (`Claimer`: the host, the process's pid and start) and
a heartbeat the claimer moves on (`heartbeat`). A running job is due again when its claimer is
gone: its heartbeat is older than `stale_before` (any host), or the claiming worker found it dead
(same host: the caller passes those claims' tokens). A job marked `sending` (`mark_sending`: its
effect is under way, an e-mail being handed to SMTP) whose claimer is gone is not run again: it
fails, in doubt (at most once, jobs/email.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ixserver.store.prepared import Prepared
from ixserver.store.tables import accounts, jobs, sent_emails

_j = jobs.c
QUEUED, RUNNING, SENDING, DONE, FAILED = "queued", "running", "sending", "done", "failed"
CLAIMED = (RUNNING, SENDING)


@dataclass(frozen=True)
class Claimer:
    """Who claims: a host (its name, boot and PID namespace: where the pid means this process),
    the process's pid and its start (clock ticks after boot: a pid reused is another start), None
    where it cannot be told."""

    host: str
    pid: int
    started: int | None


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
    token: str | None = None  # the claim's, while it is claimed
    claimer: Claimer | None = None
    heartbeat_at: datetime | None = None


_COLUMNS = (_j.id, _j.account_id, _j.kind, _j.payload, _j.status, _j.attempts, _j.run_after, _j.last_error,
            _j.created_at, _j.finished_at, _j.claim_token, _j.claimer_host, _j.claimer_pid, _j.claimer_started,
            _j.heartbeat_at)  # fmt: skip


def _job(row: Any) -> Job:
    claimer = Claimer(row[11], row[12], row[13]) if row[11] is not None else None
    return Job(row[0], row[1], row[2], orjson.loads(row[3]), row[4], row[5], row[6], row[7], row[8], row[9], row[10],
               claimer, row[14])  # fmt: skip


def enqueue(conn: Connection, account_id: int | None, kind: str, payload: dict[str, Any], now: datetime) -> int:
    statement = insert(jobs).values(
        account_id=account_id,
        kind=kind,
        payload=orjson.dumps(payload).decode(),
        status=QUEUED,
        run_after=now,
        created_at=now,
    )
    return int(conn.execute(statement.returning(_j.id)).scalar_one())


_IS_CLAIMED = or_(_j.status == RUNNING, _j.status == SENDING)  # (no list: prepared statements do not expand one)
# Due: queued and its time has come; or claimed, and its claimer gone: its heartbeat stale (or,
# claimed before heartbeats, its lease run out), or found dead on its host (`orphans`).
_GONE = or_(
    _j.heartbeat_at <= bindparam("stale_before"),
    and_(_j.heartbeat_at.is_(None), _j.run_after <= bindparam("now")),
)
_DUE = or_(and_(_j.status == QUEUED, _j.run_after <= bindparam("now")), and_(_IS_CLAIMED, _GONE))
_ANY_DUE = Prepared(select(exists().where(_DUE)))
_CLAIMS_ON = Prepared(
    select(_j.claim_token, _j.claimer_pid, _j.claimer_started).where(_IS_CLAIMED, _j.claimer_host == bindparam("host"))
)


def any_due(conn: Connection, now: datetime, stale_before: datetime) -> bool:
    """Whether a job waits (a read, to poll without a write transaction)."""
    return bool(_ANY_DUE.scalar(conn, {"now": now, "stale_before": stale_before}))


def claims_on(conn: Connection, host: str) -> list[tuple[str, int, int | None]]:
    """The claims of running jobs made on `host`: (token, pid, start), for the claimer's host to
    tell whether each claimer is alive (a read)."""
    return [(row[0], row[1], row[2]) for row in _CLAIMS_ON.rows(conn, {"host": host}) if row[0] is not None]


def claim(
    conn: Connection, now: datetime, stale_before: datetime, claimer: Claimer, token: str,
    orphans: Sequence[str] = (), in_doubt: str = "",
) -> Job | None:  # fmt: skip
    """The next due job, now claimed by `claimer` with `token` and its attempt counted; a job of
    a gone claimer that was `sending` is failed with `in_doubt` instead, and the next one looked at."""
    due = or_(_DUE, and_(_IS_CLAIMED, _j.claim_token.in_(list(orphans)))) if orphans else _DUE
    query = select(*_COLUMNS).where(due).order_by(_j.run_after, _j.id).limit(1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    params = {"now": now, "stale_before": stale_before}
    while (row := conn.execute(query, params).first()) is not None:
        found = _job(row)
        if found.status != SENDING:
            break
        conn.execute(update(jobs).where(_j.id == found.id).values(status=FAILED, last_error=in_doubt, finished_at=now))
    else:
        return None
    conn.execute(
        update(jobs).where(_j.id == found.id).values(
            status=RUNNING, attempts=_j.attempts + 1, claim_token=token, claimer_host=claimer.host,
            claimer_pid=claimer.pid, claimer_started=claimer.started, heartbeat_at=now,
        )
    )  # fmt: skip
    return Job(found.id, found.account_id, found.kind, found.payload, RUNNING, found.attempts + 1, found.run_after,
               found.last_error, found.created_at, None, token, claimer, now)  # fmt: skip


def _claimed(job_id: int, token: str) -> Any:
    return and_(_j.id == job_id, _j.claim_token == token)


def heartbeat(conn: Connection, claims: Sequence[tuple[int, str]], now: datetime) -> None:
    """The claims still held, moved on: their claimer is alive."""
    for job_id, token in claims:
        conn.execute(update(jobs).where(_claimed(job_id, token), _IS_CLAIMED).values(heartbeat_at=now))


def mark_sending(conn: Connection, job_id: int, token: str, now: datetime) -> bool:
    """The job's effect is under way (an e-mail is being handed over): if its claimer is gone now,
    it is not run again. False when the claim is not held any more (another worker has the job)."""
    marked = conn.execute(
        update(jobs).where(_claimed(job_id, token), _j.status == RUNNING).values(status=SENDING, heartbeat_at=now)
    )
    return marked.rowcount == 1


def finish(conn: Connection, job_id: int, token: str, now: datetime) -> bool:
    """Done, if the claim is still held (else nothing: another worker has the job). Whether it was."""
    done = conn.execute(
        update(jobs)
        .where(_claimed(job_id, token), _j.status != DONE)
        .values(status=DONE, finished_at=now, last_error=None)
    )
    return done.rowcount == 1


def retry_or_fail(
    conn: Connection, job_id: int, token: str, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """Put a failed attempt back for `retry_at`; with None, the job has failed for good. Nothing
    if the claim is not held any more."""
    if retry_at is None:
        values: dict[str, Any] = {"status": FAILED, "finished_at": now}
    else:
        values = {"status": QUEUED, "run_after": retry_at}
    conn.execute(update(jobs).where(_claimed(job_id, token), _IS_CLAIMED).values(last_error=error, **values))


def depth(conn: Connection) -> dict[str, int]:
    """Jobs waiting or running, by status (GET /metrics)."""
    rows = conn.execute(select(_j.status, func.count()).where(_j.status.in_((QUEUED, *CLAIMED))).group_by(_j.status))
    return {status: count for status, count in rows}


def get(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(*_COLUMNS).where(_j.id == job_id)).first()
    return _job(row) if row is not None else None


def account_jobs(conn: Connection, account_id: int, limit: int = 100) -> list[Job]:
    """The account's latest jobs, newest first."""
    rows = conn.execute(select(*_COLUMNS).where(_j.account_id == account_id).order_by(_j.id.desc()).limit(limit))
    return [_job(row) for row in rows]


def listed(
    conn: Connection, *, status: str | None = None, account_id: int | None = None, limit: int = 50
) -> list[tuple[Job, str | None]]:
    """Jobs of every account (or of one, or in one status), newest first, each with its account's
    name (None: a job of no account)."""
    query = select(*_COLUMNS, accounts.c.name).select_from(jobs.outerjoin(accounts, accounts.c.id == _j.account_id))
    if status is not None:
        query = query.where(_j.status == status)
    if account_id is not None:
        query = query.where(_j.account_id == account_id)
    rows = conn.execute(query.order_by(_j.id.desc()).limit(limit))
    return [(_job(row), row[len(_COLUMNS)]) for row in rows]


def requeue(conn: Connection, job_id: int, now: datetime) -> bool:
    """A job that has failed for good queued again, due now, with all its attempts ahead (its
    last error kept until the next attempt); False when it is not failed."""
    again = update(jobs).where(_j.id == job_id, _j.status == FAILED)
    values = {"status": QUEUED, "attempts": 0, "run_after": now, "finished_at": None, "claim_token": None,
              "claimer_host": None, "claimer_pid": None, "claimer_started": None, "heartbeat_at": None}  # fmt: skip
    return conn.execute(again.values(**values)).rowcount == 1


def record_email(conn: Connection, account_id: int, job_id: int | None, message: str, now: datetime) -> int:
    statement = insert(sent_emails).values(account_id=account_id, job_id=job_id, message=message, created_at=now)
    return int(conn.execute(statement.returning(sent_emails.c.id)).scalar_one())


def account_emails(conn: Connection, account_id: int, limit: int = 100) -> list[tuple[int, str, datetime]]:
    """The account's latest e-mails of the sandbox's sink: (id, message, received), newest first."""
    c = sent_emails.c
    rows = conn.execute(
        select(c.id, c.message, c.created_at).where(c.account_id == account_id).order_by(c.id.desc()).limit(limit)
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]


def delete_account_jobs(conn: Connection, account_id: int) -> None:
    conn.execute(delete(jobs).where(_j.account_id == account_id))
    conn.execute(delete(sent_emails).where(sent_emails.c.account_id == account_id))


def account_email(conn: Connection, account_id: int, email_id: int) -> tuple[int, str, datetime] | None:
    """One of the account's e-mails of the sandbox's sink: (id, message, received)."""
    c = sent_emails.c
    row = conn.execute(
        select(c.id, c.message, c.created_at).where(c.account_id == account_id, c.id == email_id)
    ).first()
    return (int(row[0]), row[1], row[2]) if row else None
