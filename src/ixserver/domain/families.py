"""The document families (api-v2 §2, §4–§7): what the types of a family share. Its types name
it in `doctypes.DOC_TYPES`; its record here says the rest: the list of all its types, the body
roots its requests may use, its transitions (`change-state`), how a draft's due date defaults,
whether it carries a transport, and what its PDF prints. A new family is a record here, its
types, and thin routes (`api/families.register`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ixserver.domain.errors import InvalidState, InvalidTransition
from ixserver.domain.states import ACCEPTED, CANCELED, DELETED, DRAFT, FINAL, REFUSED, SETTLED

Transitions = dict[str, dict[str, str]]  # event -> {current status -> new status}

# The events of change-state that every family but the estimates knows: one it does not apply
# is "CantHandle", one nobody knows "Invalid state" (api-v2 §4.6).
EVENTS = ("finalized", "deleted", "canceled", "settled", "unsettled")
_ISSUED_THEN_CANCELED: Transitions = {
    "finalized": {DRAFT: FINAL},
    "deleted": {DRAFT: DELETED},
    "canceled": {FINAL: CANCELED},
}


@dataclass(frozen=True, eq=False)
class Family:
    name: str  # as the spec names its list of every type: GET /{name}.json
    transitions: Transitions
    events: tuple[str, ...] = EVENTS  # the events it knows
    aliases: dict[str, str] = field(default_factory=dict)  # other names of its events
    of_type: dict[str, Transitions] = field(default_factory=dict)  # rows of one type only
    root_keys: tuple[str, ...] = ()  # body roots of any of its types, besides the type's own key
    validity_days: int = 0  # a draft's due date, without one, this many days after its date
    moves_goods: bool = False  # a guide: a transport AT is told of (load, plate, addresses)
    delivers: bool = False  # a purchase order: a delivery date and site
    due_label: str | None = "due_date"  # what its PDF calls the due date; None: it prints none
    receipt: bool = False  # issued by a payment: its PDF shows what was paid

    @property
    def transported(self) -> bool:
        return self.moves_goods or self.delivers

    def next_status(self, doc_type: str, type_name: str, status: str, event: str) -> str:
        """The status `event` takes a document of `doc_type` to; an event the family does not
        know is "Invalid state", one it knows but not from this status "CantHandle: <status>
        for <Type>"."""
        event = self.aliases.get(event, event)
        if event not in self.events:
            raise InvalidState()
        target = {**self.transitions, **self.of_type.get(doc_type, {})}.get(event, {}).get(status)
        if target is None:
            raise InvalidTransition(f"CantHandle: {status} for {type_name}")
        return target


INVOICES = Family(
    "invoices",
    {
        "finalized": {DRAFT: FINAL},
        "deleted": {DRAFT: DELETED},
        "canceled": {FINAL: CANCELED},
        "settled": {FINAL: SETTLED},
    },
    of_type={
        "invoice_receipt": {"finalized": {DRAFT: SETTLED}, "canceled": {FINAL: CANCELED, SETTLED: CANCELED}},
        "credit_note": {"unsettled": {SETTLED: FINAL}},
        "debit_note": {"unsettled": {SETTLED: FINAL}},
    },
    root_keys=("invoice",),
)
# Receipts: issued final by a payment (api-v2 §4.11), then only canceled (§4.12); listed with
# the invoices.
RECEIPTS = Family("receipts", {"canceled": {FINAL: CANCELED}}, due_label=None, receipt=True)
# Estimates: the client accepts or refuses them, and nothing settles them (api-v2 §5.4); the
# spec's table says `accept`/`refuse`, its request enum `accepted`/`refused`: both are taken.
_ESTIMATE_TRANSITIONS: Transitions = {
    "finalized": {DRAFT: FINAL},
    "deleted": {DRAFT: DELETED},
    "accepted": {FINAL: ACCEPTED, REFUSED: ACCEPTED},
    "refused": {FINAL: REFUSED, ACCEPTED: REFUSED},
    "canceled": {FINAL: CANCELED, ACCEPTED: CANCELED, REFUSED: CANCELED},
}
ESTIMATES = Family(
    "estimates",
    _ESTIMATE_TRANSITIONS,
    events=tuple(_ESTIMATE_TRANSITIONS),
    aliases={"accept": "accepted", "refuse": "refused"},
    root_keys=("quote", "estimate"),
    validity_days=30,  # an estimate's due date is its validity (api-v2 §5.2)
    due_label="valid_until",
)
# Guides and purchase orders: issued, then only canceled (api-v2 §6.4, §7).
GUIDES = Family("guides", _ISSUED_THEN_CANCELED, root_keys=("shipping", "guide"), moves_goods=True)
PURCHASE_ORDERS = Family("purchase_orders", _ISSUED_THEN_CANCELED, delivers=True)
