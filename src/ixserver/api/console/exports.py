"""The console's SAF-T files: the account's monthly files (made by GET /api/export_saft.json),
each downloadable at the address the API hands out once it is made and sealed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.console.pages import page, render
from ixserver.api.console.session import Session
from ixserver.services import saft as service
from ixserver.store.saft_exports import DONE
from ixserver.web.context import context


@page("/exports")
async def exports(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        found = service.exports_of(conn, session.account.id)
    return render(request, session, "exports.html", exports=found, done=DONE)
