"""The console's clients and items: an account's lists, a page at a time (each client links to
its documents)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.console.pages import PER_PAGE, page, page_number, pages, render
from ixserver.api.console.session import Session
from ixserver.services import clients as client_service
from ixserver.services import items as item_service
from ixserver.web.context import context


@page("/clients")
async def clients(request: Request, session: Session) -> Response:
    number = page_number(request)
    with context(request).db.snapshot() as conn:
        found, total = client_service.list_clients(conn, session.account.id, number, PER_PAGE)
    return render(request, session, "clients.html", clients=found, pager=pages(request, number, total))


@page("/items")
async def items(request: Request, session: Session) -> Response:
    number = page_number(request)
    with context(request).db.snapshot() as conn:
        found, total = item_service.list_items(conn, session.account.id, number, PER_PAGE)
    return render(request, session, "items.html", items=found, pager=pages(request, number, total))
