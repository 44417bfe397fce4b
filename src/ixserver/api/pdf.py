"""`GET /api/pdf/{id}.json[?second_copy=true]` (api-v2 §4.8): the URL of the document's PDF,
served without the key at the document's public address. A PDF is drawn and signed when first
downloaded (a few milliseconds, in a child process bounded in time and memory:
render/children.py), from the document as it then is, and kept: the same document always gives the
same bytes, a changed one (a draft edited, a document canceled) is drawn and signed again
(services/pdfs.py), and the answer is never a 202 (but for a sandbox's `pdf_pending` fault)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.documents import permalink
from ixserver.domain.documents import Document
from ixserver.services import pdfs as service
from ixserver.web.context import AppContext, account, context
from ixserver.web.reads import cached_json
from ixserver.web.routing import Router
from ixserver.web.wire import as_flag

router = Router()
FILES = {False: "original.pdf", True: "duplicado.pdf"}


@router.get("/api/pdf/{document_id:id}.json")
async def pdf(request: Request) -> Response:
    ctx, account_id, document_id = context(request), account(request).id, request.path_params["document_id"]
    second_copy = bool(as_flag(request.query_params.get("second_copy"), "second_copy"))

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            document = service.pdf_document(conn, account_id, document_id)
        url = f"{permalink(ctx.settings.base_url, document)}/{FILES[second_copy]}"
        return {"output": {"pdfUrl": url, "pdf_url": url}}

    return await cached_json(request, build)


async def download(request: Request, second_copy: bool) -> Response | None:
    """The PDF behind a permalink token (api/permalink.py serves the public addresses)."""
    token = request.path_params["token"]
    if len(token) != 40:
        return None
    content = await drawn(context(request), lambda conn: service.public_document(conn, token), second_copy)
    if content is None:
        return None
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{FILES[second_copy]}"'},
    )


async def drawn(ctx: AppContext, find: Callable[[Connection], Document | None], second_copy: bool) -> bytes | None:
    """The PDF of the document `find` reads (None: no such document): the one kept, or drawn now
    in a bounded child process and kept if signed (services/pdfs.py); those waiting for a child
    wait here, not in the threads every request shares."""

    def draw() -> service.Drawn | None:
        return service.draw(ctx.db, ctx.renderers, find, ctx.settings.software_certificate, second_copy)

    try:
        await asyncio.wait_for(ctx.drawing.acquire(), ctx.renderers.timeout)
    except TimeoutError:
        raise ctx.renderers.busy() from None
    try:
        made = await run_in_threadpool(draw)
    finally:
        ctx.drawing.release()
    if made is None:
        return None
    return made.served(await ctx.writes.run(service.keep_pdf, *made.keeping()) if made.to_keep else None)
