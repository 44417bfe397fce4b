"""The console's documents: every family's in one list, filtered by type, state, dates and
client (the API's list filters, api-v2 §4.1), and a document's page: its lines and totals, ATCUD
and QR code, its PDF, the documents related to it (a note that corrects it, a receipt that pays
it) and the seal's events of it."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from ixserver.api import pdf as pdf_api
from ixserver.api.console.pages import PER_PAGE, page, page_number, pages, render
from ixserver.api.console.session import Session
from ixserver.domain import numbering, states
from ixserver.domain.doctypes import BY_KEY, DOC_TYPES
from ixserver.domain.documents import Document, DocumentFilters
from ixserver.domain.errors import DomainError, NotFound, QrCodeNotAvailable
from ixserver.render import qr as render_qr
from ixserver.services import clients as client_service
from ixserver.services import documents as service
from ixserver.services import pdfs as pdf_service
from ixserver.services import qr_codes as qr_service
from ixserver.services import seal as seal_service
from ixserver.web.context import context

STATES = (states.DRAFT, states.FINAL, states.SETTLED, states.CANCELED, states.ACCEPTED, states.REFUSED,
          states.DELETED)  # fmt: skip


def number_of(document: Document) -> str:
    """ "FT 2026/3", or "draft" for a document without a number."""
    if document.number is None or document.serie is None:
        return "draft"
    return numbering.document_number(BY_KEY[document.doc_type], document.serie, document.number)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@page("/documents")
async def documents(request: Request, session: Session) -> Response:
    ctx, query = context(request), request.query_params
    doc_type = query.get("type", "")
    status = query.get("state", "")
    wanted = {"type": doc_type if doc_type in BY_KEY else "", "state": status if status in STATES else "",
              "from": query.get("from", ""), "to": query.get("to", ""),
              "client": query.get("client", "").strip()}  # fmt: skip
    problem = None
    with ctx.db.snapshot() as conn:
        client_id = None
        if wanted["client"]:
            try:
                text = wanted["client"]
                client_id = (
                    int(text) if text.isdigit() else client_service.find_by_name(conn, session.account.id, text).id
                )
            except DomainError:
                problem = f"No client is named {wanted['client']!r}."
        filters = DocumentFilters(
            types=(wanted["type"],) if wanted["type"] else tuple(t.key for t in DOC_TYPES),
            statuses=(wanted["state"],) if wanted["state"] else None,
            archived=None,
            date_from=_day(wanted["from"]),
            date_to=_day(wanted["to"]),
            client_id=client_id,
        )
        number = page_number(request)
        found, total = (
            ([], 0) if problem else service.list_documents(conn, session.account.id, filters, number, PER_PAGE)
        )
    return render(request, session, "documents.html", documents=found, pager=pages(request, number, total),
                  wanted=wanted, types=DOC_TYPES, states=STATES, problem=problem, number_of=number_of,
                  kinds=BY_KEY)  # fmt: skip


@page("/documents/{document_id:id}")
async def document(request: Request, session: Session) -> Response:
    ctx, account_id = context(request), session.account.id
    with ctx.db.snapshot() as conn:
        found = service.get_document(conn, account_id, request.path_params["document_id"])
        related = service.related_documents(conn, account_id, found.id)
        events = seal_service.document_events(conn, account_id, found.id)
        has_qr = _qr_payload(conn, found, ctx.settings.software_certificate) is not None
    return render(request, session, "document.html", document=found, related=related, events=events, has_qr=has_qr,
                  number_of=number_of, kind=BY_KEY[found.doc_type], kinds=BY_KEY,
                  drawn=found.status != states.DELETED)  # fmt: skip


def _qr_payload(conn: Connection, document: Document, certificate: int) -> str | None:
    if document.number is None or BY_KEY[document.doc_type].saft_code is None:
        return None
    try:
        return qr_service.payload(conn, document, certificate)
    except QrCodeNotAvailable:
        return None


@page("/documents/{document_id:id}/qr.png")
async def qr_image(request: Request, session: Session) -> Response:
    ctx = context(request)
    with ctx.db.read() as conn:
        document = service.get_document(conn, session.account.id, request.path_params["document_id"])
        payload = _qr_payload(conn, document, ctx.settings.software_certificate)
    if payload is None:
        raise NotFound()
    return Response(render_qr.png(payload), media_type="image/png")


@page("/documents/{document_id:id}/pdf")
async def pdf(request: Request, session: Session) -> Response:
    """The PDF, drawn as the API's address draws it, for the session's account (no key in a URL)."""
    ctx, account_id, document_id = context(request), session.account.id, request.path_params["document_id"]
    content = await pdf_api.drawn(ctx, lambda conn: pdf_service.pdf_document(conn, account_id, document_id), False)
    assert content is not None
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="document-{document_id}.pdf"'})  # fmt: skip
