"""The public page of a client's statement, behind its `open_account_link` (no key), and the
logo it shows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ixserver.api.permalink import SECURITY_HEADERS, public_logo
from ixserver.domain.errors import NotFound
from ixserver.render import pages
from ixserver.services import identity as identity_service
from ixserver.services.statements import statement
from ixserver.web.context import context
from ixserver.web.routing import Router

router = Router()


@router.get("/statements/{token:str}")
async def show(request: Request) -> Response:
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        found = statement(conn, token) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    client = found.client
    html = pages.statement_page(
        found.issuer, client.name, client.fiscal_id, client.language, found.documents, found.receipts,
        found.balance.balance, token,
    )  # fmt: skip
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/statements/{token:str}/logo")
async def logo(request: Request) -> Response:
    """The logo of the statement's issuer, as the account is now."""
    return public_logo(request, identity_service.statement_logo)
