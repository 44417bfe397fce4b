"""The estimates family (api-v2 §5): quotes, pro-formas and fees notes. Their routes are the
family routes of families.py; `GET /estimates.json` lists all three."""

from __future__ import annotations

from ixserver.api.families import register
from ixserver.domain.families import ESTIMATES
from ixserver.web.routing import Router

router = Router()

register(router, ESTIMATES)
