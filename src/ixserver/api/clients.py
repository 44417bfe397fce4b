"""Clients: api-v2 §10."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain import limits
from ixserver.domain.clients import Client
from ixserver.domain.errors import ValidationFailed
from ixserver.services import clients as service
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json, pagination, pagination_block
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_int, as_text, read_body, require_root

router = Router()

# Text fields a request may send, as (wire name, column); empty values clear optional ones.
TEXT_FIELDS = (
    "name", "code", "email", "language", "address", "city", "postal_code", "country", "fiscal_id",
    "website", "phone", "fax", "observations", "tax_exemption_code",
)  # fmt: skip
REQUIRED_TEXT = ("name", "code")
# Longest text of each field (else 255, limits.TEXT); the store's columns hold them (a test checks).
TEXT_LIMITS = {
    "code": 64, "language": 2, "postal_code": 32, "country": 64, "fiscal_id": 64, "phone": 64, "fax": 64,
    "tax_exemption_code": 8, "address": limits.LONG_TEXT, "observations": limits.LONG_TEXT,
    "contact_phone": 64, "contact_mobile": 64,
}  # fmt: skip
CONTACT_INVALID = "Client contact is invalid"
CONTACT_FIELDS = (
    ("name", "contact_name"),
    ("email", "contact_email"),
    ("phone", "contact_phone"),
    ("mobile", "contact_mobile"),
)


def _mobile(value: str | None) -> int | str | None:
    """`preferred_contact.mobile` is a number in InvoiceXpress's answers (the .NET client
    decodes it as one); a value that is not a plain number stays text rather than be mangled."""
    if value and value.isdigit() and not value.startswith("0"):
        return int(value)
    return value


def statement_link(base_url: str, token: str) -> str:
    return f"{base_url}/statements/{token}"


def render(client: Client, base_url: str) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "code": client.code,
        "language": client.language,
        "email": client.email,
        "address": client.address,
        "city": client.city,
        "postal_code": client.postal_code,
        "fiscal_id": client.fiscal_id,
        "website": client.website,
        "country": client.country,
        "phone": client.phone,
        "fax": client.fax,
        "preferred_contact": {
            "name": client.contact_name,
            "email": client.contact_email,
            "phone": client.contact_phone,
            "mobile": _mobile(client.contact_mobile),
        },
        "observations": client.observations,
        "open_account_link": statement_link(base_url, client.statement_token) if client.statement_token else None,
        "send_options": str(client.send_options),
        "payment_days": str(client.payment_days),
        "tax_exemption_code": client.tax_exemption_code,
    }


def parse_client(data: dict[str, Any]) -> dict[str, Any]:
    """The client fields a request sets (null keys, read-only and unknown keys are ignored)."""
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if data.get(name) is None:
            continue
        text = as_text(data[name], name.replace("_", " ").capitalize(), TEXT_LIMITS.get(name, limits.TEXT))
        assert text is not None
        if name in REQUIRED_TEXT:
            fields[name] = text
        elif text.strip():
            fields[name] = text.strip() if name in ("language", "country", "tax_exemption_code") else text
        elif name != "country":
            fields[name] = None
    if fields.get("language"):
        fields["language"] = fields["language"].lower()
    for name, label in (("send_options", "Send options"), ("payment_days", "Payment days")):
        value = as_int(data.get(name), label)
        if value is not None:
            fields[name] = value
    contact = data.get("preferred_contact")
    if contact is not None and not isinstance(contact, dict):
        # an object of name, email, phone, mobile (api-v2 §10, the OpenAPI's ClientsCreateRequest);
        # InvoiceXpress's own word for a contact it cannot take (api-v2 §10.2)
        raise ValidationFailed(CONTACT_INVALID)
    if contact is not None:
        for wire, column in CONTACT_FIELDS:
            if contact.get(wire) is not None:
                limit = TEXT_LIMITS.get(column, limits.TEXT)
                fields[column] = as_text(contact[wire], f"Preferred contact {wire}", limit) or None
    return fields


async def _fields(request: Request) -> dict[str, Any]:
    data = require_root(await read_body(request), "client")
    return parse_client(data)


@router.get("/clients.json")
async def list_clients(request: Request) -> Response:
    ctx, account_id = context(request), account(request).id
    page, per_page = pagination(request)
    fiscal_id = request.query_params.get("fiscal_id") or None

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            rows, total = service.list_clients(conn, account_id, page, per_page, fiscal_id)
        return {
            "clients": [render(c, ctx.settings.base_url) for c in rows],
            "pagination": pagination_block(page, per_page, total),
        }

    return await cached_json(request, build)


@router.post("/clients.json")
async def create_client(request: Request) -> Response:
    fields = await _fields(request)
    ctx = context(request)
    client = await ctx.writes.run(service.create_client, account(request).id, fields)
    return JSONResponse({"client": render(client, ctx.settings.base_url)}, status_code=201)


@router.get("/clients/{client_id:id}.json")
async def get_client(request: Request) -> Response:
    ctx, account_id, client_id = context(request), account(request).id, request.path_params["client_id"]

    def build() -> Any:
        with ctx.db.read() as conn:
            return {"client": render(service.get_client(conn, account_id, client_id), ctx.settings.base_url)}

    return await cached_json(request, build)


@router.put("/clients/{client_id:id}.json")
async def update_client(request: Request) -> Response:
    fields = await _fields(request)
    ctx = context(request)
    client = await ctx.writes.run(service.update_client, account(request).id, request.path_params["client_id"], fields)
    return JSONResponse({"client": render(client, ctx.settings.base_url)})


def _find(request: Request, parameter: str, find: Callable[[Connection, int, str], Client]) -> Response:
    value = request.query_params.get(parameter)
    if not value:
        raise ValidationFailed(f"{parameter} is required")
    ctx = context(request)
    with ctx.db.read() as conn:
        client = find(conn, account(request).id, value)
    return JSONResponse({"client": render(client, ctx.settings.base_url)})


@router.get("/clients/find-by-name.json")
async def find_by_name(request: Request) -> Response:
    return _find(request, "client_name", service.find_by_name)


@router.get("/clients/find-by-code.json")
async def find_by_code(request: Request) -> Response:
    return _find(request, "client_code", service.find_by_code)
