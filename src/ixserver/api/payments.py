"""Payments (api-v2 §4.11–4.12): a partial payment of a document issues a receipt, cancelling
the receipt undoes the payment; receipts and VAT MOSS receipts are read and listed as the other
documents (`GET /receipts/{id}.json`, `GET /receipts.json` with the list filters)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ixserver import metrics
from ixserver.api.documents import render
from ixserver.api.families import read_change, register_types
from ixserver.domain import limits
from ixserver.domain.doctypes import BY_KEY, RECEIPT_TYPES
from ixserver.services import payments as service
from ixserver.services.payments import PaymentInput
from ixserver.web.context import account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_date, as_decimal, as_text, read_body, require_root

router = Router()

for _key in RECEIPT_TYPES:  # each its own list: /receipts.json, /vat_moss_receipts.json
    register_types(router, (_key,), BY_KEY[_key].path, operations=("get", "list"))


# GET too, with the same JSON body: the .NET client pays so, and its payment test passes against
# the real service (api-v2 §1.3).
@router.route("/documents/{document_id:id}/partial_payments.json", "POST", "GET")
async def partial_payment(request: Request) -> Response:
    """200 (not 201) `{"receipt": {...}}`: clients read `receipt.id` and its number."""
    ctx = context(request)
    data = require_root(await read_body(request), "partial_payment")
    payment = PaymentInput(
        amount=as_decimal(data.get("amount"), "Amount", "Amount must be a number greater than 0"),
        payment_mechanism=as_text(data.get("payment_mechanism"), "payment_mechanism", limits.SHORT_TEXT),
        note=as_text(data.get("note"), "Note", limits.LONG_TEXT),
        serie=as_text(data.get("serie"), "Serie", 35),
        payment_date=as_date(data.get("payment_date"), "Payment date"),
    )
    receipt = await ctx.writes.run_with_resources(
        service.pay, account(request).id, request.path_params["document_id"], payment
    )
    metrics.ISSUED.labels(receipt.doc_type).inc()
    return JSONResponse({"receipt": render(receipt, ctx.settings.base_url)})


def _cancel(keys: tuple[str, str]) -> Callable[[Request], Awaitable[Response]]:
    async def cancel(request: Request) -> Response:
        """`{"receipt": {"state": "canceled", "message": "…"}}` (api-v2 §4.12); the URL's own type
        is read first and named when neither key is there."""
        ctx = context(request)
        state, message = read_change(await read_body(request), *keys)
        receipt = await ctx.writes.run_with_resources(
            service.cancel_receipt, account(request).id, request.path_params["document_id"], state, message
        )
        return JSONResponse({"receipt": render(receipt, ctx.settings.base_url)})

    return cancel


for _keys in (("receipt", "vat_moss_receipt"), ("vat_moss_receipt", "receipt")):
    router.route(f"/{BY_KEY[_keys[0]].path}/{{document_id:id}}/change-state.json", "PUT", "POST")(_cancel(_keys))
