"""Payments (api-v2 §4.11–4.12): a partial payment issues a receipt (numbered in the receipt
counter, ATCUD, not signed), settles the document when nothing is left open, and refuses what
would over-pay or pay what can't be paid; cancelling the receipt returns the document to final.
Receipts are read and listed like the other documents."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ixserver import clock
from tests.api.invoicing import change, create, credit_note_for, finalize, issue, vat_moss
from tests.support import Api, LiveServer

LINE = {"name": "Chair", "description": "Oak chair", "unit_price": "100", "quantity": "1", "tax": {"name": "IVA23"}}


def pay(api: Api, document_id: int, amount: Any, **fields: Any) -> httpx.Response:
    payment = {"payment_mechanism": "TB", "amount": amount, **fields}
    return api.post(f"/documents/{document_id}/partial_payments.json", json={"partial_payment": payment})


def receipt_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["receipt"]


def cancel(
    api: Api, receipt_id: int, message: str | None = "Wrong payment values.", state: str = "canceled"
) -> httpx.Response:
    payload = {"state": state} if message is None else {"state": state, "message": message}
    return api.put(f"/receipts/{receipt_id}/change-state.json", json={"receipt": payload})


def status_of(api: Api, doc_type: str, document_id: int) -> str:
    return api.get(f"/{doc_type}s/{document_id}.json").json()[doc_type]["status"]


def test_two_payments_settle_an_invoice(api: Api) -> None:
    invoice = issue(api, items=[LINE])  # 123.00
    serie = api.get("/sequences.json").json()["sequences"][0]
    first = receipt_of(pay(api, invoice["id"], 100, note="First half", payment_date=clock.today().strftime("%d/%m/%Y")))
    assert (first["type"], first["status"], first["sequence_number"]) == ("Receipt", "final", f"1/{serie['serie']}")
    assert first["atcud"].endswith("-1") and first["atcud"] not in ("N/A", "N/D")
    assert first["saft_hash"] == "", "receipts are not signed: no hash characters, in the documented string"
    assert list(first)[list(first).index("permalink") + 1] == "saft_hash", "where every document has it"
    assert (first["total"], first["observations"], first["payment_mechanism"]) == (100.0, "First half", "TB")
    assert first["owner_invoice_id"] == invoice["id"] and first["client"]["name"] == invoice["client"]["name"]
    assert first["before_taxes"] + first["taxes"] == pytest.approx(100.0)
    assert status_of(api, "invoice", invoice["id"]) == "final"

    second = receipt_of(pay(api, invoice["id"], "23.00", payment_mechanism="MB"))
    assert second["sequence_number"] == f"2/{serie['serie']}"
    assert status_of(api, "invoice", invoice["id"]) == "settled"
    # the receipts add up to the invoice exactly
    assert Decimal(str(first["before_taxes"])) + Decimal(str(second["before_taxes"])) == Decimal("100")
    assert Decimal(str(first["taxes"])) + Decimal(str(second["taxes"])) == Decimal("23")
    counters = api.get(f"/sequences/{serie['id']}.json").json()["sequence"]
    assert (counters["current_receipt_number"], counters["current_invoice_number"]) == (2, 1)

    assert api.get(f"/receipts/{first['id']}.json").json() == {"receipt": first}
    assert api.get(f"/invoices/{first['id']}.json").status_code == 404, "a receipt is not an invoice"
    listed = api.get("/receipts.json").json()
    assert [r["id"] for r in listed["receipts"]] == [second["id"], first["id"]] and listed["pagination"][
        "total_entries"
    ] == 2
    in_invoices = api.get("/invoices.json", params={"type[]": "Receipt"}).json()["invoices"]
    assert sorted(r["id"] for r in in_invoices) == sorted([first["id"], second["id"]])
    both = api.get("/invoices.json", params={"type[]": ["Receipt", "Invoice"]}).json()["invoices"]
    assert len(both) == 3
    assert invoice["id"] in [d["id"] for d in api.get("/invoices.json").json()["invoices"]]
    assert first["id"] not in [d["id"] for d in api.get("/invoices.json").json()["invoices"]], (
        "receipts only when asked"
    )
    related = api.get(f"/document/{invoice['id']}/related_documents.json").json()["documents"]
    assert sorted(d["id"] for d in related) == sorted([first["id"], second["id"]])
    assert [d["id"] for d in api.get(f"/document/{first['id']}/related_documents.json").json()["documents"]] == [
        invoice["id"]
    ]
    client_docs = api.post(f"/clients/{invoice['client']['id']}/invoices.json", json={}).json()["invoices"]
    assert {d["type"] for d in client_docs} == {"Invoice", "Receipt"}
    only_receipts = api.post(
        f"/clients/{invoice['client']['id']}/invoices.json", json={"filter": {"by_type": ["Receipt"]}}
    )
    assert {d["type"] for d in only_receipts.json()["invoices"]} == {"Receipt"}


def test_the_dotnet_client_pays_with_a_get_and_a_json_body(api: Api) -> None:
    """filipetoscano/invoice-express sends `GET /documents/{id}/partial_payments.json` with the
    payment as a JSON body, and its payment test passes against the real service (api-v2 §1.3)."""
    invoice = issue(api, items=[LINE])
    path = f"/documents/{invoice['id']}/partial_payments.json"
    without = api.get(path)
    assert (without.status_code, without.json()) == (
        422,
        {"errors": [{"error": "Elemento partial_payment não fornecido"}]},
    )
    payment = {
        "partial_payment": {
            "amount": "123",
            "payment_mechanism": "NU",
            "payment_date": clock.today().strftime("%d/%m/%Y"),
        }
    }
    receipt = receipt_of(api.request("GET", path, json=payment))
    assert (receipt["type"], receipt["total"], receipt["payment_mechanism"]) == ("Receipt", 123.0, "NU")
    assert status_of(api, "invoice", invoice["id"]) == "settled"
    assert api.get(f"/receipts/{receipt['id']}.json").json() == {"receipt": receipt}


def test_payments_that_are_refused_change_nothing(api: Api) -> None:
    invoice = issue(api, items=[LINE])
    serie = api.get("/sequences.json").json()["sequences"][0]
    refusals = {
        "over": pay(api, invoice["id"], "123.01"),
        "zero": pay(api, invoice["id"], 0),
        "negative": pay(api, invoice["id"], "-5"),
        "blank": pay(api, invoice["id"], None),
        "text": pay(api, invoice["id"], "ten"),
        "cents": pay(api, invoice["id"], "10.001"),
        "future": pay(api, invoice["id"], 10, payment_date=(clock.today() + timedelta(days=1)).strftime("%d/%m/%Y")),
        "series": pay(api, invoice["id"], 10, serie="NOPE"),
    }
    assert {name: r.status_code for name, r in refusals.items()} == dict.fromkeys(refusals, 422)
    assert refusals["over"].json() == {
        "errors": [{"error": "Amount can't be greater than the amount left to pay (123.00)"}]
    }
    assert refusals["blank"].json() == {"errors": [{"error": "Amount can't be blank"}]}
    assert refusals["series"].json() == {"errors": [{"error": "Serie NOPE doesn't exist"}]}
    mechanism = pay(api, invoice["id"], 10, payment_mechanism="XX")
    assert (mechanism.status_code, mechanism.json()) == (422, ["payment_mechanism", "is invalid"]), (
        "shape E (api-v2 §4.11)"
    )
    assert api.post(f"/documents/{invoice['id']}/partial_payments.json", json={}).status_code == 422
    assert pay(api, 999_999_999, 10).status_code == 404
    assert api.get(f"/sequences/{serie['id']}.json").json()["sequence"]["current_receipt_number"] == 0
    assert api.get("/receipts.json").json()["receipts"] == []
    assert status_of(api, "invoice", invoice["id"]) == "final"


def test_what_cannot_be_paid(api: Api) -> None:
    old = issue(api, items=[LINE], date=(clock.today() - timedelta(days=3)).strftime("%d/%m/%Y"))
    before = (clock.today() - timedelta(days=4)).strftime("%d/%m/%Y")
    assert pay(api, old["id"], 1, payment_date=before).json() == {
        "errors": [{"error": f"Payment date can't be before the document's date ({old['date']})"}]
    }
    draft = create(api, items=[LINE])
    assert pay(api, draft["id"], 1).json() == {
        "errors": [{"error": "The document must be finalized before it can be paid"}]
    }
    canceled = issue(api, items=[LINE])
    assert change(api, "invoice", canceled["id"], "canceled", "wrong client").status_code == 200
    assert pay(api, canceled["id"], 1).json() == {"errors": [{"error": "A canceled document can't be paid"}]}
    invoice_receipt = issue(api, "invoice_receipt", items=[LINE])
    assert invoice_receipt["status"] == "settled", "paid at issue"
    assert pay(api, invoice_receipt["id"], 1).json() == {
        "errors": [
            {"error": "Payments are only possible on invoices, simplified invoices, debit notes and VAT MOSS invoices"}
        ]
    }
    settled = issue(api, items=[LINE])
    assert change(api, "invoice", settled["id"], "settled").status_code == 200
    assert pay(api, settled["id"], 1).json() == {
        "errors": [{"error": "The document is settled: there is nothing left to pay"}]
    }
    quote = finalize(api, "quote", create(api, "quote", items=[LINE])["id"])
    invoice = issue(api, items=[LINE])
    note = finalize(api, "credit_note", credit_note_for(api, invoice, "10")["id"])
    for document in (quote, note):
        assert pay(api, document["id"], 1).status_code == 422


def test_a_credit_note_lowers_what_is_left_to_pay(api: Api) -> None:
    invoice = issue(api, items=[LINE])  # 123.00
    finalize(api, "credit_note", credit_note_for(api, invoice, "10")["id"])  # 12.30 back
    assert pay(api, invoice["id"], "110.71").status_code == 422
    receipt_of(pay(api, invoice["id"], "110.70"))
    assert status_of(api, "invoice", invoice["id"]) == "settled"


def test_a_withholding_is_not_paid_to_the_issuer(api: Api) -> None:
    invoice = issue(api, items=[LINE], retention="25")  # 123.00, 25.00 withheld: 98.00 to pay
    assert pay(api, invoice["id"], "98.01").status_code == 422
    first = receipt_of(pay(api, invoice["id"], "49"))
    second = receipt_of(pay(api, invoice["id"], "49"))
    assert status_of(api, "invoice", invoice["id"]) == "settled"
    for receipt in (first, second):
        assert Decimal(str(receipt["total"])) == Decimal("61.50")  # half of the invoice, withholding included
    assert Decimal(str(first["before_taxes"])) + Decimal(str(second["before_taxes"])) == Decimal("100")


def test_cancelling_a_payment_returns_the_invoice_to_final(server: LiveServer, api: Api) -> None:
    from ixserver.services.verify import verify

    invoice = issue(api, items=[LINE])
    first = receipt_of(pay(api, invoice["id"], 100))
    second = receipt_of(pay(api, invoice["id"], 23))
    assert status_of(api, "invoice", invoice["id"]) == "settled"
    refused = change(api, "invoice", invoice["id"], "canceled", "wrong")
    assert refused.status_code == 422, "settled: cancel its payments first"
    assert cancel(api, second["id"], message=None).json() == {"errors": [{"error": "Cancel message can't be blank"}]}
    assert cancel(api, second["id"], state="finalized").status_code == 422
    canceled = cancel(api, second["id"])
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["receipt"]["status"], canceled.json()["receipt"]["id"]) == ("canceled", second["id"])
    assert canceled.json()["receipt"]["saft_hash"] == ""
    assert status_of(api, "invoice", invoice["id"]) == "final"
    again = cancel(api, second["id"])
    assert again.json() == {"errors": [{"error": "CantHandle: canceled for Receipt"}]}
    assert cancel(api, invoice["id"]).status_code == 404, "only receipts are canceled here"
    assert cancel(api, 999_999_999).status_code == 404
    # the invoice can't be canceled while a payment stands
    assert change(api, "invoice", invoice["id"], "canceled", "wrong").json() == {
        "errors": [{"error": "The document has receipts: cancel its payments first"}]
    }
    third = receipt_of(pay(api, invoice["id"], 23))
    assert third["sequence_number"].startswith("3/"), "a canceled receipt keeps its number"
    assert status_of(api, "invoice", invoice["id"]) == "settled"
    assert cancel(api, first["id"]).status_code == 200 and cancel(api, third["id"]).status_code == 200
    assert change(api, "invoice", invoice["id"], "canceled", "wrong").status_code == 200
    canceled_list = api.get("/receipts.json", params={"status[]": "canceled"}).json()["receipts"]
    assert len(canceled_list) == 3
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []


def test_receipts_in_a_named_series_and_vat_moss(api: Api) -> None:
    created = api.post("/sequences.json", json={"sequence": {"serie": "LOJA"}})
    assert created.status_code == 201, created.text
    sequence_id = created.json()["sequence"]["id"]
    assert api.put(f"/sequences/{sequence_id}/register.json").status_code in (200, 409)  # the sandbox registers at once
    invoice = issue(api, items=[LINE])
    receipt = receipt_of(pay(api, invoice["id"], 10, serie="LOJA"))
    assert receipt["sequence_number"] == "1/LOJA"

    moss = issue(api, "vat_moss_invoice", **vat_moss(api))
    moss_receipt = receipt_of(pay(api, moss["id"], moss["total"]))
    assert (moss_receipt["type"], moss_receipt["atcud"], moss_receipt["saft_hash"]) == ("VatMossReceipt", "N/A", "")
    assert status_of(api, "vat_moss_invoice", moss["id"]) == "settled"
    assert (
        api.get(f"/vat_moss_receipts/{moss_receipt['id']}.json").json()["vat_moss_receipt"]["id"] == moss_receipt["id"]
    )
    assert [r["id"] for r in api.get("/vat_moss_receipts.json").json()["vat_moss_receipts"]] == [moss_receipt["id"]]
    canceled = api.put(
        f"/vat_moss_receipts/{moss_receipt['id']}/change-state.json",
        json={"receipt": {"state": "canceled", "message": "x"}},
    )
    assert canceled.status_code == 200 and status_of(api, "vat_moss_invoice", moss["id"]) == "final"


def test_a_debit_note_and_a_simplified_invoice_are_paid_too(api: Api) -> None:
    simplified = issue(api, "simplified_invoice", items=[{**LINE, "unit_price": "50"}])
    receipt_of(pay(api, simplified["id"], simplified["total"]))
    assert status_of(api, "simplified_invoice", simplified["id"]) == "settled"
    invoice = issue(api, items=[LINE])
    buyer = {"name": invoice["client"]["name"], "code": invoice["client"]["code"]}
    draft = create(api, "debit_note", owner_invoice_id=invoice["id"], items=[LINE], client=buyer)
    debit = finalize(api, "debit_note", draft["id"])
    receipt_of(pay(api, debit["id"], 1))
    assert status_of(api, "debit_note", debit["id"]) == "final"
