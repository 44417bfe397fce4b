"""Routes as plain Starlette routes inside the FastAPI app.

Handlers take the Request and return a Response: they read their input leniently themselves
(api/wire.py) and render exact shapes, so FastAPI's per-request dependency solving and
validation would only add latency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
