"""The public page behind a document's `permalink` (no API key: it is shared with clients), its
PDFs, QR code and logo, and the pages' stylesheet (render/pages.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ixserver.api import pdf as pdf_api
from ixserver.domain.errors import NotFound
from ixserver.render import pages
from ixserver.render import qr as render_qr
from ixserver.services import identity as identity_service
from ixserver.services import qr_codes as qr_service
from ixserver.services.pdfs import public_view
from ixserver.store.logos import Logo
from ixserver.web.context import context
from ixserver.web.routing import Router

router = Router()

# A public page with document data: it loads nothing but its own stylesheet and images, is never
# framed nor sniffed, and the unguessable address it was reached by is not sent on to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get(pages.STYLESHEET)  # before /documents/{token}, which would match them
async def stylesheet(_request: Request) -> Response:
    return _asset("page.css", "text/css; charset=utf-8")


@router.get(pages.ICON)
async def icon(_request: Request) -> Response:
    return _asset("icon.svg", "image/svg+xml")


def _asset(name: str, media_type: str) -> Response:
    return Response(
        pages.asset(name), media_type=media_type, headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    )


@router.get("/documents/{token:str}")
async def show(request: Request) -> Response:
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        view = public_view(conn, token, ctx.settings.software_certificate) if len(token) == 40 else None
    if view is None:
        raise NotFound()
    return HTMLResponse(pages.document_page(view, token), headers=SECURITY_HEADERS)


@router.get("/documents/{token:str}/qr.png")
async def qr_image(request: Request) -> Response:
    """The QR code of the issued document behind the permalink (api-v2 §4.9): a PNG."""
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        found = qr_service.public_payload(conn, token, ctx.settings.software_certificate) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    return Response(render_qr.png(found), media_type="image/png", headers=SECURITY_HEADERS)


@router.get("/documents/{token:str}/logo")
async def logo(request: Request) -> Response:
    """The logo the issued document behind the permalink was issued with."""
    return public_logo(request, identity_service.document_logo)


def public_logo(request: Request, find: Callable[[Connection, str], Logo | None]) -> Response:
    """The logo `find` finds for the token of the address (a document's, a statement's)."""
    token = request.path_params["token"]
    with context(request).db.read() as conn:
        found = find(conn, token) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    return Response(found.content, media_type=found.media_type, headers=SECURITY_HEADERS)


@router.get("/documents/{token:str}/original.pdf")
async def original_pdf(request: Request) -> Response:
    return _found(await pdf_api.download(request, second_copy=False))


@router.get("/documents/{token:str}/duplicado.pdf")
async def second_copy_pdf(request: Request) -> Response:
    return _found(await pdf_api.download(request, second_copy=True))


def _found(response: Response | None) -> Response:
    if response is None:
        raise NotFound()
    response.headers.update(SECURITY_HEADERS)
    return response
