"""The change-state table of the invoice family (api-v2 §4.6 and §15), without HTTP.

The expectations are written out here from the spec's table, one row per (event, status) and
one column per type, not derived from domain/families.py: a transition the module adds, drops or
moves to another type fails a cell of this grid.
"""

from __future__ import annotations

import pytest

from ixserver.domain.doctypes import BY_KEY, INVOICE_TYPES
from ixserver.domain.errors import DomainError, InvalidState, InvalidTransition


def next_status(doc_type: str, type_name: str, status: str, event: str) -> str:
    """change-state's rule for a document of `doc_type`: its family's."""
    return BY_KEY[doc_type].family.next_status(doc_type, type_name, status, event)


# The columns of GRID, with the `type` value each shows in "CantHandle: <status> for <Type>".
TYPES = {
    "invoice": "Invoice",
    "invoice_receipt": "InvoiceReceipt",
    "simplified_invoice": "SimplifiedInvoice",
    "credit_note": "CreditNote",
    "debit_note": "DebitNote",
    "vat_moss_invoice": "VatMossInvoice",
    "vat_moss_credit_note": "VatMossCreditNote",
}
STATUSES = ("draft", "final", "settled", "canceled", "deleted")
EVENTS = ("finalized", "deleted", "canceled", "settled", "unsettled")
x = None  # the transition is refused: 422 "CantHandle: <status> for <Type>"

# fmt: off
GRID: list[tuple[str, str, tuple[str | None, ...]]] = [
    # event       status       invoice     inv_receipt  simplified  credit_note debit_note  vat_moss_inv vat_moss_cn
    ("finalized", "draft",    ("final",    "settled",   "final",    "final",    "final",    "final",    "final")),
    ("finalized", "final",    (x,          x,           x,          x,          x,          x,          x)),
    ("finalized", "settled",  (x,          x,           x,          x,          x,          x,          x)),
    ("finalized", "canceled", (x,          x,           x,          x,          x,          x,          x)),
    ("finalized", "deleted",  (x,          x,           x,          x,          x,          x,          x)),
    ("deleted",   "draft",    ("deleted",  "deleted",   "deleted",  "deleted",  "deleted",  "deleted",  "deleted")),
    ("deleted",   "final",    (x,          x,           x,          x,          x,          x,          x)),
    ("deleted",   "settled",  (x,          x,           x,          x,          x,          x,          x)),
    ("deleted",   "canceled", (x,          x,           x,          x,          x,          x,          x)),
    ("deleted",   "deleted",  (x,          x,           x,          x,          x,          x,          x)),
    ("canceled",  "draft",    (x,          x,           x,          x,          x,          x,          x)),
    ("canceled",  "final",    ("canceled", "canceled",  "canceled", "canceled", "canceled", "canceled", "canceled")),
    ("canceled",  "settled",  (x,          "canceled",  x,          x,          x,          x,          x)),
    ("canceled",  "canceled", (x,          x,           x,          x,          x,          x,          x)),
    ("canceled",  "deleted",  (x,          x,           x,          x,          x,          x,          x)),
    ("settled",   "draft",    (x,          x,           x,          x,          x,          x,          x)),
    ("settled",   "final",    ("settled",  "settled",   "settled",  "settled",  "settled",  "settled",  "settled")),
    ("settled",   "settled",  (x,          x,           x,          x,          x,          x,          x)),
    ("settled",   "canceled", (x,          x,           x,          x,          x,          x,          x)),
    ("settled",   "deleted",  (x,          x,           x,          x,          x,          x,          x)),
    ("unsettled", "draft",    (x,          x,           x,          x,          x,          x,          x)),
    ("unsettled", "final",    (x,          x,           x,          x,          x,          x,          x)),
    ("unsettled", "settled",  (x,          x,           x,          "final",    "final",    x,          x)),
    ("unsettled", "canceled", (x,          x,           x,          x,          x,          x,          x)),
    ("unsettled", "deleted",  (x,          x,           x,          x,          x,          x,          x)),
]
# fmt: on

CASES = [
    pytest.param(doc_type, status, event, target, id=f"{doc_type}-{status}-{event}")
    for event, status, targets in GRID
    for doc_type, target in zip(TYPES, targets, strict=True)
]
# Events change-state does not know for the invoice family: the estimates' events, the legacy
# `second_copy`, a wrong case (the API lowercases before asking), an empty one.
UNKNOWN_EVENTS = ("accepted", "refused", "second_copy", "Finalized", "", "archived")


def test_the_grid_covers_every_type_status_and_event() -> None:
    assert set(TYPES) == set(INVOICE_TYPES), "a new invoice-family type needs its column"
    assert {(event, status) for event, status, _ in GRID} == {(e, s) for e in EVENTS for s in STATUSES}
    assert len(GRID) == len(EVENTS) * len(STATUSES)
    assert {key: BY_KEY[key].type_name for key in TYPES} == TYPES


