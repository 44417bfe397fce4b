"""What every document family's routes share (api-v2 §4–§7): create, get, update,
change-state and the per-type lists of each type, and the family's list of all its types
(`GET /invoices.json`, `GET /estimates.json` …), with the list filters of §4.1. A family module
(invoices.py, estimates.py) registers its types with `register`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver import metrics
from ixserver.api.documents import parse_document, render
from ixserver.domain import limits, states
from ixserver.domain.doctypes import BY_KEY, BY_TYPE_NAME, DocType, types_of
from ixserver.domain.documents import DocumentFilters
from ixserver.domain.errors import DocumentCreationInProgress, ValidationFailed
from ixserver.domain.families import Family
from ixserver.services import documents as service
from ixserver.services import emails
from ixserver.web.context import account, context
from ixserver.web.reads import cached_json, pagination, pagination_block
from ixserver.web.routing import Router
from ixserver.web.wire import (
    JSONResponse,
    as_date,
    as_decimal,
    as_flag,
    as_text,
    object_at,
    read_body,
    read_parsed,
    require_root,
)

# `status[]` words of the list filters; "sent" is what they call `final` (api-v2 §4.1, §5.1).
STATUS_FILTERS = {"draft": states.DRAFT, "sent": states.FINAL, "final": states.FINAL, "settled": states.SETTLED,
                  "canceled": states.CANCELED, "deleted": states.DELETED, "second_copy": "second_copy",
                  "accepted": states.ACCEPTED, "refused": states.REFUSED}  # fmt: skip
# Types the list accepts that no document has (legacy cash sales): they match nothing.
OTHER_LISTED_TYPES = ("CashInvoice",)
OPERATIONS = ("create", "get", "update", "change_state", "list", "email")


def list_filters(request: Request, types: tuple[str, ...], selectable: tuple[str, ...] = ()) -> DocumentFilters:
    """GET /invoices.json's filters (api-v2 §4.1), read leniently: `types` unless `type[]`
    names some of them or of `selectable` (receipts, in the invoices' list)."""
    query = request.query_params
    wanted = query.getlist("type[]") or query.getlist("type")
    if wanted:
        unknown = [t for t in wanted if t not in OTHER_LISTED_TYPES and BY_TYPE_NAME.get(t) is None]
        if unknown:
            raise ValidationFailed(f"type {unknown[0]} is not valid")
        allowed = types + selectable
        types = tuple(BY_TYPE_NAME[t].key for t in wanted if t in BY_TYPE_NAME and BY_TYPE_NAME[t].key in allowed)
    statuses = None
    if query.getlist("status[]") or query.getlist("status"):
        words = query.getlist("status[]") or query.getlist("status")
        unknown = [w for w in words if w not in STATUS_FILTERS]
        if unknown:
            raise ValidationFailed(f"status {unknown[0]} is not valid")
        statuses = tuple(STATUS_FILTERS[w] for w in words)
    archived_flag = query.get("archived") == "true"
    non_archived_flag = query.get("non_archived") == "true"
    archived = None if archived_flag and non_archived_flag else (True if archived_flag else False)
    order = query.get("order_by", "date_desc")
    if order not in ("date_desc", "date_asc"):
        raise ValidationFailed("order_by must be date_desc or date_asc")
    return DocumentFilters(
        types=types,
        statuses=statuses,
        archived=archived,
        text=as_text(query.get("text"), "text", limits.FILTER_TEXT) or None,
        reference=as_text(query.get("reference"), "reference", limits.FILTER_TEXT) or None,
        date_from=as_date(query.get("date[from]"), "date[from]"),
        date_to=as_date(query.get("date[to]"), "date[to]"),
        due_date_from=as_date(query.get("due_date[from]"), "due_date[from]"),
        due_date_to=as_date(query.get("due_date[to]"), "due_date[to]"),
        before_taxes_from=as_decimal(query.get("total_before_taxes[from]"), "total_before_taxes[from]"),
        before_taxes_to=as_decimal(query.get("total_before_taxes[to]"), "total_before_taxes[to]"),
        loaded_from=as_date(query.get("loaded_at[from]"), "loaded_at[from]"),
        loaded_to=as_date(query.get("loaded_at[to]"), "loaded_at[to]"),
        newest_first=order == "date_desc",
    )


def parse_email(body: dict[str, Any]) -> emails.EmailInput:
    """`{"message": {"client": {"email", "save"}, "subject", "body", "cc", "bcc", "logo"}}`."""
    message = require_root(body, "message")
    client = object_at(message, "client")
    return emails.EmailInput(
        to=as_text(client.get("email"), "Email", limits.LONG_TEXT),
        save=bool(as_flag(client.get("save"), "Save")),
        subject=as_text(message.get("subject"), "Subject"),
        body=as_text(message.get("body"), "Body", limits.LONG_TEXT * 10),
        cc=as_text(message.get("cc"), "Cc", limits.LONG_TEXT),
        bcc=as_text(message.get("bcc"), "Bcc", limits.LONG_TEXT),
    )


def read_change(body: dict[str, Any], *keys: str) -> tuple[str, str | None]:
    """A change-state body: `{"<key>": {"state": "…", "message": "…"}}`, the message also at the
    root (bitmario's client puts it there); the state lower-cased. Without any of `keys`, the
    first of which is the type of the URL: `422 "Elemento <key> não fornecido"` (api-v2 §1.8)."""
    data = require_root(body, *keys)
    state = data.get("state")
    if not isinstance(state, str) or not state.strip():
        raise ValidationFailed("Invalid state")
    message = data.get("message") if data.get("message") is not None else body.get("message")
    return state.strip().lower(), as_text(message, "Message", limits.LONG_TEXT)


async def list_response(
    request: Request, key: str, types: tuple[str, ...], selectable: tuple[str, ...] = ()
) -> Response:
    ctx, account_id = context(request), account(request).id
    filters = list_filters(request, types, selectable)
    page, per_page = pagination(request)
    base = ctx.settings.base_url

    def build() -> Any:
        with ctx.db.snapshot() as conn:
            documents, total = service.list_documents(conn, account_id, filters, page, per_page)
        return {key: [render(d, base) for d in documents], "pagination": pagination_block(page, per_page, total)}

    return await cached_json(request, build)


def _handlers(
    kind: DocType, family: tuple[str, ...], list_key: str, selectable: tuple[str, ...]
) -> dict[str, Callable[[Request], Awaitable[Response]]]:
    async def create(request: Request) -> Response:
        ctx, account_id = context(request), account(request).id
        data = await read_parsed(request, partial(parse_document, kind=kind))
        claim = (account_id, data.proprietary_uid) if data.proprietary_uid else None
        if claim is not None:
            if claim in ctx.in_flight:
                raise DocumentCreationInProgress(data.proprietary_uid or "")
            ctx.in_flight.add(claim)
        try:
            document = await ctx.writes.run(service.create_document, account_id, kind.key, data)
        finally:
            if claim is not None:
                ctx.in_flight.discard(claim)
        return JSONResponse({BY_KEY[document.doc_type].key: render(document, ctx.settings.base_url)}, status_code=201)

    async def get(request: Request) -> Response:
        ctx, account_id, document_id = context(request), account(request).id, request.path_params["document_id"]

        def build() -> Any:
            with ctx.db.snapshot() as conn:
                document = service.get_document(conn, account_id, document_id, kind.key)
            return {kind.key: render(document, ctx.settings.base_url)}

        return await cached_json(request, build)

    async def update(request: Request) -> Response:
        ctx = context(request)
        data = await read_parsed(request, partial(parse_document, kind=kind))
        document = await ctx.writes.run(
            service.update_document, account(request).id, kind.key, request.path_params["document_id"], data
        )
        return JSONResponse({kind.key: render(document, ctx.settings.base_url)})

    async def change_state(request: Request) -> Response:
        ctx = context(request)
        state, message = read_change(await read_body(request), kind.key, *kind.family.root_keys)
        document = await ctx.writes.run_with_resources(
            service.change_state, account(request).id, kind.key, request.path_params["document_id"], state, message
        )
        if state == "finalized":
            metrics.ISSUED.labels(kind.key).inc()
        return JSONResponse({kind.key: render(document, ctx.settings.base_url)})

    async def list_of_type(request: Request) -> Response:
        if kind.path == list_key:  # GET /invoices.json lists the whole family (api-v2 §4.1)
            return await list_response(request, list_key, family, selectable)
        return await list_response(request, kind.path, (kind.key,))

    async def email(request: Request) -> Response:
        """200 with an empty body (api-v2 §4.7); the e-mail leaves from the job outbox."""
        ctx = context(request)
        if not ctx.settings.sends_email:
            raise ValidationFailed("E-mail is not configured on this server (IXSERVER_SMTP_HOST)")
        message = parse_email(await read_body(request))
        await ctx.writes.run(
            emails.email_document, account(request).id, kind.key, request.path_params["document_id"], message
        )
        ctx.job_enqueued()
        return Response(b"", status_code=200)

    return {"create": create, "get": get, "update": update, "change_state": change_state, "list": list_of_type,
            "email": email}  # fmt: skip


def register(router: Router, of: Family, *, selectable: tuple[str, ...] = ()) -> None:
    """The routes of every type of the family `of`, and `GET /{name}.json` for all of them,
    where `type[]` may also select the types of `selectable`."""
    register_types(router, types_of(of), of.name, selectable=selectable)


def register_types(
    router: Router,
    family: tuple[str, ...],
    list_key: str,
    *,
    operations: tuple[str, ...] = OPERATIONS,
    selectable: tuple[str, ...] = (),
) -> None:
    """The routes of each of the types `family` (those of `operations`), and `GET /{list_key}.json`
    for all of them (when no type has that path, as `invoices` has, a route of its own), where
    `type[]` may also select the types of `selectable`."""
    for key in family:
        kind = BY_KEY[key]
        handlers = _handlers(kind, family, list_key, selectable)
        paths = {
            "list": (f"/{kind.path}.json", ("GET",)),
            "create": (f"/{kind.path}.json", ("POST",)),
            "get": (f"/{kind.path}/{{document_id:id}}.json", ("GET",)),
            "update": (f"/{kind.path}/{{document_id:id}}.json", ("PUT",)),
            # POST too: the Go client (tim-online) sends change-state as POST (api-v2 §1.3).
            "change_state": (f"/{kind.path}/{{document_id:id}}/change-state.json", ("PUT", "POST")),
            "email": (f"/{kind.path}/{{document_id:id}}/email-document.json", ("PUT",)),
        }
        for operation in operations:
            path, methods = paths[operation]
            router.route(path, *methods)(handlers[operation])
    if list_key not in (BY_KEY[key].path for key in family):

        async def list_all(request: Request) -> Response:
            return await list_response(request, list_key, family, selectable)

        router.route(f"/{list_key}.json", "GET")(list_all)
