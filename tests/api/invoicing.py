"""Helpers for document tests: a valid body, create, finalize."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ixserver import clock
from tests.support import Api

TYPES = [
    "invoice", "invoice_receipt", "simplified_invoice", "credit_note", "debit_note",
    "vat_moss_invoice", "vat_moss_credit_note",
]  # fmt: skip
TYPE_NAMES = {
    "invoice": "Invoice", "invoice_receipt": "InvoiceReceipt", "simplified_invoice": "SimplifiedInvoice",
    "credit_note": "CreditNote", "debit_note": "DebitNote", "vat_moss_invoice": "VatMossInvoice",
    "vat_moss_credit_note": "VatMossCreditNote",
}  # fmt: skip


# A business's identity: what its documents must print of their issuer (CIVA art. 36.5 a), which
# an account needs to issue outside a training series (the sandbox's).
IDENTITY = {
    "organization_name": "Oficina Exemplo, Lda",
    "address": "Rua do Ouro 1",
    "postal_code": "1100-060",
    "city": "Lisboa",
}


def today() -> str:
    return clock.today().strftime("%d/%m/%Y")


def body(**fields: Any) -> dict[str, Any]:
    document = {
        "date": today(),
        "due_date": today(),
        "client": {"name": "Cliente Exemplo", "code": "C1"},
        "items": [
            {
                "name": "Pencil",
                "description": "The best pencil",
                "unit_price": "2.0244",
                "quantity": "1",
                "tax": {"name": "IVA23"},
            }
        ],
        **fields,
    }
    return document


def vat_moss(api: Api, **client: Any) -> dict[str, Any]:
    """What a VAT MOSS document needs: a consumer in another EU country (France) and that
    country's VAT (a tax FR20 of region FR, created once per account)."""
    api.post("/taxes.json", json={"tax": {"name": "FR20", "value": "20", "region": "FR"}})  # 422 once it exists
    line = {"name": "Ebook", "description": "An ebook", "unit_price": "10", "quantity": 1, "tax": {"name": "FR20"}}
    return {"client": {"name": "Client Paris", "code": "FR1", "country": "France", **client}, "items": [line]}


def create(api: Api, doc_type: str = "invoice", root: str | None = None, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/{doc_type}s.json", json={root or doc_type: body(**fields)})
    assert response.status_code == 201, response.text
    return response.json()[doc_type]


def change(api: Api, doc_type: str, document_id: int, state: str, message: str | None = None) -> httpx.Response:
    payload: dict[str, Any] = {"state": state}
    if message is not None:
        payload["message"] = message
    return api.put(f"/{doc_type}s/{document_id}/change-state.json", json={doc_type: payload})


def finalize(api: Api, doc_type: str, document_id: int) -> dict[str, Any]:
    response = change(api, doc_type, document_id, "finalized")
    assert response.status_code == 200, response.text
    return response.json()[doc_type]


def issue(api: Api, doc_type: str = "invoice", **fields: Any) -> dict[str, Any]:
    return finalize(api, doc_type, create(api, doc_type, **fields)["id"])


def credit_note_for(api: Api, invoice: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
    """A credit note taking back `amount` (before VAT) of the invoice's first line, at its rate:
    a hundredth of a unit, so that the quantity never limits how many notes the line takes."""
    line = invoice["items"][0]
    items = [{"name": line["name"], "description": "Refund", "unit_price": str(Decimal(amount) * 100),
              "quantity": "0.01", "tax": {"name": line["tax"]["name"]}}]  # fmt: skip
    fields = {
        "owner_invoice_id": invoice["id"],
        "items": items,
        "tax_exemption": invoice.get("tax_exemption") or "M99",
        **fields,
    }
    return create(
        api, "credit_note", client={"name": invoice["client"]["name"], "code": invoice["client"]["code"]}, **fields
    )
