"""The invoice family (api-v2 §4): invoices, invoice receipts, simplified invoices, credit and
debit notes, VAT MOSS invoices and credit notes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.documents import render
from ixserver.api.families import STATUS_FILTERS, list_filters, register
from ixserver.domain.doctypes import BY_TYPE_NAME, INVOICE_TYPES, RECEIPT_TYPES
from ixserver.domain.families import INVOICES
from ixserver.services import clients as client_service
from ixserver.services import documents as service
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json, pagination, pagination_block
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, object_at, read_body

router = Router()
CLIENT_DOCUMENTS = INVOICE_TYPES + RECEIPT_TYPES  # what a client's list holds (api-v2 §10.6)

# `type[]=Receipt` (or VatMossReceipt) lists receipts too; without it, the family only.
register(router, INVOICES, selectable=RECEIPT_TYPES)


@router.get("/document/{document_id:id}/related_documents.json")
async def related_documents(request: Request) -> Response:
    ctx, account_id, document_id = context(request), account(request).id, request.path_params["document_id"]

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            documents = service.related_documents(conn, account_id, document_id)
        return {"documents": [render(d, ctx.settings.base_url) for d in documents]}

    return await cached_json(request, build)


@router.route("/clients/{client_id:id}/invoices.json", "POST", "GET")
async def client_invoices(request: Request) -> Response:
    """The client's documents (api-v2 §10.6), the invoice family and receipts: the body's
    `filter` {status, by_type, archived} or the invoice list's query filters; GET too (n8n)."""
    ctx, account_id, client_id = context(request), account(request).id, request.path_params["client_id"]
    body = await read_body(request)
    page, per_page = pagination(request)
    filters = replace(list_filters(request, CLIENT_DOCUMENTS), client_id=client_id)
    wanted = object_at(body, "filter")
    if wanted.get("status"):
        filters = replace(filters, statuses=tuple(STATUS_FILTERS.get(s, s) for s in _words(wanted["status"])))
    if wanted.get("by_type"):
        filters = replace(filters, types=tuple(k for k in (_type_key(t) for t in _words(wanted["by_type"])) if k))
    if wanted.get("archived"):
        words = set(_words(wanted["archived"]))
        filters = replace(filters, archived=None if words >= {"archived", "non_archived"} else "archived" in words)
    with ctx.db.snapshot() as conn:
        client_service.get_client(conn, account_id, client_id)
        documents, total = service.list_documents(conn, account_id, filters, page, per_page)
    base = ctx.settings.base_url
    return JSONResponse(
        {"invoices": [render(d, base) for d in documents], "pagination": pagination_block(page, per_page, total)}
    )


def _words(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _type_key(type_name: str) -> str | None:
    kind = BY_TYPE_NAME.get(type_name)
    return kind.key if kind is not None and kind.key in CLIENT_DOCUMENTS else None
