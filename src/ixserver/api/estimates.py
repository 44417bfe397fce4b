"""The estimates family (api-v2 §5): quotes, pro-formas and fees notes. Their routes are the
family routes of families.py; `GET /estimates.json` lists all three."""

from __future__ import annotations

from ixserver.api.families import register
from ixserver.api.routing import Router
from ixserver.domain.families import ESTIMATES

router = Router()

register(router, ESTIMATES)
