"""What an operator does with the job outbox (store/jobs.py): retry a job that has failed for
good (an e-mail whose SMTP server was down), once the cause is fixed."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.errors import JobNotFailed, JobNotFound
from ixserver.store import jobs as store
from ixserver.writes.use_cases import of_account


@of_account
def retry_job(conn: Connection, account_id: int, job_id: int) -> store.Job:
    """The account's failed job, queued again for one more attempt, due now."""
    job = store.get(conn, job_id)
    if job is None or job.account_id != account_id:
        raise JobNotFound()
    if not store.retry(conn, job_id, clock.real_now()):  # the machinery's time, never an account's
        raise JobNotFailed()
    found = store.get(conn, job_id)
    assert found is not None
    return found
