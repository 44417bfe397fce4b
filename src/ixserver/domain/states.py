"""Document states and the transitions `change-state` allows (api-v2 §4.6, §15)."""

from __future__ import annotations

from ixserver.domain.errors import InvalidState, InvalidTransition

DRAFT, FINAL, SETTLED, CANCELED, DELETED = "draft", "final", "settled", "canceled", "deleted"
ACCEPTED, REFUSED = "accepted", "refused"  # estimates the client answered (api-v2 §5.4)
ISSUED = (FINAL, SETTLED, CANCELED, ACCEPTED, REFUSED)  # states of a numbered document
LIVE = (FINAL, SETTLED)  # issued and not canceled: what corrections count and block on

# event -> {current status -> new status}, for every invoice-family type
_COMMON: dict[str, dict[str, str]] = {
    "finalized": {DRAFT: FINAL},
    "deleted": {DRAFT: DELETED},
    "canceled": {FINAL: CANCELED},
    "settled": {FINAL: SETTLED},
}
# rows of the table that apply to one type only
_ONLY: dict[str, dict[str, dict[str, str]]] = {
    "invoice_receipt": {"finalized": {DRAFT: SETTLED}, "canceled": {FINAL: CANCELED, SETTLED: CANCELED}},
    "credit_note": {"unsettled": {SETTLED: FINAL}},
    "debit_note": {"unsettled": {SETTLED: FINAL}},
}
# Estimates (quotes, pro-formas, fees notes): the client accepts or refuses them, and nothing
# settles them (api-v2 §5.4).
_ESTIMATES: dict[str, dict[str, str]] = {
    "finalized": {DRAFT: FINAL},
    "deleted": {DRAFT: DELETED},
    "accepted": {FINAL: ACCEPTED, REFUSED: ACCEPTED},
    "refused": {FINAL: REFUSED, ACCEPTED: REFUSED},
    "canceled": {FINAL: CANCELED, ACCEPTED: CANCELED, REFUSED: CANCELED},
}
ESTIMATES = ("quote", "proforma", "fees_note")
# Guides and purchase orders: issued, then only canceled (api-v2 §6.4, §7).
_ISSUED_THEN_CANCELED: dict[str, dict[str, str]] = {
    "finalized": {DRAFT: FINAL},
    "deleted": {DRAFT: DELETED},
    "canceled": {FINAL: CANCELED},
}
PURCHASE_ORDERS = ("purchase_order",)
# Receipts: issued final by a payment (api-v2 §4.11), then only canceled (§4.12).
RECEIPTS = ("receipt", "vat_moss_receipt")
_RECEIPTS: dict[str, dict[str, str]] = {"canceled": {FINAL: CANCELED}}
GUIDES = ("shipping", "transport", "devolution")
# The spec's table says `accept`/`refuse`, its request enum `accepted`/`refused`: both are taken.
ALIASES = {"accept": "accepted", "refuse": "refused"}
EVENTS = ("finalized", "deleted", "canceled", "settled", "unsettled")  # the invoice family's
ESTIMATE_EVENTS = tuple(_ESTIMATES)


def next_status(doc_type: str, type_name: str, status: str, event: str) -> str:
    """The status `event` takes a document to; an event its family does not know is "Invalid
    state", one it knows but not from this status "CantHandle: <status> for <Type>"."""
    estimate = doc_type in ESTIMATES
    event = ALIASES.get(event, event) if estimate else event
    if estimate:
        table = _ESTIMATES
    elif doc_type in PURCHASE_ORDERS or doc_type in GUIDES:
        table = _ISSUED_THEN_CANCELED
    elif doc_type in RECEIPTS:
        table = _RECEIPTS
    else:
        table = {**_COMMON, **_ONLY.get(doc_type, {})}
    if event not in (ESTIMATE_EVENTS if estimate else EVENTS):
        raise InvalidState()
    target = table.get(event, {}).get(status)
    if target is None:
        raise InvalidTransition(f"CantHandle: {status} for {type_name}")
    return target

