"""The guides family (api-v2 §6): shippings, transports and devolutions, with the family routes
of families.py; `GET /guides.json` lists all three. Their transport (`loaded_at`, the plate, both
addresses) is read in api/documents.py and answered with `at_doc_code_id`."""

from __future__ import annotations

from ixserver.api.families import register
from ixserver.domain.families import GUIDES
from ixserver.web.routing import Router

router = Router()

register(router, GUIDES)
