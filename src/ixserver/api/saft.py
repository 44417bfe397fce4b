"""`GET /api/export_saft.json?month=&year=` (api-v2 §14): 202 while a job makes the month's SAF-T
file, then 200 with the address of the file (public, unguessable), `{"url": …, "Url": …}`."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ixserver.domain.errors import NotFound
from ixserver.services import saft as service
from ixserver.web.context import account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_int

router = Router()
STARTED = {"message": "The SAF-T file generation was started. Please keep requesting until you get back the url."}


@router.route("/api/export_saft.json", "GET", "POST")
async def export_saft(request: Request) -> Response:
    ctx, account_id = context(request), account(request).id
    query = request.query_params
    month = as_int(query.get("month"), "month")
    year = as_int(query.get("year") or query.get("years"), "year")  # [OLD] docs spell `years`
    service.month_period(year, month)
    assert year is not None and month is not None
    with ctx.db.read() as conn:
        state, token = service.export_state(conn, account_id, year, month)
    if state == "none":
        state, token = await ctx.writes.run(service.start_export, account_id, year, month)
        ctx.job_enqueued()
    if state == "ready":
        url = f"{ctx.settings.base_url}/saft/{token}.xml"
        return JSONResponse({"url": url, "Url": url})
    return JSONResponse(STARTED, status_code=202)


@router.get("/saft/{token:str}.xml")
async def download(request: Request) -> Response:
    """The file, unzipped as it is sent (no key: the address is the secret)."""
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        found = service.exported_file(conn, ctx.resources.seal_key, token) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    name, content = found

    def chunks() -> Iterator[bytes]:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as unzipped:
            while chunk := unzipped.read(1 << 16):
                yield chunk

    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer"}  # fmt: skip
    return StreamingResponse(chunks(), media_type="application/xml", headers=headers)
