"""What this server is: the official InvoiceXpress OpenAPI description (api/openapi.yaml,
provenance in api/OPENAPI-SOURCE.md), served unchanged, and Swagger UI over it, its files served
by the app (api/assets.py: offline, under a strict Content-Security-Policy). Both answer in
every mode and need no API key (AuthMiddleware lets them through)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ixserver.api.assets import PREFIX
from ixserver.web.routing import Router

router = Router(prefix="/_ixserver")

OPENAPI_PATH = "/_ixserver/openapi.yaml"
OPENAPI_MEDIA_TYPE = "application/yaml"  # RFC 9512


@cache
def openapi_yaml() -> bytes:
    """The packaged file, read once per process."""
    return resources.files("ixserver.api").joinpath("openapi.yaml").read_bytes()


@router.get("/openapi.yaml")
async def openapi(_request: Request) -> Response:
    return Response(openapi_yaml(), media_type=OPENAPI_MEDIA_TYPE)


# The page loads only the server's own files; its initializer (assets/docs.js) turns "Try it
# out" off: the description's `servers` entry is InvoiceXpress itself, not this server.
DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>InvoiceXpress API v2 (ixserver)</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{PREFIX}swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="{OPENAPI_PATH}"></div>
<script src="{PREFIX}swagger-ui/swagger-ui-bundle.js"></script><script src="{PREFIX}docs.js"></script></body></html>
"""
# Swagger UI draws some icons of its style sheet from data: URLs.
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/docs")
async def docs(_request: Request) -> HTMLResponse:
    return HTMLResponse(DOCS_PAGE, headers=DOCS_HEADERS)
