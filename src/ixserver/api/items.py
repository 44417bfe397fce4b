"""Items: api-v2 §11."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain import limits
from ixserver.domain.items import Item
from ixserver.services import items as service
from ixserver.services.items import ItemInput
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json, pagination, pagination_block
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_decimal, as_text, number, number_text, read_body, require_root

router = Router()
PRICE_NOT_VALID = "Price is not valid. Check the decimal mark and if you are inserting only numbers."


def render(item: Item) -> dict[str, Any]:
    tax = None
    if item.tax_name is not None and item.tax_value is not None:
        tax = {
            "name": item.tax_name,
            "value": number(item.tax_value),
            "comment": f"tax value:{number_text(item.tax_value)}%",
        }
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "unit_price": number(item.unit_price),
        "unit": item.unit,
        "tax": tax,
    }


async def _input(request: Request) -> ItemInput:
    data = require_root(await read_body(request), "item")
    tax = data.get("tax")
    unit = as_text(data.get("unit"), "Unit")
    return ItemInput(
        name=as_text(data.get("name"), "Name"),
        description=as_text(data.get("description"), "Description", limits.LONG_TEXT),
        unit_price=as_decimal(data.get("unit_price"), "Price", PRICE_NOT_VALID),
        unit=unit.strip().lower() if unit and unit.strip() else None,
        tax_name=as_text(tax.get("name"), "Tax name", limits.SHORT_TEXT) if isinstance(tax, dict) else None,
        tax_value=as_decimal(tax.get("value"), "Tax value") if isinstance(tax, dict) else None,
        tax_given=isinstance(tax, dict),
    )


@router.get("/items.json")
async def list_items(request: Request) -> Response:
    ctx, account_id = context(request), account(request).id
    page, per_page = pagination(request)

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            rows, total = service.list_items(conn, account_id, page, per_page)
        return {"items": [render(i) for i in rows], "pagination": pagination_block(page, per_page, total)}

    return await cached_json(request, build)


@router.post("/items.json")
async def create_item(request: Request) -> Response:
    data = await _input(request)
    item = await context(request).writes.run(service.create_item, account(request).id, data)
    return JSONResponse({"item": render(item)}, status_code=201)


@router.get("/items/{item_id:id}.json")
async def get_item(request: Request) -> Response:
    ctx, account_id, item_id = context(request), account(request).id, request.path_params["item_id"]

    def build() -> Any:
        with ctx.db.read() as conn:
            return {"item": render(service.get_item(conn, account_id, item_id))}

    return await cached_json(request, build)


@router.put("/items/{item_id:id}.json")
async def update_item(request: Request) -> Response:
    data = await _input(request)
    item = await context(request).writes.run(
        service.update_item, account(request).id, request.path_params["item_id"], data
    )
    return JSONResponse({"item": render(item)})


@router.delete("/items/{item_id:id}.json")
async def delete_item(request: Request) -> Response:
    await context(request).writes.run(service.delete_item, account(request).id, request.path_params["item_id"])
    return JSONResponse({})
