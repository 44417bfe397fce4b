"""Treasury: a client's current account (api-v2 §12, the v3 endpoints, ISO dates)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain import limits
from ixserver.domain.errors import TreasuryMovementInvalid, ValidationFailed
from ixserver.domain.treasury import Figures, Regularization, TreasuryMovement, regularization_number
from ixserver.services import treasury as service
from ixserver.services.treasury import EntryInput, MovementInput
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json, pagination, pagination_block
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_date, as_decimal, as_text, number, read_body, require_root

router = Router(prefix="/api/v3/clients/{client_id:id}")

CURRENCY = {"symbol": "€", "code": "EUR"}
NO_INITIAL_BALANCE_DATE = date(1970, 1, 1)  # what the balance shows before one is set
# Longest text of each field; the store's columns hold them.
TEXT_LIMITS = {"observation": limits.LONG_TEXT, "movement_type": 16, "payment_method": 16, "serie": 35}


def _client_id(request: Request) -> int:
    return int(request.path_params["client_id"])


def _figures(figures: Figures) -> dict[str, Any]:
    return {"with_vat": number(figures.with_vat), "without_vat": number(figures.without_vat)}


def _observation(data: dict[str, Any]) -> str | None:
    text = as_text(data.get("observation"), "Observation", TEXT_LIMITS["observation"])
    return text if text and text.strip() else None


def _entry(data: dict[str, Any]) -> EntryInput:
    return EntryInput(
        value=as_decimal(data.get("value"), "Value"),
        date=as_date(data.get("date"), "Date"),
        observation=_observation(data),
    )


def render_regularization(row: Regularization) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": regularization_number(row.number),
        "value": number(row.value),
        "date": row.date.isoformat(),
        "observation": row.observation,
    }


def render_movement(row: TreasuryMovement) -> dict[str, Any]:
    return {
        "id": row.id,
        "value": number(row.value),
        "movement_type": row.movement_type,
        "payment_method": row.payment_method,
        "date": row.date.isoformat(),
        "serie": row.serie,
        "observation": row.observation,
    }


@router.get("/balance.json")
async def get_balance(request: Request) -> Response:
    # Not cached: what is overdue changes with the date, not only with the database.
    with context(request).db.snapshot() as conn:
        found = service.client_balance(conn, account(request).id, _client_id(request))
    initial, figures = found.initial, found.balance
    return JSONResponse(
        {
            "currency": CURRENCY,
            "initial_balance": {
                "value": number(initial.value) if initial else 0,
                "created_at": (initial.date if initial else NO_INITIAL_BALANCE_DATE).isoformat(),
                "observation": initial.observation if initial else None,
            },
            "balance": _figures(figures.balance),
            "overdue_balance": _figures(figures.overdue),
            "remaining_balance": {"total": number(figures.remaining_total), "value": number(figures.remaining_value)},
        }
    )


@router.put("/initial_balance.json")
async def update_initial_balance(request: Request) -> Response:
    sent = _entry(require_root(await read_body(request), "initial_balance"))
    row = await context(request).writes.run(service.set_initial_balance, account(request).id, _client_id(request), sent)
    return JSONResponse(
        {"initial_balance": {"value": number(row.value), "date": row.date.isoformat(), "observation": row.observation}}
    )


@router.get("/regularization.json")
async def list_regularizations(request: Request) -> Response:
    ctx, account_id, client_id = context(request), account(request).id, _client_id(request)
    page, per_page = pagination(request)

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            rows, total = service.list_regularizations(conn, account_id, client_id, page, per_page)
        return {
            "regularization": [render_regularization(r) for r in rows],
            "pagination": pagination_block(page, per_page, total),
        }

    return await cached_json(request, build)


@router.post("/regularization.json")
async def create_regularization(request: Request) -> Response:
    sent = _entry(require_root(await read_body(request), "regularization"))
    row = await context(request).writes.run(
        service.create_regularization, account(request).id, _client_id(request), sent
    )
    return JSONResponse({"regularization": [render_regularization(row)]}, status_code=201)  # an array, as documented


@router.delete("/regularization/{regularization_id:id}.json")
async def delete_regularization(request: Request) -> Response:
    await context(request).writes.run(
        service.delete_regularization,
        account(request).id,
        _client_id(request),
        request.path_params["regularization_id"],
    )
    return JSONResponse({})


def _movement(data: dict[str, Any]) -> MovementInput:
    """A treasury movement's fields; what cannot be read is refused as InvoiceXpress words a
    movement's refusals ("Validation failed: Value is not a number")."""
    try:
        return MovementInput(
            value=as_decimal(data.get("value"), "Value"),
            movement_type=as_text(data.get("movement_type"), "Movement type", TEXT_LIMITS["movement_type"]),
            payment_method=as_text(data.get("payment_method"), "Payment method", TEXT_LIMITS["payment_method"]),
            date=as_date(data.get("date"), "Date"),
            serie=as_text(data.get("serie"), "Serie", TEXT_LIMITS["serie"]),
            observation=_observation(data),
        )
    except ValidationFailed as problem:
        raise TreasuryMovementInvalid(*problem.messages) from None


@router.post("/treasury_movements.json")
async def create_treasury_movement(request: Request) -> Response:
    sent = _movement(require_root(await read_body(request), "treasury_movement"))
    row = await context(request).writes.run(service.create_movement, account(request).id, _client_id(request), sent)
    return JSONResponse({"treasury_movement": render_movement(row)}, status_code=201)


@router.delete("/treasury_movements/{movement_id:id}.json")
async def delete_treasury_movement(request: Request) -> Response:
    await context(request).writes.run(
        service.delete_movement, account(request).id, _client_id(request), request.path_params["movement_id"]
    )
    return Response(status_code=204)
