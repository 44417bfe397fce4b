"""The console's jobs: the account's job outbox (e-mails, SAF-T files) with each job's state,
attempts and last error, and a retry of a job that has failed for good — the one write the
console makes in production."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ixserver.api.console.pages import page, render
from ixserver.api.console.session import PATH, Session
from ixserver.services import emails as email_service
from ixserver.services import jobs as service
from ixserver.store.jobs import FAILED
from ixserver.web.context import context


@page("/jobs")
async def jobs(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        found = email_service.jobs_of(conn, session.account.id)
    return render(request, session, "jobs.html", jobs=found, failed=FAILED)


@page("/jobs/{job_id:id}/retry", "POST", in_production=True)
async def retry(request: Request, session: Session) -> Response:
    ctx = context(request)
    await ctx.writes.run(service.retry_job, session.account.id, request.path_params["job_id"])
    ctx.job_enqueued()
    return RedirectResponse(f"{PATH}/jobs", status_code=303)
