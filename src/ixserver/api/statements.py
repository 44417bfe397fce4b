"""The public page of a client's statement, behind its `open_account_link` (no key)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ixserver.api.permalink import SECURITY_HEADERS, TITLES
from ixserver.domain import numbering
from ixserver.domain.clients import FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import NotFound
from ixserver.domain.payments import payable
from ixserver.services.statements import Statement, statement
from ixserver.web.context import context
from ixserver.web.routing import Router
from ixserver.web.wire import format_date

router = Router()


def _number(document: Document) -> str:
    kind = BY_KEY[document.doc_type]
    assert document.number is not None and document.serie is not None
    return f"{TITLES[document.doc_type]} {numbering.document_number(kind, document.serie, document.number)}"


def _pdf(document: Document) -> str:
    return f'<a href="/documents/{document.permalink_token}/original.pdf">PDF</a>'


def page(found: Statement) -> str:
    client = found.client
    documents = "".join(
        f"<tr><td>{escape(_number(d))}</td><td>{format_date(d.date)}</td><td>{format_date(d.due_date)}</td>"
        f"<td>{d.total:.2f} {escape(d.currency_code)}</td><td>{due:.2f}</td><td>{escape(d.status)}</td>"
        f"<td>{_pdf(d)}</td></tr>"
        for d, due in found.documents
    )
    receipts = "".join(
        f"<tr><td>{escape(_number(r))}</td><td>{format_date(r.date)}</td>"
        f"<td>{payable(r.total, r.retention_amount):.2f} {escape(r.currency_code)}</td><td>{escape(r.status)}</td>"
        f"<td>{_pdf(r)}</td></tr>"
        for r in found.receipts
    )
    balance = found.balance.balance
    head = f'<head><meta charset="utf-8"><title>Conta corrente — {escape(client.name)}</title></head>'
    columns = (
        "<th>Documento</th><th>Data</th><th>Vencimento</th><th>Total</th><th>Em dívida</th><th>Estado</th><th></th>"
    )
    saldo = (
        f"Saldo: {balance.balance.with_vat:.2f} EUR (sem IVA: {balance.balance.without_vat:.2f} EUR) · "
        f"Vencido: {balance.overdue.with_vat:.2f} EUR"
    )
    return f"""<!doctype html><html lang="pt">{head}
<body><h1>Conta corrente</h1><p>{escape(found.issuer)}</p>
<p>Cliente: {escape(client.name)} — NIF {escape(client.fiscal_id or FINAL_CONSUMER_NIF)}</p>
<h2>Documentos</h2><table><tr>{columns}</tr>{documents}</table>
<h2>Pagamentos</h2><table><tr><th>Recibo</th><th>Data</th><th>Valor</th><th>Estado</th><th></th></tr>{receipts}</table>
<h2>Saldo</h2><p>{saldo}</p>
</body></html>"""


@router.get("/statements/{token:str}")
async def show(request: Request) -> Response:
    token = request.path_params["token"]
    ctx = context(request)
    with ctx.db.read() as conn:
        found = statement(conn, token) if len(token) == 40 else None
    if found is None:
        raise NotFound()
    return HTMLResponse(page(found), headers=SECURITY_HEADERS)
