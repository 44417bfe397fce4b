"""A Hypothesis state machine over the document life cycle: create, update, finalize, delete,
cancel, settle, credit. After every step: numbers are gapless per series and type, every chain
verifies, what was issued has not changed, and the list's total counts what is there.

The model knows each document's type, status and total and which credit notes correct which
invoice, so every step knows its answer: a step is refused only with the 422 message the rules
give for that state (api-v2 §4.6, pt-compliance §7), and any other refusal fails the test."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from ixserver.services.verify import verify
from tests.api.invoicing import change, create
from tests.support import Api, LiveServer

FROZEN = ("id", "type", "sequence_number", "atcud", "saft_hash", "date", "sum", "discount", "before_taxes",
          "taxes", "total", "client", "items")  # fmt: skip
quantities = st.integers(min_value=1, max_value=50).map(str)
prices = st.decimals(min_value="0.01", max_value="500", places=4).map(str)
# What change-state allows the issued documents of this machine (api-v2 §4.6), written out:
# (type, status, event) -> new status. Anything else is "CantHandle: <status> for <Type>".
ALLOWED = {
    ("Invoice", "final", "canceled"): "canceled",
    ("Invoice", "final", "settled"): "settled",
    ("InvoiceReceipt", "final", "canceled"): "canceled",
    ("InvoiceReceipt", "settled", "canceled"): "canceled",
    ("InvoiceReceipt", "final", "settled"): "settled",
    ("CreditNote", "final", "canceled"): "canceled",
    ("CreditNote", "final", "settled"): "settled",
}
FINALIZED = {"invoice": "final", "invoice_receipt": "settled", "credit_note": "final"}
CENT = Decimal("0.01")
# The machine's documents are at 0 % VAT (exempt): a note's total is its value, so what is left
# to credit by total and by line value is one boundary. A note takes back a hundredth of a
# Widget at a price that makes its value the amount: the quantity never limits.
REFUND = {"name": "Widget", "description": "Refund", "quantity": "0.01", "tax": {"name": "IVA0"}}
LIVE = ("final", "settled")  # an issued credit note that still counts (not canceled)


class LifeCycle(RuleBasedStateMachine):
    server: LiveServer

    def __init__(self) -> None:
        super().__init__()
        self.api: Api = self.server.account()
        self.drafts: dict[int, str] = {}  # id -> type
        self.issued: dict[int, dict[str, Any]] = {}  # id -> document as issued
        self.status: dict[int, str] = {}
        self.totals: dict[int, Decimal] = {}  # id -> total, as last created, updated or issued
        self.owners: dict[int, int] = {}  # credit note id -> id of the invoice it corrects

    def _items(self, price: str, quantity: str) -> list[dict[str, Any]]:
        return [
            {
                "name": "Widget",
                "description": "Widget",
                "unit_price": price,
                "quantity": quantity,
                "tax": {"name": "IVA0"},
            }
        ]

    @rule(price=prices, quantity=quantities, doc_type=st.sampled_from(["invoice", "invoice_receipt"]))
    def create_draft(self, price: str, quantity: str, doc_type: str) -> None:
        draft = create(self.api, doc_type, items=self._items(price, quantity), tax_exemption="M99")
        self.drafts[draft["id"]] = doc_type
        self.totals[draft["id"]] = _amount(draft["total"])

    @precondition(lambda self: any(self._creditable()))
    @rule(data=st.data(), share=st.sampled_from(["cent", "rest", "over"]))
    def credit(self, data: st.DataObject, share: str) -> None:
        """A credit note of a cent, of what is left to credit now, or of a cent more (0 % VAT, so
        its total is its price): the last two make "what is left" a boundary the machine hits."""
        owner = data.draw(st.sampled_from(sorted(self._creditable())))
        left = self._left_to_credit(owner)
        amount = {"cent": CENT, "rest": left, "over": left + CENT}[share]
        items = [{**REFUND, "unit_price": str(amount * 100)}]
        note = create(self.api, "credit_note", owner_invoice_id=owner, items=items, tax_exemption="M99")
        self.drafts[note["id"]] = "credit_note"
        self.totals[note["id"]] = _amount(note["total"])
        self.owners[note["id"]] = owner

    def _creditable(self) -> list[int]:
        return [i for i, d in self.issued.items() if d["type"] == "Invoice" and self.status[i] == "final"]

    @precondition(lambda self: self.drafts)
    @rule(data=st.data(), quantity=quantities)
    def update_draft(self, data: st.DataObject, quantity: str) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.drafts)))
        doc_type = self.drafts[document_id]
        current = self.api.get(f"/{doc_type}s/{document_id}.json").json()[doc_type]
        # a note's quantity stays a sliver of its invoice's (at least 1): only its value can limit
        current["items"][0]["quantity"] = str(Decimal(quantity) / 10_000) if doc_type == "credit_note" else quantity
        response = self.api.put(f"/{doc_type}s/{document_id}.json", json={doc_type: current})
        assert response.status_code == 200, response.text
        self.totals[document_id] = _amount(response.json()[doc_type]["total"])

    def _live_notes(self, owner: int) -> list[int]:
        return [note for note, of in self.owners.items() if of == owner and self.status.get(note) in LIVE]

    def _left_to_credit(self, owner: int) -> Decimal:
        return _amount(self.issued[owner]["total"]) - sum((self.totals[n] for n in self._live_notes(owner)), Decimal(0))

    def _finalize_refusal(self, document_id: int, doc_type: str) -> str | None:
        """What finalizing this draft must be refused with (correction_problems), or None.
        The machine's credit notes always have an issued owner of type Invoice and of the same
        client; only the owner's later cancellation and the amount left can stand in the way."""
        if doc_type != "credit_note":
            return None
        owner = self.owners[document_id]
        if self.status[owner] == "canceled":
            return "A canceled document can't be corrected"
        left = self._left_to_credit(owner)
        if self.totals[document_id] > left:
            return f"Credit notes can't exceed what is left to credit on the owner invoice ({left:.2f})"
        return None

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def finalize(self, data: st.DataObject) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.drafts)))
        doc_type = self.drafts.pop(document_id)
        refusal = self._finalize_refusal(document_id, doc_type)
        response = change(self.api, doc_type, document_id, "finalized")
        if refusal is not None:
            assert (response.status_code, response.json()) == (422, {"errors": [{"error": refusal}]})
            self.drafts[document_id] = doc_type
            return
        assert response.status_code == 200, response.text
        document = response.json()[doc_type]
        assert document["status"] == FINALIZED[doc_type]
        assert _amount(document["total"]) == self.totals[document_id]
        self.issued[document_id] = document
        self.status[document_id] = document["status"]

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def delete_draft(self, data: st.DataObject) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.drafts)))
        doc_type = self.drafts.pop(document_id)
        assert change(self.api, doc_type, document_id, "deleted").status_code == 200

    @precondition(lambda self: any(s in ("final", "settled") for s in self.status.values()))
    @rule(data=st.data(), event=st.sampled_from(["canceled", "settled"]))
    def move_issued(self, data: st.DataObject, event: str) -> None:
        document_id = data.draw(st.sampled_from(sorted(i for i, s in self.status.items() if s in ("final", "settled"))))
        type_name, status = self.issued[document_id]["type"], self.status[document_id]
        doc_type = _key(type_name)
        target = ALLOWED.get((type_name, status, event))
        if target is None:
            refusal: str | None = f"CantHandle: {status} for {type_name}"
        elif event == "canceled" and self._live_notes(document_id):
            refusal = "The document has credit or debit notes: cancel them first"
        else:
            refusal = None
        response = change(self.api, doc_type, document_id, event, "state machine")
        if refusal is not None:
            assert (response.status_code, response.json()) == (422, {"errors": [{"error": refusal}]})
            return
        assert response.status_code == 200, response.text
        assert response.json()[doc_type]["status"] == target
        self.status[document_id] = target

    @invariant()
    def numbers_gapless_chains_verify_issued_frozen(self) -> None:
        with self.server.db.read() as conn:
            assert verify(conn, self.server.resources.seal_key, self.api.name) == []
        # every document of the machine, as the family's list renders it (as its GET does): one
        # request, not one per document (the machine makes at most one document a step)
        listed = self.api.get("/invoices.json", params={"per_page": 100}).json()
        total = listed["pagination"]["total_entries"]
        assert total == len(self.drafts) + len(self.issued), "the list's total counts every document not deleted"
        assert total <= 100, "one page shows them all"
        shown = {document["id"]: document for document in listed["invoices"]}
        for document_id, issued in self.issued.items():
            now = shown[document_id]
            assert {k: now.get(k) for k in FROZEN} == {k: issued.get(k) for k in FROZEN}
            assert now["status"] == self.status[document_id]


def _amount(value: float) -> Decimal:
    """An amount as the JSON shows it (exact numbers with at most two decimals)."""
    return Decimal(str(value))


def _key(type_name: str) -> str:
    return {"Invoice": "invoice", "InvoiceReceipt": "invoice_receipt", "CreditNote": "credit_note"}[type_name]


def test_life_cycle_state_machine(server: LiveServer) -> None:
    LifeCycle.server = server
    run_state_machine_as_test(
        LifeCycle,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
