"""Routes as plain Starlette routes inside the FastAPI app.

Handlers take the Request and return a Response: they read their input leniently themselves
(web/wire.py) and render exact shapes, so FastAPI's per-request dependency solving and
validation would only add latency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.routing import Router as StarletteRouter
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


class Router:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(self, path: str, *methods: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(self.prefix + path, handler, methods=list(methods), name=handler.__name__))
            return handler

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, "GET")

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, "POST")

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, "PUT")

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.route(path, "DELETE")


def first_segment(path: str) -> str:
    """ "invoices" for /invoices.json and /invoices/12/change-state.json."""
    segment = path.lstrip("/").split("/", 1)[0]
    return segment[:-5] if segment.endswith(".json") else segment


class IndexedRouter(StarletteRouter):
    """Starlette's router, trying only the routes that share the request's first path segment.
    A request costs the same whatever the number of routes (Starlette tries every route in
    order, about 1 µs each, and the API has dozens)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes), redirect_slashes=False)
        self.by_segment: dict[str, list[Route]] = defaultdict(list)
        for route in routes:
            assert isinstance(route, Route)
            self.by_segment[first_segment(route.path)].append(route)

    def candidates(self, path: str) -> list[Route]:
        return self.by_segment.get(first_segment(path), [])

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        partial = partial_scope = None
        for route in self.candidates(scope["path"]):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None and partial_scope is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)  # 405 Method Not Allowed
            return
        await self.default(scope, receive, send)  # 404
