"""`GET /api/qr_codes/{id}.json` (api-v2 §4.9): the URL of the document's QR code image, a PNG
served without the key at the document's public address (its permalink)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.documents import permalink
from ixserver.services import qr_codes as service
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json
from ixserver.web.routing import Router

router = Router()


@router.get("/api/qr_codes/{document_id:id}.json")
async def qr_code(request: Request) -> Response:
    """200 `{"qr_code": {"url": "…/qr.png"}}`: the image is drawn when asked, so never 202."""
    ctx, account_id, document_id = context(request), account(request).id, request.path_params["document_id"]

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            document = service.qr_document(conn, account_id, document_id)
            service.payload(conn, document, ctx.settings.software_certificate)  # the account can have one
        return {"qr_code": {"url": f"{permalink(ctx.settings.base_url, document)}/qr.png"}}

    return await cached_json(request, build)
