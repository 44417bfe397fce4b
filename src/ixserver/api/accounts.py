"""The accounts API (api-v2 §13): create accounts, read and update them, AT credentials."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ixserver.config import Settings
from ixserver.domain import limits
from ixserver.domain.accounts import Account
from ixserver.domain.errors import AccountCreationNotAllowed
from ixserver.services import accounts as service
from ixserver.services.accounts import TAX_COUNTRIES, AccountInput
from ixserver.web.context import account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_flag, as_text, read_body, require_root

router = Router()
_TAX_COUNTRY_NUMBER = {code: number for number, code in TAX_COUNTRIES.items()}
TEXT = (
    "organization_name", "email", "password", "first_name", "last_name", "phone", "fiscal_id", "tax_country",
    "language", "address", "city", "postal_code", "website", "fax",
)  # fmt: skip


# Longest text of each field (else 255, limits.TEXT); the store's columns hold them (a test checks).
TEXT_LIMITS = {"phone": 64, "fiscal_id": 32, "tax_country": 8, "language": 2, "postal_code": 16, "fax": 64}


def account_url(settings: Settings, name: str) -> str:
    """Where the account answers: `{name}.{account domain}` on the server's scheme and port."""
    base = urlsplit(settings.public_url)
    port = f":{base.port}" if base.port else ""
    domain = settings.account_domains[0] if settings.account_domains else base.hostname
    return f"{base.scheme}://{name}.{domain}{port}"


def render_details(row: Account) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "organization_name": row.organization_name,
        "fiscal_id": row.fiscal_id,
        "email": row.email,
        "state": row.state,
        "at_configured": bool(row.at_subuser and row.at_password_encrypted),
        "trial": False,
        "address": row.address,
        "postal_code": row.postal_code,
        "city": row.city,
        "tax_country": _TAX_COUNTRY_NUMBER.get(row.tax_country, row.tax_country),
    }


async def _input(request: Request) -> AccountInput:
    data = require_root(await read_body(request), "account")
    values: dict[str, Any] = {
        f: as_text(data.get(f), f.replace("_", " ").capitalize(), TEXT_LIMITS.get(f, limits.TEXT)) for f in TEXT
    }
    credentials = data.get("credentials")
    if isinstance(credentials, dict):
        values["at_subuser"] = as_text(credentials.get("username"), "Credentials username")
        values["at_password_base64"] = as_text(credentials.get("password"), "Credentials password")
    return AccountInput(
        **values,
        terms=as_flag(data.get("terms"), "Terms"),
        marketing=as_flag(data.get("marketing"), "Marketing"),
    )


def _created(request: Request, row: Account, key: str) -> dict[str, Any]:
    return {
        "account": {
            "id": str(row.id),
            "name": row.organization_name,
            "url": account_url(context(request).settings, row.name),
            "api_key": key,
            "state": row.state,
        }
    }


@router.post("/api/accounts/create.json")
async def create(request: Request) -> Response:
    data = await _input(request)
    row, key = await _open(request, data, for_the_callers_user=False)
    return JSONResponse(_created(request, row, key), status_code=201)


@router.post("/api/accounts/create_already_user.json")
async def create_already_user(request: Request) -> Response:
    data = await _input(request)
    row, key = await _open(request, data, for_the_callers_user=True)
    return JSONResponse(_created(request, row, key))


async def _open(request: Request, data: AccountInput, *, for_the_callers_user: bool) -> tuple[Account, str]:
    """Accounts are created only with a key allowed to (Settings.may_create_accounts), and in
    production at most IXSERVER_ACCOUNT_CREATIONS_PER_DAY per creating account (a sandbox's test
    suites make as many as they need)."""
    ctx, caller = context(request), account(request)
    if not ctx.settings.may_create_accounts(caller.name):
        raise AccountCreationNotAllowed()
    per_day = None if ctx.settings.sandbox else ctx.settings.account_creations_per_day
    return await ctx.writes.run_with_resources(service.open_account, data, caller.id, per_day, for_the_callers_user)


@router.get("/api/accounts/{account_id:id}/get.json")
async def get(request: Request) -> Response:
    with context(request).db.read() as conn:
        row = service.visible_account(conn, account(request).id, request.path_params["account_id"])
    return JSONResponse({"account": render_details(row)})


@router.put("/api/accounts/{account_id:id}/update.json")
async def update(request: Request) -> Response:
    ctx = context(request)
    data = await _input(request)
    row = await service.update_account(
        ctx.writes, ctx.resources, account(request).id, request.path_params["account_id"], data
    )
    return JSONResponse({"account": render_details(row)})


@router.post("/api/v3/accounts/at_communication.json")
async def at_communication(request: Request) -> Response:
    ctx = context(request)
    data = require_root(await read_body(request), "at_communication")
    await service.set_at_credentials(
        ctx.writes,
        ctx.resources,
        account(request).id,
        as_text(data.get("at_subuser"), "at_subuser"),
        as_text(data.get("at_password"), "at_password"),
        as_text(data.get("communication_type"), "communication_type"),
    )
    return JSONResponse({"success": "true"})
