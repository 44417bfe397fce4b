"""A sale walked end to end over HTTP (issue 12): a quote accepted, the invoice, two partial
payments that settle it, one payment cancelled and the invoice final again — the client's
current account (api-v2 §12) checked at every step, and `ixserver verify` clean at the end."""

from __future__ import annotations

from typing import Any

from tests.api.invoicing import change, create, finalize
from tests.support import Api, LiveServer

CLIENT = {"name": "Mercearia Sol", "code": "SOL", "fiscal_id": "508025338", "country": "Portugal"}
LINES = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "20", "quantity": "4", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "20", "quantity": "1", "tax": {"name": "IVA6"}},
]  # 80 + 18.40 VAT, 20 + 1.20 VAT: 100.00 before taxes, 119.60 in all


def balance(api: Api, client_id: int) -> tuple[float, float, float]:
    response = api.get(f"/api/v3/clients/{client_id}/balance.json")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found["balance"]["with_vat"], found["balance"]["without_vat"], found["overdue_balance"]["with_vat"]


def pay(api: Api, invoice_id: int, amount: str, mechanism: str) -> dict[str, Any]:
    payment = {"amount": amount, "payment_mechanism": mechanism, "note": f"{mechanism} {amount}"}
    response = api.post(f"/documents/{invoice_id}/partial_payments.json", json={"partial_payment": payment})
    assert response.status_code == 200, response.text
    return dict(response.json()["receipt"])


def status(api: Api, invoice_id: int) -> str:
    return str(api.get(f"/invoices/{invoice_id}.json").json()["invoice"]["status"])


def test_a_sale_from_quote_to_payments_and_back(server: LiveServer, api: Api) -> None:
    from ixserver.services.verify import verify

    quote = finalize(api, "quote", create(api, "quote", client=CLIENT, items=LINES)["id"])
    client_id = quote["client"]["id"]
    assert balance(api, client_id) == (0, 0, 0), "a quote is not owed"
    accepted = change(api, "quote", quote["id"], "accepted")
    assert accepted.json()["quote"]["status"] == "accepted"
    assert balance(api, client_id) == (0, 0, 0)

    invoice = finalize(
        api, "invoice", create(api, "invoice", client=CLIENT, items=LINES, reference=quote["sequence_number"])["id"]
    )
    assert (invoice["total"], invoice["status"]) == (119.6, "final")
    assert balance(api, client_id) == (119.6, 100.0, 0)

    first = pay(api, invoice["id"], "60.00", "MB")
    assert status(api, invoice["id"]) == "final"
    assert balance(api, client_id) == (59.6, 49.83, 0)  # 59.60 × 100/119.60, to the cent

    second = pay(api, invoice["id"], "59.60", "TB")
    assert status(api, invoice["id"]) == "settled"
    assert balance(api, client_id) == (0, 0, 0)
    assert [first["sequence_number"][0], second["sequence_number"][0]] == ["1", "2"]

    canceled = api.put(
        f"/receipts/{second['id']}/change-state.json",
        json={"receipt": {"state": "canceled", "message": "Bounced transfer"}},
    )
    assert canceled.status_code == 200, canceled.text
    assert status(api, invoice["id"]) == "final"
    assert balance(api, client_id) == (59.6, 49.83, 0)

    documents = api.post(f"/clients/{client_id}/invoices.json", json={}).json()["invoices"]
    assert sorted((d["type"], d["status"]) for d in documents) == [
        ("Invoice", "final"),
        ("Receipt", "canceled"),
        ("Receipt", "final"),
    ]
    related = api.get(f"/document/{invoice['id']}/related_documents.json").json()["documents"]
    assert sorted(d["id"] for d in related) == sorted([first["id"], second["id"]])
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []


def test_a_paid_sale_refunded(server: LiveServer, api: Api) -> None:
    """Goods back after payment: a credit note leaves the client in credit until the money goes
    back (a Reimbursement); an invoice-receipt refunded alike."""
    from ixserver.services.verify import verify

    invoice = finalize(api, "invoice", create(api, "invoice", client=CLIENT, items=LINES)["id"])
    client_id = invoice["client"]["id"]
    pay(api, invoice["id"], "119.60", "NU")
    assert (status(api, invoice["id"]), balance(api, client_id)) == ("settled", (0, 0, 0))
    refund = [{**LINES[1], "description": "Returned"}]  # the book: 21.20
    note = create(api, "credit_note", client=CLIENT, items=refund, owner_invoice_id=invoice["id"])
    finalize(api, "credit_note", note["id"])
    assert balance(api, client_id) == (-21.2, -17.73, 0), "owed back to the client"
    movement = {"value": "21.20", "movement_type": "Reimbursement", "payment_method": "NU", "date": "2026-12-01"}
    assert (
        api.post(
            f"/api/v3/clients/{client_id}/treasury_movements.json", json={"treasury_movement": movement}
        ).status_code
        == 201
    )
    assert balance(api, client_id) == (0, 3.47, 0)

    sold = finalize(api, "invoice_receipt", create(api, "invoice_receipt", client=CLIENT, items=LINES[1:])["id"])
    assert balance(api, client_id)[0] == 0, "an invoice-receipt is paid when issued"
    back = create(api, "credit_note", client=CLIENT, items=refund, owner_invoice_id=sold["id"])
    finalize(api, "credit_note", back["id"])
    assert balance(api, client_id)[0] == -21.2
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []
