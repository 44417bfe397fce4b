"""The issuer's identity the accounts API has no field for (in production too, behind the
account's key): `GET|PUT /_ixserver/account.json` `{"account": {"iban", "swift",
"share_capital", "registry_office", "registry_number"}}` and `GET|PUT|DELETE
/_ixserver/account/logo` (a PNG or JPEG body). Phone, e-mail and website are the accounts API's
(`PUT /api/accounts/{id}/update.json`)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain.accounts import IDENTITY_TEXT, Account
from ixserver.domain.errors import NotFound, RequestTooLarge
from ixserver.domain.money import to_cents
from ixserver.render import logo as render_logo
from ixserver.services import identity as service
from ixserver.store.logos import Logo
from ixserver.web.context import account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_decimal, as_text, read_body, require_root

router = Router(prefix="/_ixserver")


def render(row: Account) -> dict[str, Any]:
    return {
        "account": {
            "iban": row.iban,
            "swift": row.swift,
            "share_capital": None if row.share_capital is None else format(to_cents(row.share_capital), "f"),
            "registry_office": row.registry_office,
            "registry_number": row.registry_number,
            "logo": row.logo,  # the SHA-256 of the logo (GET /_ixserver/account/logo), or null
        }
    }


@router.get("/account.json")
async def get(request: Request) -> Response:
    with context(request).db.read() as conn:
        row = service.account_of(conn, account(request).id)
    return JSONResponse(render(row))


@router.put("/account.json")
async def update(request: Request) -> Response:
    data = require_root(await read_body(request), "account")
    given: dict[str, Any] = {
        name: as_text(data[name], name.replace("_", " ").capitalize(), size)
        for name, size in IDENTITY_TEXT.items()
        if name in data
    }
    if "share_capital" in data:
        given["share_capital"] = as_decimal(data["share_capital"], "Share capital")
    row = await context(request).writes.run(service.update_identity, account(request).id, given)
    return JSONResponse(render(row))


@router.put("/account/logo")
async def put_logo(request: Request) -> Response:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > render_logo.MAX_BYTES:
            raise RequestTooLarge(render_logo.MAX_BYTES)
    content, media_type = await asyncio.to_thread(render_logo.normalized, bytes(body))
    row = await context(request).writes.run(service.set_logo, account(request).id, Logo(media_type, content))
    return JSONResponse(render(row))


@router.delete("/account/logo")
async def delete_logo(request: Request) -> Response:
    row = await context(request).writes.run(service.remove_logo, account(request).id)
    return JSONResponse(render(row))


@router.get("/account/logo")
async def get_logo(request: Request) -> Response:
    with context(request).db.read() as conn:
        found = service.current_logo(conn, account(request).id)
    if found is None:
        raise NotFound()
    return Response(found.content, media_type=found.media_type)
