"""What this server is: the official InvoiceXpress OpenAPI description (api/openapi.yaml,
provenance in api/OPENAPI-SOURCE.md), served unchanged, and Swagger UI over it. Both answer in
every mode and need no API key (AuthMiddleware lets /_ixserver/ paths through)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

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


@router.get("/docs")
async def docs(_request: Request) -> HTMLResponse:
    # The description's `servers` entry is InvoiceXpress itself, not this server: "Try it out"
    # would send the caller's api_key there, so the page is for reading only.
    return get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title="InvoiceXpress API v2 (ixserver)",
        swagger_ui_parameters={"supportedSubmitMethods": []},
    )
