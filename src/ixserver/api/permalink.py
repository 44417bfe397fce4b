"""The public page behind a document's `permalink` (no API key: it is shared with clients)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ixserver.api import pdf as pdf_api
from ixserver.domain import numbering, states
from ixserver.domain.clients import FINAL_CONSUMER, FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import NotFound
from ixserver.domain.families import INVOICES
from ixserver.domain.sequences import TRAINING_MENTION
from ixserver.domain.signing import printed_mention
from ixserver.render import pdf
from ixserver.render import qr as render_qr
from ixserver.services import qr_codes as qr_service
from ixserver.services.documents import public_document
from ixserver.web.context import context
from ixserver.web.routing import Router
from ixserver.web.wire import fixed, format_date

router = Router()
TITLES = pdf.TITLES["pt"]  # the document types' names, as the PDFs print them


def page(document: Document, issuer: str, certificate: int, training: bool = False) -> str:
    kind = BY_KEY[document.doc_type]
    title = TITLES[document.doc_type]
    assert document.number is not None and document.serie is not None  # drafts are not public
    heading = f"{title} {numbering.document_number(kind, document.serie, document.number)}"
    client = document.client
    rows = "".join(
        f"<tr><td>{escape(line.name)}</td><td>{escape(line.description)}</td><td>{fixed(line.quantity)}</td>"
        f"<td>{fixed(line.unit_price)}</td><td>{fixed(line.discount)}%</td><td>{fixed(line.tax_value)}%</td>"
        f"<td>{line.total:.2f}</td></tr>"
        for line in document.lines
    )
    mention = printed_mention(document.signature, certificate)
    qr = ""
    if document.number is not None and kind.saft_code is not None:
        qr = f'<p><img src="/documents/{document.permalink_token}/qr.png" alt="QR code" width="160" height="160"></p>'
    status = (
        ""
        if document.status in (states.DRAFT, *states.LIVE)
        else f"<p><strong>{escape(document.status.upper())}</strong></p>"
    )
    if BY_KEY[document.doc_type].family is not INVOICES:  # Despacho 8632/2014 §1.2, in Portuguese whatever the client's
        status += f"<p><strong>{escape(pdf.NOT_AN_INVOICE)}</strong></p>"
    if training:
        status = f"<p><strong>{escape(TRAINING_MENTION)}</strong></p>" + status
    nif = str(client.get("fiscal_id") or "").strip()
    buyer = FINAL_CONSUMER if nif in ("", FINAL_CONSUMER_NIF) else f"NIF {nif}"
    totals = (
        f"Total sem IVA: {document.before_taxes:.2f} · IVA: {document.taxes:.2f} · "
        f"Total: {document.total:.2f} {escape(document.currency_code)}"
    )
    return f"""<!doctype html><html lang="pt"><head><meta charset="utf-8"><title>{escape(heading)}</title></head>
<body><h1>{escape(heading)}</h1>{status}
<p>{escape(issuer)}</p>
<p>Cliente: {escape(str(client.get("name") or ""))} — {escape(buyer)}</p>
<p>Data: {format_date(document.date)} · Vencimento: {format_date(document.due_date)}</p>
<table><tr><th>Artigo</th><th>Descrição</th><th>Qtd.</th><th>Preço</th><th>Desc.</th><th>IVA</th><th>Total</th></tr>{rows}</table>
<p>{totals}</p>
<p>{"ATCUD:" + escape(document.atcud) if document.atcud else ""}</p><p>{escape(mention)}</p>
{qr}<p><a href="/documents/{document.permalink_token}/original.pdf">PDF</a></p></body></html>"""


@router.get("/documents/{token:str}")
async def show(request: Request) -> Response:
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        found = public_document(conn, token) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    html = page(found.document, found.issuer, ctx.settings.software_certificate, found.training)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


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


# A public page with document data: it loads nothing, is never framed nor sniffed,
# and the unguessable address it was reached by is not sent on to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
