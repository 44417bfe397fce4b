"""Document states and the transitions `change-state` allows (api-v2 §4.6, §15)."""

from __future__ import annotations

from ixserver.domain.errors import InvalidState, InvalidTransition

DRAFT, FINAL, SETTLED, CANCELED, DELETED = "draft", "final", "settled", "canceled", "deleted"
ISSUED = (FINAL, SETTLED, CANCELED)  # states of a numbered document
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
EVENTS = ("finalized", "deleted", "canceled", "settled", "unsettled")


def next_status(doc_type: str, type_name: str, status: str, event: str) -> str:
    if event not in EVENTS:
        raise InvalidState()
    table = {**_COMMON, **_ONLY.get(doc_type, {})}
    target = table.get(event, {}).get(status)
    if target is None:
        raise InvalidTransition(f"CantHandle: {status} for {type_name}")
    return target

