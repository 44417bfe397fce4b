"""What GET handlers share: pagination (api-v2 §1.12) and cached rendering."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver.web.context import account, context
from ixserver.web.wire import RawJSONResponse, as_int, dumps

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100  # more is clamped to this, not refused


def pagination(request: Request) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (default 10, at most 100) from the query string."""
    page = as_int(request.query_params.get("page"), "page")
    per_page = as_int(request.query_params.get("per_page"), "per_page")
    page = page if page and page > 0 else 1
    per_page = min(per_page, MAX_PER_PAGE) if per_page and per_page > 0 else DEFAULT_PER_PAGE
    return page, per_page


def pagination_block(page: int, per_page: int, total: int) -> dict[str, int]:
    return {
        "total_entries": total,
        "current_page": page,
        "total_pages": math.ceil(total / per_page),
        "per_page": per_page,
    }


async def cached_json(request: Request, build: Callable[[], Any]) -> Response:
    """Render `build()` as JSON, or reuse the body rendered for the same account, path and
    query while the account's data has not changed (web/cache.py)."""
    query = "&".join(
        sorted(p for p in request.scope["query_string"].decode("latin-1").split("&") if not p.startswith("api_key="))
    )
    return RawJSONResponse(
        await context(request).cache.body(account(request).id, (request.scope["path"], query), lambda: dumps(build()))
    )
