"""Document states (api-v2 §4.6, §15); the transitions between them are each family's
(`domain/families.py`)."""

from __future__ import annotations

DRAFT, FINAL, SETTLED, CANCELED, DELETED = "draft", "final", "settled", "canceled", "deleted"
ACCEPTED, REFUSED = "accepted", "refused"  # estimates the client answered (api-v2 §5.4)
ISSUED = (FINAL, SETTLED, CANCELED, ACCEPTED, REFUSED)  # states of a numbered document
LIVE = (FINAL, SETTLED)  # issued and not canceled: what corrections count and block on
