"""The files the pages of the server load, served by the app itself (no CDN, nothing fetched at
run time): the console's style sheet and script, the docs page's initializer, and Swagger UI's
browser build (vendored: assets/swagger-ui/SOURCE.md). Public in every mode, as /_ixserver/docs
is; only the files listed here are served."""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from ixserver.domain.errors import NotFound
from ixserver.web.routing import Router

router = Router(prefix="/_ixserver")
PREFIX = "/_ixserver/assets/"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
FILES = frozenset(
    ("console.css", "console.js", "docs.js", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")
)
HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


@cache
def content(name: str) -> bytes:
    """A packaged file, read once per process."""
    return resources.files("ixserver.api").joinpath("assets", *name.split("/")).read_bytes()


@router.get("/assets/{name:path}")
async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in FILES:
        raise NotFound()
    return Response(content(name), media_type=MEDIA_TYPES[name[name.rfind(".") :]], headers=HEADERS)
