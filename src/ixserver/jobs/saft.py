"""Making a month's SAF-T file for the API (api-v2 §14): the job `GET /api/export_saft.json`
enqueues. The file is written gzipped into memory from a read, then kept in one short write."""

from __future__ import annotations

import gzip
import io

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.jobs.worker import ClaimLost, Handler, JobContext
from ixserver.resources import Resources
from ixserver.services import saft
from ixserver.store import accounts as account_store
from ixserver.store import jobs as store
from ixserver.store import saft_exports as export_store
from ixserver.writes.use_cases import of_account


def make(context: JobContext, job: store.Job) -> None:
    export_id = int(job.payload["export_id"])
    try:
        buffer = io.BytesIO()
        with context.db.read() as conn:
            export = export_store.get(conn, export_id)
            if export is None:
                return  # the account is gone
            account = account_store.account_by_id(conn, export.account_id)
            assert account is not None
            first, last = saft.month_period(export.year, export.month)
            with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
                settings = context.settings
                count = saft.export(conn, account.name, first, last, out, certificate=settings.software_certificate,
                                    producer_tax_id=settings.producer_tax_id)  # fmt: skip
    except Exception as exc:
        if job.attempts >= context.settings.job_attempts:
            assert job.account_id is not None  # a SAF-T job is an account's (services/saft.start_export)
            context.writes.run_sync(saft.fail_export, job.account_id, export_id, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    kept = context.writes.run_sync_with_resources(
        _kept, export.account_id, export_id, buffer.getvalue(), count, job.id, job.token
    )
    if not kept:
        raise ClaimLost(f"job {job.id} was taken by another worker")


@of_account
def _kept(conn: Connection, resources: Resources, account_id: int, export_id: int, content: bytes, count: int,
          job_id: int, token: str) -> bool:  # fmt: skip
    """The file kept and sealed, and the job finished, in one transaction: only by the worker
    whose claim holds (one taken for gone may have made it too)."""
    if not store.finish(conn, job_id, token, clock.real_now()):
        return False
    saft.finish_export(conn, resources, account_id, export_id, content, count)
    return True


HANDLERS: dict[str, Handler] = {saft.SAFT_JOB: make}