@pytest.mark.parametrize(("doc_type", "status", "event", "target"), CASES)
def test_change_state(doc_type: str, status: str, event: str, target: str | None) -> None:
    type_name = TYPES[doc_type]
    if target is not None:
        assert next_status(doc_type, type_name, status, event) == target
        return
    with pytest.raises(DomainError) as refused:
        next_status(doc_type, type_name, status, event)
    assert type(refused.value) is InvalidTransition
    assert refused.value.messages == [f"CantHandle: {status} for {type_name}"]


@pytest.mark.parametrize("event", UNKNOWN_EVENTS)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("doc_type", TYPES)
def test_an_unknown_event_is_an_invalid_state_whatever_the_document(doc_type: str, status: str, event: str) -> None:
    with pytest.raises(DomainError) as refused:
        next_status(doc_type, TYPES[doc_type], status, event)
    assert type(refused.value) is InvalidState
    assert refused.value.messages == ["Invalid state"]


# Estimates (api-v2 §5.4), written out from the spec's table: (event, status) -> new status,
# the same for quotes, pro-formas and fees notes; anything else is "CantHandle".
ESTIMATE_TABLE = {
    ("finalized", "draft"): "final",
    ("deleted", "draft"): "deleted",
    ("accepted", "final"): "accepted",
    ("refused", "final"): "refused",
    ("canceled", "final"): "canceled",
    ("refused", "accepted"): "refused",
    ("accepted", "refused"): "accepted",
    ("canceled", "accepted"): "canceled",
    ("canceled", "refused"): "canceled",
}
ESTIMATE_TYPES = {"quote": "Quote", "proforma": "Proforma", "fees_note": "FeesNote"}
ESTIMATE_STATUSES = ("draft", "final", "accepted", "refused", "canceled", "deleted")


@pytest.mark.parametrize("doc_type", ESTIMATE_TYPES)
@pytest.mark.parametrize("status", ESTIMATE_STATUSES)
@pytest.mark.parametrize("event", ["finalized", "deleted", "accepted", "refused", "canceled", "accept", "refuse"])
def test_the_estimates_table(doc_type: str, status: str, event: str) -> None:
    spelled = {"accept": "accepted", "refuse": "refused"}.get(event, event)  # both spellings (§5.4)
    target = ESTIMATE_TABLE.get((spelled, status))
    if target is not None:
        assert next_status(doc_type, ESTIMATE_TYPES[doc_type], status, event) == target
    else:
        with pytest.raises(InvalidTransition, match=f"CantHandle: {status} for {ESTIMATE_TYPES[doc_type]}"):
            next_status(doc_type, ESTIMATE_TYPES[doc_type], status, event)


@pytest.mark.parametrize("event", ["settled", "unsettled", "second_copy", ""])
def test_invoice_events_are_unknown_to_estimates(event: str) -> None:
    with pytest.raises(InvalidState):
        next_status("quote", "Quote", "final", event)


# Purchase orders (api-v2 §7: "as guides"): finalized and deleted from a draft, canceled from final.
@pytest.mark.parametrize("status", ["draft", "final", "canceled", "deleted"])
@pytest.mark.parametrize("event", ["finalized", "deleted", "canceled", "settled", "unsettled"])
def test_the_purchase_order_table(status: str, event: str) -> None:
    table = {("finalized", "draft"): "final", ("deleted", "draft"): "deleted", ("canceled", "final"): "canceled"}
    target = table.get((event, status))
    if target is not None:
        assert next_status("purchase_order", "PurchaseOrder", status, event) == target
    else:
        with pytest.raises(InvalidTransition, match=f"CantHandle: {status} for PurchaseOrder"):
            next_status("purchase_order", "PurchaseOrder", status, event)


# Receipts (api-v2 §4.12, §15): issued final by a payment, then only canceled. Any other event
# a receipt is asked for, from any status, is refused.
@pytest.mark.parametrize("doc_type", ["receipt", "vat_moss_receipt"])
@pytest.mark.parametrize("status", ["final", "canceled"])
@pytest.mark.parametrize("event", ["finalized", "deleted", "canceled", "settled", "unsettled"])
def test_the_receipt_table(doc_type: str, status: str, event: str) -> None:
    type_name = BY_KEY[doc_type].type_name
    if (event, status) == ("canceled", "final"):
        assert next_status(doc_type, type_name, status, event) == "canceled"
    else:
        with pytest.raises(InvalidTransition, match=f"CantHandle: {status} for {type_name}"):
            next_status(doc_type, type_name, status, event)
