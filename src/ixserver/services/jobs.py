"""The job outbox as its operator sees it: every account's jobs with their state, attempts and
last error (`ixserver jobs list`), and a job that has failed for good run again (`ixserver jobs
retry`, the console's Retry), in production as in sandbox. The workers (jobs/) pick a retried
job up as any other."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.errors import AccountNotFound, JobNotFailed, JobNotFound
from ixserver.store import jobs as store
from ixserver.store.accounts import account_by_name
from ixserver.writes.use_cases import of_account

STATES = (store.QUEUED, store.RUNNING, store.SENDING, store.DONE, store.FAILED)


def list_jobs(
    conn: Connection, *, state: str | None = None, account: str | None = None, limit: int = 50
) -> list[tuple[store.Job, str | None]]:
    """The latest jobs, newest first, with their account's name; of one state or account if given."""
    account_id = None
    if account is not None:
        found = account_by_name(conn, account.strip().lower())
        if found is None:
            raise AccountNotFound()
        account_id = found.id
    return store.listed(conn, status=state, account_id=account_id, limit=limit)


def job_of(conn: Connection, job_id: int) -> store.Job:
    """A job of any account (the operator's), or JobNotFound."""
    job = store.get(conn, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


@of_account
def retry_job(conn: Connection, account_id: int, job_id: int) -> store.Job:
    """The account's job that has failed for good, queued again, due now (the machinery's time,
    never an account's clock), with all its attempts ahead. An e-mail that failed in doubt (its
    claimer died while handing it to SMTP) may then be sent twice: its error says so."""
    job = store.get(conn, job_id)
    if job is None or job.account_id != account_id:
        raise JobNotFound(job_id)
    if not store.requeue(conn, job_id, clock.real_now()):
        raise JobNotFailed(job_id, job.status)
    again = store.get(conn, job_id)
    assert again is not None
    return again
