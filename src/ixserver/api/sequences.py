"""Sequences (series): api-v2 §8.3–8.7."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.errors import InvalidSequence
from ixserver.domain.sequences import Sequence
from ixserver.services import sequences as service
from ixserver.web.context import account, context
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, RawJSONResponse, as_flag, as_text, dumps, read_body, root_object

router = Router()

# Field names of the sequence object in the seed's order, with the OpenAPI's validation code
# after each type's sequence id.
_FIELDS = tuple(
    (t.key, f"current_{t.key}_number", f"current_{t.key}_sequence_id", f"current_{t.key}_validation_code")
    for t in DOC_TYPES
)


def render(sequence: Sequence) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sequence.id,
        "serie": sequence.serie,
        "default_sequence": 1 if sequence.is_default else 0,
    }
    for key, number, sub_id, code in _FIELDS:
        sub = sequence.subs[key]
        out[number] = sub.current_number
        out[sub_id] = sub.id
        out[code] = sub.validation_code
    return out


@router.get("/sequences.json")
async def list_sequences(request: Request) -> Response:
    ctx = context(request)
    account_id = account(request).id

    def render_list() -> bytes:
        with ctx.db.read() as conn:
            found = service.list_sequences(conn, account_id)
        return dumps({"sequences": [render(s) for s in found]})

    return RawJSONResponse(await ctx.cache.body(account_id, "sequences", render_list))


@router.post("/sequences.json")
async def create_sequence(request: Request) -> JSONResponse:
    body = await read_body(request)
    data = root_object(body, "sequence")
    serie = as_text(data.get("serie"), "serie") if data is not None else None
    if not serie:
        raise InvalidSequence()
    make_default = as_flag(data.get("default_sequence"), "default_sequence") if data else None
    ctx = context(request)
    # its error codes differ from register's: web/errors.py CODES_BY_OPERATION
    created = await service.create_sequence(
        ctx.writes, ctx.resources, account(request).id, serie.strip(), bool(make_default)
    )
    return JSONResponse({"sequence": render(created)}, status_code=201)


@router.get("/sequences/{sequence_id:id}.json")
async def get_sequence(request: Request) -> JSONResponse:
    sequence_id = request.path_params["sequence_id"]
    with context(request).db.read() as conn:
        found = service.get_sequence(conn, account(request).id, sequence_id)
    return JSONResponse({"sequence": render(found)})


@router.put("/sequences/{sequence_id:id}/set_current.json")
async def set_current(request: Request) -> JSONResponse:
    sequence_id = request.path_params["sequence_id"]
    updated = await context(request).writes.run(service.set_current, account(request).id, sequence_id)
    return JSONResponse({"sequence": render(updated)})


@router.put("/sequences/{sequence_id:id}/register.json")
async def register(request: Request) -> JSONResponse:
    sequence_id = request.path_params["sequence_id"]
    ctx = context(request)
    account_id = account(request).id
    await service.register(ctx.writes, ctx.resources, account_id, sequence_id)
    with ctx.db.read() as conn:
        found = service.list_sequences(conn, account_id)
    return JSONResponse({"sequences": [render(s) for s in found]})
