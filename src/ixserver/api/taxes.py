"""Taxes: api-v2 §9."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain import limits
from ixserver.domain.taxes import Tax
from ixserver.services import taxes as service
from ixserver.services.taxes import TaxInput
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_decimal, as_flag, as_text, number, read_body, require_root

router = Router()


def render(tax: Tax) -> dict[str, Any]:
    return {
        "id": tax.id,
        "name": tax.name,
        "value": number(tax.value),
        "region": tax.region,
        "code": tax.code,
        "default_tax": 1 if tax.is_default else 0,
    }


async def _input(request: Request) -> TaxInput:
    data = require_root(await read_body(request), "tax")
    code = as_text(data.get("code"), "Code")
    return TaxInput(
        name=as_text(data.get("name"), "Name", limits.SHORT_TEXT),
        value=as_decimal(data.get("value"), "Value", "Value must be a number between 0 and 99.99"),
        region=(as_text(data.get("region"), "Region", 16) or "").strip() or None,
        code=code.strip().upper() if code else None,
        make_default=as_flag(data.get("default_tax"), "Default tax"),
    )


@router.get("/taxes.json")
async def list_taxes(request: Request) -> Response:
    ctx, account_id = context(request), account(request).id

    def build() -> Any:
        with ctx.db.read() as conn:
            return {"taxes": [render(t) for t in service.list_taxes(conn, account_id)]}

    return await cached_json(request, build)


@router.post("/taxes.json")
async def create_tax(request: Request) -> Response:
    data = await _input(request)
    tax = await context(request).writes.run(service.create_tax, account(request).id, data)
    return JSONResponse({"tax": render(tax)}, status_code=201)


@router.get("/taxes/{tax_id:id}.json")
async def get_tax(request: Request) -> Response:
    ctx, account_id, tax_id = context(request), account(request).id, request.path_params["tax_id"]

    def build() -> Any:
        with ctx.db.read() as conn:
            return {"tax": render(service.get_tax(conn, account_id, tax_id))}

    return await cached_json(request, build)


@router.put("/taxes/{tax_id:id}.json")
async def update_tax(request: Request) -> Response:
    data = await _input(request)
    tax = await context(request).writes.run(
        service.update_tax, account(request).id, request.path_params["tax_id"], data
    )
    return JSONResponse({"tax": render(tax)})


@router.delete("/taxes/{tax_id:id}.json")
async def delete_tax(request: Request) -> Response:
    await context(request).writes.run(service.delete_tax, account(request).id, request.path_params["tax_id"])
    return JSONResponse({})
