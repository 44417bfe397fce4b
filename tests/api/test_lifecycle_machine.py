"""A Hypothesis state machine over the document life cycle: create, update, finalize, delete,
cancel, settle, credit. After every step: numbers are gapless per series and type, every chain
verifies, what was issued has not changed, and the list's total counts what is there."""

from __future__ import annotations

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


class LifeCycle(RuleBasedStateMachine):
    server: LiveServer

    def __init__(self) -> None:
        super().__init__()
        self.api: Api = self.server.account()
        self.drafts: dict[int, str] = {}  # id -> type
        self.issued: dict[int, dict[str, Any]] = {}  # id -> document as issued
        self.status: dict[int, str] = {}

    def _items(self, price: str, quantity: str) -> list[dict[str, Any]]:
        return [{"name": "Widget", "description": "Widget", "unit_price": price, "quantity": quantity}]

    @rule(price=prices, quantity=quantities, doc_type=st.sampled_from(["invoice", "invoice_receipt"]))
    def create_draft(self, price: str, quantity: str, doc_type: str) -> None:
        draft = create(self.api, doc_type, items=self._items(price, quantity))
        self.drafts[draft["id"]] = doc_type

    @precondition(lambda self: any(self._creditable()))
    @rule(data=st.data())
    def credit(self, data: st.DataObject) -> None:
        owner = data.draw(st.sampled_from(sorted(self._creditable())))
        items = [{"name": "Refund", "description": "Refund", "unit_price": "0.01", "quantity": "1"}]
        note = create(self.api, "credit_note", owner_invoice_id=owner, items=items)
        self.drafts[note["id"]] = "credit_note"

    def _creditable(self) -> list[int]:
        return [i for i, d in self.issued.items() if d["type"] == "Invoice" and self.status[i] == "final"]

    @precondition(lambda self: self.drafts)
    @rule(data=st.data(), quantity=quantities)
    def update_draft(self, data: st.DataObject, quantity: str) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.drafts)))
        doc_type = self.drafts[document_id]
        current = self.api.get(f"/{doc_type}s/{document_id}.json").json()[doc_type]
        current["items"][0]["quantity"] = quantity
        response = self.api.put(f"/{doc_type}s/{document_id}.json", json={doc_type: current})
        assert response.status_code == 200, response.text

    @precondition(lambda self: self.drafts)
    @rule(data=st.data())
    def finalize(self, data: st.DataObject) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.drafts)))
        doc_type = self.drafts.pop(document_id)
        response = change(self.api, doc_type, document_id, "finalized")
        if response.status_code == 422:  # e.g. a credit note above what is left to credit
            self.drafts[document_id] = doc_type
            return
        assert response.status_code == 200, response.text
        document = response.json()[doc_type]
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
        doc_type = _key(self.issued[document_id]["type"])
        response = change(self.api, doc_type, document_id, event, "state machine")
        if response.status_code == 200:
            self.status[document_id] = response.json()[doc_type]["status"]
        else:
            assert response.status_code == 422

    @invariant()
    def numbers_gapless_chains_verify_issued_frozen(self) -> None:
        with self.server.db.read() as conn:
            assert verify(conn, self.api.name) == []
        for document_id, issued in self.issued.items():
            doc_type = _key(issued["type"])
            now = self.api.get(f"/{doc_type}s/{document_id}.json").json()[doc_type]
            assert {k: now.get(k) for k in FROZEN} == {k: issued.get(k) for k in FROZEN}
            assert now["status"] == self.status[document_id]
        listed = self.api.get("/invoices.json").json()["pagination"]["total_entries"]
        assert listed == len(self.drafts) + len(self.issued), "the list's total counts every document not deleted"


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
