"""Purchase orders (api-v2 §7, legacy): a document family of one type, with the family routes
of families.py; `GET /purchase_orders.json` is its list."""

from __future__ import annotations

from ixserver.api.families import register
from ixserver.domain.families import PURCHASE_ORDERS
from ixserver.web.routing import Router

router = Router()

register(router, PURCHASE_ORDERS)
