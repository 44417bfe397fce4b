"""The /_ixserver control API: health always (no key); the operator's entry of AT's validation
codes always, behind the account's key; the rest only in sandbox mode (IXSERVER_SANDBOX=1),
behind an API key like every API call, and 404 otherwise."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.documents import render as render_document
from ixserver.api.sequences import render as render_sequence
from ixserver.domain import limits
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.errors import NotFound
from ixserver.services import accounts as account_service
from ixserver.services import documents as document_service
from ixserver.services import emails as email_service
from ixserver.services import sequences as sequence_service
from ixserver.store.jobs import Job
from ixserver.web.context import AppContext, account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_text, read_body, root_object

router = Router(prefix="/_ixserver")


@router.get("/live")
async def live(_request: Request) -> JSONResponse:
    """Liveness: 200 whenever this process answers at all (its event loop runs). An orchestrator
    restarts a process that stops answering this; it holds traffic back from one that answers
    this but not /health (readiness)."""
    return JSONResponse({"status": "alive"})


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Readiness: 200 `{"status": "ok"}` when reads and writes are served; 503 while starting
    (`{"status": "starting"}`), or while they cannot be: `{"status": "unavailable", "reason":
    "writes: disk full"}` (the writer process being started again, the database's fault the
    writer met and probes until it ends, the database not answering a read)."""
    ctx = context(request)
    reason = await ctx.not_ready()
    if reason is None:
        return JSONResponse({"status": "ok"})
    if reason == "starting":
        return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "1"})
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503, headers={"Retry-After": "1"})


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Wipe one account's data (the account of `api_key`) back to a new account's state."""
    ctx = context(request)
    if not ctx.settings.sandbox:
        raise NotFound()
    ref = account(request)  # authenticated, host checked, rate limited, as every API call
    await ctx.writes.run_with_resources(account_service.reset_account, ref.id)  # its clock too
    if ctx.sandbox is not None:  # its faults and recorded requests
        if ctx.recorder is not None:
            await run_in_threadpool(ctx.recorder.flush)
        await run_in_threadpool(ctx.sandbox.forget, ref.id)
    return JSONResponse({"reset": ref.name})


@router.get("/stats")
async def stats(request: Request) -> Response:
    """What this server process has done: write batches and use cases, read-cache hits. Needs a
    key of any account: it tells how busy the server is."""
    ctx = context(request)
    if not ctx.settings.sandbox:
        raise NotFound()
    return JSONResponse(
        {
            "writer": await ctx.writes.stats(),
            "read_cache": {
                "enabled": ctx.cache.enabled,
                "hits": ctx.cache.hits,
                "misses": ctx.cache.misses,
                # PostgreSQL: statements that read the versions (several requests share one)
                "version_reads": ctx.cache.versions.rounds if ctx.cache.versions is not None else None,
            },
        }
    )


@router.get("/jobs")
async def jobs(request: Request) -> Response:
    """Sandbox: the account's latest jobs (the outbox), with their attempts and last error."""
    ctx = sandbox_context(request)
    with ctx.db.read() as conn:
        found = email_service.jobs_of(conn, account(request).id)
    return JSONResponse({"jobs": [describe(job) for job in found]})


@router.get("/emails")
async def emails(request: Request) -> Response:
    """Sandbox without an SMTP server: the e-mails the account's documents were sent by."""
    ctx = sandbox_context(request)
    with ctx.db.read() as conn:
        found = email_service.sent(conn, account(request).id)
    return JSONResponse({"emails": [_email(n, text, when.isoformat()) for n, text, when in found]})


def _email(email_id: int, text: str, when: str) -> dict[str, object]:
    parsed = email_service.parsed(text)
    html = parsed.get_body(preferencelist=("html",))
    return {
        "id": email_id, "received_at": when, "from": parsed["From"], "to": parsed["To"], "cc": parsed["Cc"],
        "bcc": parsed["Bcc"], "subject": parsed["Subject"], "html": html.get_content() if html is not None else None,
        "attachments": [
            {"filename": part.get_filename(), "content_type": part.get_content_type(),
             "size": len(part.get_payload(decode=True) or b"")}
            for part in parsed.iter_attachments()
        ],
    }  # fmt: skip


def sandbox_context(request: Request) -> AppContext:
    """The app's context, for a route that is there only in sandbox mode (else its 404)."""
    ctx = context(request)
    if not ctx.settings.sandbox:
        raise NotFound()
    return ctx


@router.put("/series/{serie:str}/validation_codes.json")
async def enter_validation_codes(request: Request) -> Response:
    """What `ixserver series register` does, for the account of the key: store the validation
    codes AT's portal gave for a series, `{"validation_codes": {"FT": "AAAA1111", …}}`."""
    ctx = context(request)
    data = root_object(await read_body(request), "validation_codes")
    codes = {str(k).strip().upper(): as_text(v, str(k), limits.SHORT_TEXT) or "" for k, v in (data or {}).items()}
    sequence = await ctx.writes.run_with_resources(
        sequence_service.enter_validation_codes, account(request).id, request.path_params["serie"], codes
    )
    return JSONResponse({"sequence": render_sequence(sequence)})


@router.put("/guides/{document_id:id}/at_doc_code.json")
async def enter_transport_code(request: Request) -> Response:
    """What `ixserver guides code` does, for the account of the key: the code AT's portal gave
    an issued guide's transport, `{"at_doc_code_id": "…"}`; answers the guide."""
    ctx = context(request)
    body = await read_body(request)
    code = as_text(body.get("at_doc_code_id"), "at_doc_code_id", limits.SHORT_TEXT) or ""
    document = await ctx.writes.run_with_resources(
        document_service.enter_transport_code, account(request).id, request.path_params["document_id"], code
    )
    return JSONResponse({BY_KEY[document.doc_type].key: render_document(document, ctx.settings.base_url)})


def describe(job: Job) -> dict[str, Any]:
    """A job as /_ixserver/jobs shows it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "run_after": job.run_after.isoformat(),
        "last_error": job.last_error,
        "payload": job.payload,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "claimed_by": {"host": job.claimer.host, "pid": job.claimer.pid} if job.claimer else None,
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
    }
