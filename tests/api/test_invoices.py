"""The invoice family's life cycle (api-v2 §3, §4.1–4.6, §4.10, §8.2; clients.md §4)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import text

from ixserver import clock
from ixserver.domain import signing
from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.vat_moss import rates_of
from ixserver.services.verify import verify
from ixserver.store.documents import document_by_token
from tests.api.invoicing import (
    IDENTITY,
    TYPE_NAMES,
    TYPES,
    body,
    change,
    create,
    credit_note_for,
    finalize,
    issue,
    today,
    vat_moss,
)
from tests.support import Api, LiveServer, data_file

DRAFT_KEYS = [
    "id", "status", "archived", "type", "sequence_number", "tax_exemption", "date", "due_date", "reference",
    "observations", "retention", "permalink", "sum", "discount", "before_taxes", "taxes", "total", "currency",
    "client", "items",
]  # fmt: skip
FINAL_KEYS = (
    DRAFT_KEYS[:5]
    + ["inverted_sequence_number", "atcud", "sequence_id"]
    + DRAFT_KEYS[5:12]
    + ["saft_hash"]
    + DRAFT_KEYS[12:]
)
ITEM_KEYS = [
    "name",
    "description",
    "unit_price",
    "unit",
    "quantity",
    "tax",
    "discount",
    "subtotal",
    "tax_amount",
    "discount_amount",
    "total",
]


def series(api: Api) -> dict:
    return api.get("/sequences.json").json()["sequences"][0]


# -- create ----------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", [t for t in TYPES if "credit" not in t and "debit" not in t])
def test_create_answers_201_with_a_draft_under_the_singular_key(api: Api, doc_type: str) -> None:
    response = api.post(f"/{doc_type}s.json", json={doc_type: body()})
    assert response.status_code == 201
    assert list(response.json()) == [doc_type]
    draft = response.json()[doc_type]
    assert list(draft) == DRAFT_KEYS
    assert (draft["status"], draft["type"], draft["sequence_number"], draft["archived"]) == (
        "draft",
        TYPE_NAMES[doc_type],
        "rascunho",
        False,
    )
    assert (draft["sum"], draft["discount"], draft["before_taxes"], draft["taxes"], draft["total"]) == (
        2.02,
        0.0,
        2.02,
        0.47,
        2.49,
    )
    assert all(type(draft[k]) is float for k in ("sum", "discount", "before_taxes", "taxes", "total"))
    assert draft["currency"] == "Euro"
    item = draft["items"][0]
    assert list(item) == ITEM_KEYS
    assert (item["unit_price"], item["quantity"], item["subtotal"], item["tax_amount"], item["total"]) == (
        "2.0244",
        "1.00",
        2.0244,
        0.465612,
        2.49,
    )
    assert item["tax"]["name"] == "IVA23" and item["tax"]["value"] == 23.0 and type(item["tax"]["id"]) is int
    assert draft["permalink"].startswith("http")
    assert api.get(f"/{doc_type}s/{draft['id']}.json").json() == {doc_type: draft}


@pytest.mark.parametrize("root", ["invoice", "invoice_receipt"])
def test_the_document_may_come_under_the_family_or_the_singular_key(api: Api, root: str) -> None:
    response = api.post("/invoice_receipts.json", json={root: body()})
    assert response.status_code == 201
    assert list(response.json()) == ["invoice_receipt"]


def test_null_root_keys_are_skipped(api: Api) -> None:
    # tim-online's Go client sends every type key, the unused ones null
    payload = {
        "invoice": None,
        "simplified_invoice": None,
        "invoice_receipt": body(),
        "credit_note": None,
        "debit_note": None,
    }
    assert api.post("/invoice_receipts.json", json=payload).status_code == 201


def test_missing_document_is_422(api: Api) -> None:
    response = api.post("/invoices.json", json={"quote": body()})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Elemento invoice não fornecido"}]}


def test_numbers_as_numbers_and_dates_without_padding(api: Api) -> None:
    day = clock.today()
    items = [
        {
            "name": "Odoo",
            "description": "x",
            "unit_price": 2.0244,
            "quantity": 1.0,
            "discount": 0.0,
            "tax": {"name": "IVA23", "value": 23.0},
        }
    ]
    draft = create(api, date=f"{day.day}/{day.month}/{day.year}", due_date=day.isoformat(), items=items)
    assert draft["date"] == day.strftime("%d/%m/%Y") and draft["total"] == 2.49


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": "2024-13-01"}, "Date is not valid"),
        ({"date": "31/02/2024"}, "Date is not valid"),
        ({"due_date": "tomorrow"}, "Due date is not valid"),
        ({"items": []}, "Document should have at least one item"),
        ({"items": {"name": "x"}}, "Items element should be of type array"),
        ({"items": [{"name": "x", "unit_price": "1,5", "quantity": 1}]}, "Unit price must be a number"),
        (
            {"items": [{"name": "x", "unit_price": 1, "quantity": 0}]},
            "Item 1: Quantity must be a number greater than 0",
        ),
        (
            {"items": [{"name": "x", "unit_price": 1, "quantity": 1, "unit": "kg"}]},
            "Item 1: Unit kg is not included in the list of accepted units",
        ),
        (
            {"items": [{"name": "x", "unit_price": 1, "quantity": 1, "discount": 101}]},
            "Item 1: Discount must be a number between 0 and 100",
        ),
        ({"retention": "100"}, "Retention must be a number between 0 and 99.99"),
        ({"tax_exemption": "M03"}, None),
        ({"sequence_id": 999999999}, "Sequence not found"),
        ({"mb_reference": "1"}, "Option to generate MB reference is set but no payment provider is configurated"),
        ({"client": {"name": "X", "code": "NEWX", "country": "Germani"}}, "Client: Country Germani was not found"),
        ({"client": None}, "Elemento client não fornecido"),
        ({"currency_code": "USD"}, "Rate must be a number greater than 0 for a document in another currency"),
    ],
)
def test_invalid_drafts_are_422_and_change_nothing(api: Api, fields: dict, message: str | None) -> None:
    response = api.post("/invoices.json", json={"invoice": body(**fields)})
    assert response.status_code == 422, response.text
    errors = [e["error"] for e in response.json()["errors"]]
    if message is None:
        assert errors[0].startswith("Tax exemption should be one of: M01")
    else:
        assert message in errors
    assert api.get("/invoices.json", params={"status[]": "draft"}).json()["invoices"] == []
    assert api.get("/clients.json").json()["clients"] == [], "nothing half-created"


def test_client_is_found_by_code_then_name_else_created(api: Api) -> None:
    known = api.post(
        "/clients.json", json={"client": {"name": "Known", "code": "K1", "fiscal_id": "508025338"}}
    ).json()["client"]
    by_code = create(api, client={"name": "Other spelling", "code": "K1", "email": "new@k.pt"})
    assert by_code["client"]["id"] == known["id"] and by_code["client"]["email"] == "new@k.pt"
    assert by_code["client"]["name"] == "Known", "the name of a client found by code is kept"
    by_name = create(api, client={"name": "Known"})
    assert by_name["client"]["id"] == known["id"]
    new = create(api, client={"name": "Brand New", "code": "BN", "fiscal_id": "503504564"})
    assert new["client"]["id"] != known["id"]
    assert (
        api.get("/clients/find-by-code.json", params={"client_code": "BN"}).json()["client"]["fiscal_id"] == "503504564"
    )


def test_items_are_created_or_updated_in_the_catalogue(api: Api) -> None:
    create(api, items=[{"name": "SKU-1", "description": "First", "unit_price": "10", "quantity": 1}])
    catalogue = api.get("/items.json").json()["items"]
    assert [(i["name"], i["unit_price"], i["tax"]["name"]) for i in catalogue] == [("SKU-1", 10.0, "IVA23")]
    create(
        api,
        items=[
            {"name": "SKU-1", "description": "Updated", "unit_price": "12.5", "quantity": 2, "tax": {"name": "IVA6"}}
        ],
    )
    item = api.get("/items.json").json()["items"][0]
    assert (item["description"], item["unit_price"], item["tax"]["name"]) == ("Updated", 12.5, "IVA6")


def test_tax_by_name_and_value_else_default(api: Api) -> None:
    lines = [
        {"name": "a", "description": "a", "unit_price": 10, "quantity": 1, "tax": {"name": "IVA6"}},
        {"name": "b", "description": "b", "unit_price": 10, "quantity": 1, "tax": {"name": "Unknown"}},
        {"name": "c", "description": "c", "unit_price": 10, "quantity": 1, "tax": {"name": "Whatever", "value": 13}},
        {"name": "d", "description": "d", "unit_price": 10, "quantity": 1},
    ]
    draft = create(api, items=lines)
    assert [i["tax"]["name"] for i in draft["items"]] == ["IVA6", "IVA23", "IVA13", "IVA23"]


def test_sequence_id_takes_the_type_counter_or_the_series_id(api: Api) -> None:
    other = api.post("/sequences.json", json={"sequence": {"serie": "B"}}).json()["sequence"]
    by_series = issue(api, "invoice_receipt", sequence_id=other["id"])
    by_counter = issue(api, "invoice_receipt", sequence_id=str(other["current_invoice_receipt_sequence_id"]))
    assert by_series["sequence_id"] == by_counter["sequence_id"] == other["current_invoice_receipt_sequence_id"]
    assert (by_series["sequence_number"], by_counter["sequence_number"]) == ("1/B", "2/B")


# -- finalize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc_type", ["invoice", "invoice_receipt", "simplified_invoice", "debit_note", "vat_moss_invoice"]
)
def test_finalize_numbers_and_signs(server: LiveServer, api: Api, doc_type: str) -> None:
    extra = vat_moss(api) if doc_type == "vat_moss_invoice" else {}
    if doc_type == "debit_note":
        extra["owner_invoice_id"] = issue(api)["id"]
    seq = series(api)
    issued = issue(api, doc_type, **extra)
    assert list(issued) == FINAL_KEYS + (["owner_invoice_id"] if doc_type == "debit_note" else [])
    serie = seq["serie"]
    assert issued["status"] == ("settled" if doc_type == "invoice_receipt" else "final")
    assert (issued["sequence_number"], issued["inverted_sequence_number"]) == (f"1/{serie}", f"{serie}/1")
    assert issued["sequence_id"] == seq[f"current_{doc_type}_sequence_id"]
    code = seq[f"current_{doc_type}_validation_code"]  # sandbox: registered with the account
    assert issued["atcud"] == ("N/A" if doc_type == "vat_moss_invoice" else f"{code}-1")
    assert len(issued["saft_hash"]) == 4
    assert series(api)[f"current_{doc_type}_number"] == 1
    assert api.get(f"/{doc_type}s/{issued['id']}.json").json()[doc_type] == issued


def test_the_signature_verifies_and_chains(server: LiveServer, api: Api) -> None:
    public = load_pem_public_key(data_file("at-sample-keys/at-sample-public-key.pem").read_bytes())
    first, second = (
        issue(api),
        issue(api, items=[{"name": "X", "description": "X", "unit_price": "100", "quantity": "1"}]),
    )
    serie = series(api)["serie"]
    previous = ""
    for issued, number in ((first, 1), (second, 2)):
        with server.db.read() as conn:
            stored = document_by_token(conn, issued["permalink"].rsplit("/", 1)[1])
        assert stored is not None and stored.signature is not None and stored.gross_total_eur is not None
        message = signing.message(
            stored.date, stored.system_entry_date or "", f"FT {serie}/{number}", stored.gross_total_eur, previous
        )
        assert signing.verify(public, message, stored.signature)  # type: ignore[arg-type]
        assert issued["saft_hash"] == signing.printed_characters(stored.signature)
        assert len(base64.b64decode(stored.signature)) == 128
        assert stored.key_version == 1
        previous = stored.signature
    assert message.split(";")[3] == "123.00"
    assert message.split(";")[1] >= message.split(";")[0], "SystemEntryDate is the local time of signing"


def test_a_series_not_registered_issues_nothing(server: LiveServer) -> None:
    """DL 28/2019 art. 35: a series is communicated to AT before use; the refusal takes no
    number, and once registered the first document is 1 with its ATCUD."""
    api = server.account(registered=False, fiscal_id="508025338", **IDENTITY)  # (not training: it names itself)
    seq = series(api)
    draft = create(api)
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["error"].startswith(
        f"The series {seq['serie']} is not registered with the Tax Authority"
    )
    assert series(api)["current_invoice_number"] == 0
    assert issue(api, "vat_moss_invoice", **vat_moss(api))["atcud"] == "N/A", (
        "a type without ATCUD needs no registration"
    )
    registered = api.put(f"/sequences/{seq['id']}/register.json").json()["sequences"][0]
    issued = finalize(api, "invoice", draft["id"])
    assert issued["atcud"] == f"{registered['current_invoice_validation_code']}-1"
    assert issued["sequence_number"] == f"1/{seq['serie']}"


def test_numbers_are_per_type_and_series_and_deleted_drafts_use_none(api: Api) -> None:
    deleted = create(api)
    assert change(api, "invoice", deleted["id"], "deleted").json()["invoice"]["status"] == "deleted"
    numbers = [issue(api)["sequence_number"] for _ in range(3)]
    serie = series(api)["serie"]
    assert numbers == [f"1/{serie}", f"2/{serie}", f"3/{serie}"]
    assert issue(api, "invoice_receipt")["sequence_number"] == f"1/{serie}"
    assert api.get(f"/invoices/{deleted['id']}.json").json()["invoice"]["sequence_number"] == "rascunho"


def test_a_refused_finalization_consumes_no_number(api: Api) -> None:
    future = (clock.today() + timedelta(days=1)).strftime("%d/%m/%Y")
    draft = create(api, date=future, due_date=future)
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422
    assert refused.json() == {"errors": [{"error": "Date can't be in the future"}]}
    assert api.get(f"/invoices/{draft['id']}.json").json()["invoice"]["status"] == "draft"
    assert issue(api)["sequence_number"].startswith("1/")


def test_dates_never_go_backwards_in_a_series(api: Api) -> None:
    issue(api)
    yesterday = clock.today() - timedelta(days=1)
    draft = create(api, date=yesterday.strftime("%d/%m/%Y"), due_date=yesterday.strftime("%d/%m/%Y"))
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422
    assert (
        refused.json()["errors"][0]["error"]
        == f"Date cannot be earlier than the last invoice of this sequence[{clock.today():%d %b %y}]"
    )
    # but backdating the first document of another type is fine
    assert (
        issue(api, "invoice_receipt", date=yesterday.strftime("%d/%m/%Y"), due_date=yesterday.strftime("%d/%m/%Y"))[
            "status"
        ]
        == "settled"
    )


DUE_BEFORE_DATE = {"errors": [{"error": "Due date must be equal to or later than the document date"}]}


@pytest.mark.parametrize("doc_type", ["invoice", "invoice_receipt", "quote", "proforma", "purchase_order"])
def test_a_due_date_before_the_date_is_refused_on_create_and_update(api: Api, doc_type: str) -> None:
    """The rule finalization checks, said when the date is set (an estimate's due date is its
    validity: the same rule); nothing is created or changed."""
    yesterday = (clock.today() - timedelta(days=1)).strftime("%d/%m/%Y")
    refused = api.post(f"/{doc_type}s.json", json={doc_type: body(due_date=yesterday)})
    assert (refused.status_code, refused.json()) == (422, DUE_BEFORE_DATE)
    assert api.get(f"/{doc_type}s.json").json()[f"{doc_type}s"] == [], "nothing created"
    draft = create(api, doc_type)
    for fields in ({"due_date": yesterday}, {"date": today(), "due_date": yesterday}):
        refused = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: body(**fields)})
        assert (refused.status_code, refused.json()) == (422, DUE_BEFORE_DATE)
    unsent = {"client": draft["client"], "items": body()["items"]}  # date or due date left out
    moved = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: {**unsent, "date": yesterday}})
    assert (moved.status_code, moved.json()[doc_type]["due_date"]) == (200, today()), "a later due date stays"
    again = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: {**unsent, "due_date": yesterday}})
    assert (again.status_code, again.json()[doc_type]["date"]) == (200, yesterday), "the same day"


@pytest.mark.parametrize(("doc_type", "term"), [("invoice", 0), ("quote", 30)])
def test_a_date_moved_past_the_due_date_without_one_takes_the_default(api: Api, doc_type: str, term: int) -> None:
    """An update that moves the date past the draft's due date and sends none: the due date a
    create without it would take (the date; an estimate's validity, 30 days after it)."""
    earlier = clock.today() - timedelta(days=40)
    draft = create(api, doc_type, date=earlier.strftime("%d/%m/%Y"), due_date=None)
    assert draft["due_date"] == (earlier + timedelta(days=term)).strftime("%d/%m/%Y")
    unsent = {"client": draft["client"], "items": body()["items"]}
    moved = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: {**unsent, "date": today()}})
    assert moved.status_code == 200, moved.text
    assert moved.json()[doc_type]["due_date"] == (clock.today() + timedelta(days=term)).strftime("%d/%m/%Y")


def test_due_date_before_date_is_still_refused_at_finalization(server: LiveServer, api: Api) -> None:
    """A draft stored so (before the rule, or by hand) is not issued."""
    draft = create(api)
    with server.by_hand(api) as conn:
        conn.execute(text("UPDATE documents SET due_date = :d WHERE id = :i"),
                     {"d": (clock.today() - timedelta(days=1)).isoformat(), "i": draft["id"]})  # fmt: skip
    refused = change(api, "invoice", draft["id"], "finalized")
    assert (refused.status_code, refused.json()) == (422, DUE_BEFORE_DATE)
    assert api.get(f"/invoices/{draft['id']}.json").json()["invoice"]["status"] == "draft"


def test_zero_rate_lines_need_an_exemption_code(api: Api) -> None:
    exempt = [{"name": "Book", "description": "Book", "unit_price": 10, "quantity": 1, "tax": {"name": "IVA0"}}]
    draft = create(api, items=exempt)
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422 and refused.json()["errors"][0]["error"].startswith(
        "Tax exemption should be one of: M01, M02"
    )
    assert issue(api, items=exempt, tax_exemption="M07")["tax_exemption"] == "M07"
    assert issue(api, items=exempt, tax_exemption_reason="M99")["tax_exemption"] == "M99"


def test_simplified_invoices_of_services_stop_at_100_euros(api: Api) -> None:
    """CIVA art. 40: the 1 000 € limit is for retail sales of goods; a line whose unit is a
    service unit (service, hour, day, month) makes it 100 €, even for a consumer."""
    hours = [{"name": "Repair", "description": "Repair", "unit_price": "90", "quantity": 1, "unit": "hour"}]  # 110.70
    refused = change(api, "simplified_invoice", create(api, "simplified_invoice", items=hours)["id"], "finalized")
    assert (
        refused.status_code == 422
        and "Simplified invoices can't exceed 100.00 €" in refused.json()["errors"][0]["error"]
    )
    goods = [{**hours[0], "name": "Lamp", "unit": "unit"}]
    assert issue(api, "simplified_invoice", items=goods)["sequence_number"].startswith("1/"), "goods: up to 1 000 €"


def test_simplified_invoice_limits(api: Api) -> None:
    big = [{"name": "TV", "description": "TV", "unit_price": "900", "quantity": 1}]  # 1107.00 with VAT
    refused = change(api, "simplified_invoice", create(api, "simplified_invoice", items=big)["id"], "finalized")
    assert (
        refused.status_code == 422
        and "Simplified invoices can't exceed 1000.00 €" in refused.json()["errors"][0]["error"]
    )
    medium = [{"name": "Radio", "description": "Radio", "unit_price": "100", "quantity": 1}]  # 123.00
    with_nif = create(
        api, "simplified_invoice", items=medium, client={"name": "Empresa", "code": "E1", "fiscal_id": "508025338"}
    )
    assert change(api, "simplified_invoice", with_nif["id"], "finalized").status_code == 422
    assert (
        issue(api, "simplified_invoice", items=medium, client={"name": "Consumer", "code": "CF"})["status"] == "final"
    )


# -- corrective notes ------------------------------------------------------------------------


def test_credit_notes_need_a_finalized_owner_of_the_same_client(api: Api) -> None:
    no_owner = create(api, "credit_note")
    assert (
        change(api, "credit_note", no_owner["id"], "finalized")
        .json()["errors"][0]["error"]
        .startswith("A credit note needs owner_invoice_id")
    )
    draft_owner = create(api)
    pending = credit_note_for(api, draft_owner, "1")
    assert change(api, "credit_note", pending["id"], "finalized").json() == {
        "errors": [{"error": "The owner invoice must be finalized first"}]
    }
    invoice = issue(api, client={"name": "Alpha", "code": "A"})
    foreign = create(api, "credit_note", owner_invoice_id=invoice["id"], client={"name": "Beta", "code": "B"})
    assert change(api, "credit_note", foreign["id"], "finalized").json() == {
        "errors": [{"error": "The owner invoice belongs to another client"}]
    }
    assert api.post("/credit_notes.json", json={"credit_note": body(owner_invoice_id=99999999)}).status_code == 422


def test_credits_never_exceed_what_is_left_to_credit(api: Api) -> None:
    invoice = issue(
        api,
        items=[{"name": "S", "description": "S", "unit_price": "100", "quantity": 1, "tax": {"name": "IVA0"}}],
        tax_exemption="M07",
    )
    first = finalize(api, "credit_note", credit_note_for(api, invoice, "60")["id"])
    too_much = credit_note_for(api, invoice, "40.01")
    refused = change(api, "credit_note", too_much["id"], "finalized")
    assert refused.status_code == 422
    assert refused.json() == {
        "errors": [{"error": "Credit notes can't exceed what is left to credit on the owner invoice (40.00)"}]
    }
    assert change(api, "credit_note", first["id"], "canceled", "wrong amount").status_code == 200
    assert change(api, "credit_note", too_much["id"], "finalized").status_code == 200, (
        "a canceled note gives its amount back"
    )


def test_odoo_sends_owner_invoice_id_as_a_string_and_raw_owner_invoice(api: Api) -> None:
    invoice = issue(api)
    note = api.post(
        "/credit_notes.json", json={"invoice": body(owner_invoice_id=str(invoice["id"])), "proprietary_uid": "ODOO1"}
    ).json()["credit_note"]
    assert note["owner_invoice_id"] == invoice["id"]
    external = api.post("/credit_notes.json", json={"invoice": body(), "raw_owner_invoice": "FT A/1"}).json()[
        "credit_note"
    ]
    assert finalize(api, "credit_note", external["id"])["status"] == "final"


def test_related_documents(server: LiveServer, api: Api) -> None:
    invoice = issue(api)
    note = finalize(api, "credit_note", credit_note_for(api, invoice, "1")["id"])
    assert [d["id"] for d in api.get(f"/document/{invoice['id']}/related_documents.json").json()["documents"]] == [
        note["id"]
    ]
    related = api.get(f"/document/{note['id']}/related_documents.json").json()
    assert list(related) == ["documents"] and [d["id"] for d in related["documents"]] == [invoice["id"]]
    assert related["documents"][0]["type"] == "Invoice"
    assert api.get("/document/99999999/related_documents.json").status_code == 404
    assert server.account().get(f"/document/{invoice['id']}/related_documents.json").status_code == 404


# -- change state ----------------------------------------------------------------------------

ALLOWED = [
    ("invoice", ["finalized"], "final"),
    ("invoice", ["deleted"], "deleted"),
    ("invoice", ["finalized", "canceled"], "canceled"),
    ("invoice", ["finalized", "settled"], "settled"),
    ("invoice_receipt", ["finalized"], "settled"),
    ("invoice_receipt", ["finalized", "canceled"], "canceled"),
    ("simplified_invoice", ["finalized", "settled"], "settled"),
    ("debit_note", ["finalized", "settled", "unsettled"], "final"),
]
REFUSED = [
    ("invoice", [], "canceled", "CantHandle: draft for Invoice"),
    ("invoice", [], "settled", "CantHandle: draft for Invoice"),
    ("invoice", ["finalized"], "deleted", "CantHandle: final for Invoice"),
    ("invoice", ["finalized"], "finalized", "CantHandle: final for Invoice"),
    ("invoice", ["finalized", "settled"], "unsettled", "CantHandle: settled for Invoice"),
    ("invoice", ["finalized", "canceled"], "settled", "CantHandle: canceled for Invoice"),
    ("invoice_receipt", ["finalized"], "settled", "CantHandle: settled for InvoiceReceipt"),
    ("invoice", ["deleted"], "finalized", "CantHandle: deleted for Invoice"),
    ("invoice", [], "archive", "Invalid state"),
]


def _walk(api: Api, doc_type: str, events: list[str]) -> dict:
    extra = {"owner_invoice_id": issue(api)["id"]} if doc_type == "debit_note" else {}
    document = create(api, doc_type, **extra)
    for event in events:
        response = change(api, doc_type, document["id"], event, "a reason")
        assert response.status_code == 200, response.text
        document = response.json()[doc_type]
    return document


@pytest.mark.parametrize(("doc_type", "events", "status"), ALLOWED)
def test_allowed_transitions(api: Api, doc_type: str, events: list[str], status: str) -> None:
    assert _walk(api, doc_type, events)["status"] == status


@pytest.mark.parametrize(("doc_type", "before", "event", "message"), REFUSED)
def test_refused_transitions(api: Api, doc_type: str, before: list[str], event: str, message: str) -> None:
    document = _walk(api, doc_type, before)
    response = change(api, doc_type, document["id"], event, "a reason")
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": message}]}
    assert api.get(f"/{doc_type}s/{document['id']}.json").json()[doc_type] == document


def test_cancel_needs_a_message_inside_or_at_the_root(api: Api) -> None:
    invoice = issue(api)
    for payload in ({"invoice": {"state": "canceled"}}, {"invoice": {"state": "canceled", "message": ""}}):
        refused = api.put(f"/invoices/{invoice['id']}/change-state.json", json=payload)
        assert refused.json() == {"errors": [{"error": "Cancel message can't be blank"}]}
    # bitmario puts the message at the body root, beside the object
    response = api.put(
        f"/invoices/{invoice['id']}/change-state.json",
        json={"invoice": {"state": "canceled"}, "message": "Wrong value"},
    )
    assert response.status_code == 200
    canceled = response.json()["invoice"]
    assert canceled["status"] == "canceled"
    assert {k: canceled[k] for k in ("sequence_number", "atcud", "saft_hash")} == {
        k: invoice[k] for k in ("sequence_number", "atcud", "saft_hash")
    }


def test_change_state_without_its_root_key_names_the_element(server: LiveServer, api: Api) -> None:
    """Every change-state route (api-v2 §1.8): a body without an object under the URL's type (nor
    its family's key) is `422 "Elemento <type> não fornecido"`, the type of the URL; nothing changes."""
    draft = create(api)
    paths = sorted(route.path for route in server.app.state.router.routes if route.path.endswith("/change-state.json"))
    assert paths == sorted(f"/{kind.path}/{{document_id:id}}/change-state.json" for kind in DOC_TYPES)
    bodies = [
        {},
        {"state": "finalized"},
        {"invoice_receipt": None, "state": "finalized"},
        {"guide": {"state": "finalized"}},
    ]
    for kind in DOC_TYPES:
        for method in ("PUT", "POST"):
            for sent in bodies:
                if kind.family.moves_goods and "guide" in sent:
                    continue  # the family's key: read
                response = api.request(method, f"/{kind.path}/{draft['id']}/change-state.json", json=sent)
                assert (response.status_code, response.json()) == (
                    422,
                    {"errors": [{"error": f"Elemento {kind.key} não fornecido"}]},
                )
    assert api.get(f"/invoices/{draft['id']}.json").json()["invoice"]["status"] == "draft"
    assert change(api, "invoice", draft["id"], "archive").json() == {"errors": [{"error": "Invalid state"}]}, (
        "state unknown"
    )


def test_change_state_by_post_and_with_any_family_key(api: Api) -> None:
    draft = create(api, "credit_note", owner_invoice_id=issue(api)["id"])
    response = api.post(
        f"/credit_notes/{draft['id']}/change-state.json", json={"invoice": {"state": "finalized", "message": ""}}
    )
    assert response.status_code == 200 and list(response.json()) == ["credit_note"]


def test_a_document_with_live_notes_cannot_be_canceled(api: Api) -> None:
    invoice = issue(api)
    note = finalize(api, "credit_note", credit_note_for(api, invoice, "1")["id"])
    refused = change(api, "invoice", invoice["id"], "canceled", "x")
    assert refused.json() == {"errors": [{"error": "The document has credit or debit notes: cancel them first"}]}
    change(api, "credit_note", note["id"], "canceled", "x")
    assert change(api, "invoice", invoice["id"], "canceled", "x").status_code == 200


def test_another_type_or_account_is_404(server: LiveServer, api: Api) -> None:
    invoice = create(api)
    assert api.get(f"/invoice_receipts/{invoice['id']}.json").status_code == 404
    other = server.account()
    for method, path in [("GET", f"/invoices/{invoice['id']}.json"), ("PUT", f"/invoices/{invoice['id']}.json"),
                         ("PUT", f"/invoices/{invoice['id']}/change-state.json")]:  # fmt: skip
        response = other.request(method, path, json={"invoice": {**body(), "state": "finalized"}})
        assert response.status_code == 404
        assert response.json() == {"errors": [{"error": "Document not found"}]}
    assert api.get(f"/invoices/{invoice['id']}.json").json()["invoice"]["status"] == "draft"


# -- update and immutability -----------------------------------------------------------------


def test_put_back_the_whole_document_changes_nothing(api: Api) -> None:
    draft = create(api, reference="PO-1", observations="obs", retention="25")
    response = api.put(f"/invoices/{draft['id']}.json", json={"invoice": draft})
    assert response.status_code == 200
    assert response.json()["invoice"] == draft
    assert draft["retention"] == "25.0"


def test_put_replaces_lines_and_keeps_unsent_fields(api: Api) -> None:
    draft = create(api, reference="PO-1")
    items = [{"name": "New", "description": "New", "unit_price": "10", "quantity": "3"}]
    updated = api.put(
        f"/invoices/{draft['id']}.json", json={"invoice": {"client": draft["client"], "items": items}}
    ).json()["invoice"]
    assert [i["name"] for i in updated["items"]] == ["New"] and updated["total"] == 36.9
    assert updated["reference"] == "PO-1"
    missing = api.put(f"/invoices/{draft['id']}.json", json={"invoice": {"items": items}})
    assert missing.status_code == 422 and missing.json() == {"errors": [{"error": "Elemento client não fornecido"}]}


def test_issued_documents_are_frozen(api: Api) -> None:
    issued = issue(api)
    for status in ("final", "canceled"):
        if status == "canceled":
            issued = change(api, "invoice", issued["id"], "canceled", "x").json()["invoice"]
        refused = api.put(f"/invoices/{issued['id']}.json", json={"invoice": body(reference="changed")})
        assert refused.status_code == 422
        assert refused.json() == {
            "errors": [
                {
                    "error": (
                        f"Invoice has been {'finalized' if status == 'final' else 'canceled'}"
                        " so can't be changed anymore"
                    )
                }
            ]
        }
        assert api.get(f"/invoices/{issued['id']}.json").json()["invoice"] == issued


def test_issued_documents_keep_their_rate_and_taxes_are_locked(api: Api) -> None:
    tax = api.post("/taxes.json", json={"tax": {"name": "IVA9", "value": 9}}).json()["tax"]
    issued = issue(
        api, items=[{"name": "I", "description": "I", "unit_price": 100, "quantity": 1, "tax": {"name": "IVA9"}}]
    )
    changed = api.put(f"/taxes/{tax['id']}.json", json={"tax": {"value": 10}})
    assert changed.status_code == 422
    assert api.delete(f"/taxes/{tax['id']}.json").status_code == 422
    assert api.put(f"/taxes/{tax['id']}.json", json={"tax": {"name": "IVA9 old"}}).status_code == 200, (
        "the name is not fiscal"
    )
    assert api.get(f"/invoices/{issued['id']}.json").json()["invoice"]["items"][0]["tax"]["value"] == 9.0


def test_catalogue_items_on_documents_cannot_be_renamed(api: Api) -> None:
    create(api, items=[{"name": "LOCKED", "description": "x", "unit_price": 1, "quantity": 1}])
    item = api.get("/items.json").json()["items"][0]
    assert api.put(f"/items/{item['id']}.json", json={"item": {"name": "OTHER"}}).json() == {
        "errors": [{"error": "Name can't be changed because it is already associated with invoices"}]
    }
    assert api.put(f"/items/{item['id']}.json", json={"item": {"unit_price": 5}}).status_code == 200


def test_a_clients_nif_is_locked_once_documents_are_issued(api: Api) -> None:
    issued = issue(api, client={"name": "Locked", "code": "L", "fiscal_id": "508025338"})
    client_id = issued["client"]["id"]
    refused = api.put(f"/clients/{client_id}.json", json={"client": {"name": "Locked", "fiscal_id": "503504564"}})
    assert refused.json() == {"errors": [{"error": "Fiscal ID can't be changed: the client has issued documents"}]}
    consumer = issue(api, client={"name": "Anon", "code": "AN", "fiscal_id": "999999990"})
    consumer_id = consumer["client"]["id"]
    # without a NIF, the name is what identifies the client: fixed once it has documents
    renamed = api.put(f"/clients/{consumer_id}.json", json={"client": {"name": "Someone", "fiscal_id": "999999990"}})
    assert renamed.json() == {
        "errors": [{"error": "Name can't be changed: the client has no NIF and has issued documents"}]
    }
    # the final consumer's NIF may be replaced by the client's own, and then the name with it
    assert (
        api.put(f"/clients/{consumer_id}.json", json={"client": {"name": "Anon", "fiscal_id": "503504564"}}).status_code
        == 200
    )
    assert api.put(f"/clients/{consumer_id}.json", json={"client": {"name": "Anon, Lda"}}).status_code == 200


# -- idempotency -----------------------------------------------------------------------------


def test_a_repeated_proprietary_uid_returns_the_same_document(api: Api) -> None:
    first = api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "ODOO0123"})
    again = api.post("/invoices.json", json={"invoice": body(reference="different"), "proprietary_uid": "ODOO0123"})
    inside = api.post("/invoices.json", json={"invoice": {**body(), "proprietary_uid": "ODOO0123"}})
    assert first.status_code == again.status_code == inside.status_code == 201
    assert first.json() == again.json() == inside.json()
    assert len(api.get("/invoices.json", params={"status[]": "draft"}).json()["invoices"]) == 1


def test_a_proprietary_uid_of_another_type_is_a_conflict_not_a_repeat(api: Api) -> None:
    invoice = api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "ODOO-T"})
    note = api.post("/credit_notes.json", json={"credit_note": body(), "proprietary_uid": "ODOO-T"})
    assert invoice.status_code == 201 and note.status_code == 409
    assert note.json()["errors"] == [{"error": "The UID ODOO-T was already used to create a document of type Invoice"}]
    assert api.get("/credit_notes.json").json()["credit_notes"] == []
    assert api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "ODOO-T"}).json() == invoice.json()


def _hold_writes(server: LiveServer, held: threading.Event, release: threading.Event) -> None:
    """Keep the database's writer waiting until `release`: hold its write lock (SQLite), or a
    lock on the documents table that every document creation needs (PostgreSQL)."""
    with server.db.transaction() as conn:
        if not server.db.is_sqlite:
            conn.exec_driver_sql("LOCK TABLE documents IN EXCLUSIVE MODE")
        held.set()
        release.wait(10)


def test_a_concurrent_duplicate_is_409(server: LiveServer, api: Api) -> None:
    from ixserver.services.accounts import get_account

    with server.db.read() as conn:
        claim = (get_account(conn, api.name).id, "UID-X")  # what `create` puts in ctx.in_flight
    held, release = threading.Event(), threading.Event()
    blocker = threading.Thread(target=_hold_writes, args=(server, held, release))
    blocker.start()  # the writer waits: the first request stays in flight with its UID claimed
    results = []
    first = threading.Thread(
        target=lambda: results.append(api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "UID-X"}))
    )
    try:
        assert held.wait(10), "the test could not take the database's write lock"
        first.start()
        for _ in range(2000):  # until the server has claimed the UID (at most 10 s)
            if claim in server.ctx.in_flight:
                break
            assert first.is_alive(), f"the first request ended before the duplicate was sent: {results}"
            threading.Event().wait(0.005)
        else:
            raise AssertionError("the first request never claimed UID-X (server.ctx.in_flight) within 10 s")
        duplicate = api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "UID-X"})
    finally:
        release.set()
        if first.ident is not None:
            first.join()
        blocker.join()
    message = "There's an ongoing document creation with the provided UID UID-X"
    assert duplicate.status_code == 409
    assert duplicate.json() == {"errors": [{"error": message}], "reason": message}
    assert len(results) == 1 and results[0].status_code == 201, results
    assert claim not in server.ctx.in_flight, "the claim is released when the first request ends"
    repeat = api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": "UID-X"})
    assert (repeat.status_code, repeat.json()) == (201, results[0].json()), "then a repeat returns the first document"


# -- lists -----------------------------------------------------------------------------------


def test_lists_and_filters(api: Api) -> None:
    yesterday = clock.today() - timedelta(days=1)
    old = issue(api, date=yesterday.strftime("%d/%m/%Y"), due_date=today(), reference="PO-77",
                client={"name": "Zeta Lda", "code": "Z"})  # fmt: skip
    receipt = issue(
        api, "invoice_receipt", items=[{"name": "Big", "description": "Chair", "unit_price": 500, "quantity": 1}]
    )
    draft = create(api)
    deleted = create(api)
    change(api, "invoice", deleted["id"], "deleted")
    serie = series(api)["serie"]

    def ids(**params: object) -> list[int]:
        response = api.get("/invoices.json", params=params)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["invoices"]]

    assert ids() == [draft["id"], receipt["id"], old["id"]], "newest first, deleted left out"
    assert ids(order_by="date_asc") == [old["id"], receipt["id"], draft["id"]]
    assert ids(**{"type[]": "InvoiceReceipt"}) == [receipt["id"]]
    assert ids(**{"status[]": "sent"}) == [old["id"]]
    assert ids(**{"status[]": ["settled", "draft"]}) == [draft["id"], receipt["id"]]
    assert ids(**{"status[]": "deleted"}) == [deleted["id"]]
    assert ids(**{"date[from]": today(), "date[to]": today()}) == [draft["id"], receipt["id"]]
    assert ids(**{"date[to]": f"{yesterday.day}/{yesterday.month}/{yesterday.year}"}) == [old["id"]]
    assert ids(**{"total_before_taxes[from]": "100"}) == [receipt["id"]]
    big = {"items": [{"name": "Bench", "description": "Bench", "unit_price": 500, "quantity": 2}]}
    assert api.put(f"/invoices/{draft['id']}.json", json={"invoice": body(**big)}).status_code == 200
    assert ids(**{"total_before_taxes[from]": "1000", "total_before_taxes[to]": "1000"}) == [draft["id"]], (
        "updates keep it"
    )
    assert ids(reference="PO-7") == [old["id"]]
    assert ids(text="Zeta") == [old["id"]]
    assert ids(text="Chair") == [receipt["id"]]
    assert ids(text=f"{serie}/1", **{"type[]": "Invoice"}) == [old["id"]]
    assert ids(text=f"FT {serie}/1") == [old["id"]]
    assert ids(archived="true") == []
    assert ids(non_archived="true", archived="true") == [draft["id"], receipt["id"], old["id"]]
    assert api.get("/invoices.json", params={"type[]": "Nope"}).status_code == 422
    assert api.get("/invoices.json", params={"date[from]": "yesterday"}).json() == {
        "errors": [{"error": "date[from] is not valid"}]
    }
    page = api.get("/invoices.json", params={"per_page": 2, "page": 2}).json()
    assert page["pagination"] == {"total_entries": 3, "current_page": 2, "total_pages": 2, "per_page": 2}
    assert [d["id"] for d in page["invoices"]] == [old["id"]]
    per_type = api.get("/invoice_receipts.json").json()
    assert list(per_type) == ["invoice_receipts", "pagination"] and [d["id"] for d in per_type["invoice_receipts"]] == [
        receipt["id"]
    ]
    assert api.get("/credit_notes.json").json() == {
        "credit_notes": [],
        "pagination": {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10},
    }


def test_most_recent_document_of_a_series(api: Api) -> None:
    # SuesteCreative: status[]=settled&status[]=final&order_by=date_desc&per_page=1
    issue(api)
    last = issue(api)
    latest = api.get(
        "/invoices.json", params={"status[]": ["settled", "final"], "order_by": "date_desc", "per_page": 1}
    ).json()
    assert [d["id"] for d in latest["invoices"]] == [last["id"]]


# -- other fields ----------------------------------------------------------------------------


def test_multicurrency_signs_the_euro_counter_value(server: LiveServer, api: Api) -> None:
    items = [{"name": "US", "description": "US", "unit_price": "110", "quantity": 1, "tax": {"name": "IVA0"}}]
    issued = issue(api, currency_code="USD", rate="1.10", items=items, tax_exemption="M05")
    assert issued["currency"] == "U.S. dollar" and issued["total"] == 110.0
    assert issued["multicurrency"] == {"rate": 1.1, "currency": "USD", "total": 110.0}
    with server.db.read() as conn:
        stored = document_by_token(conn, issued["permalink"].rsplit("/", 1)[1])
    assert stored is not None and stored.gross_total_eur == Decimal("100.00")


def test_global_discount_and_retention(api: Api) -> None:
    items = [{"name": "Fee", "description": "Fee", "unit_price": "1000", "quantity": 1}]
    draft = create(api, items=items, global_discount={"value_type": "percentage", "value": 10}, retention="23")
    assert (draft["sum"], draft["discount"], draft["before_taxes"], draft["taxes"], draft["total"]) == (
        1000.0,
        100.0,
        900.0,
        207.0,
        1107.0,
    )
    assert draft["global_discount"] == {"value_type": "percentage", "value": 10.0}
    assert draft["retention"] == "23.0"


def test_permalink_is_a_public_page(api: Api) -> None:
    import httpx

    issued = issue(api)
    page = httpx.get(issued["permalink"].replace("http://127.0.0.1", api.base_url))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"FT {issued['inverted_sequence_number']}" in page.text
    assert f"{issued['saft_hash']}-Processado por" in page.text
    assert page.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'"
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_every_account_with_documents_verifies(server: LiveServer, api: Api) -> None:
    invoice = issue(api)
    issue(api, "invoice_receipt")
    change(api, "invoice", issue(api)["id"], "canceled", "mistake")
    finalize(api, "credit_note", credit_note_for(api, invoice, "1")["id"])
    with server.db.read() as conn:
        names = (
            conn.exec_driver_sql("SELECT DISTINCT a.name FROM accounts a JOIN documents d ON d.account_id = a.id")
            .scalars()
            .all()
        )
        assert api.name in names
        checked = [name for name in names if name not in server.tampered]
        assert [problem for name in checked for problem in verify(conn, server.resources.seal_key, name)] == []


def test_verify_finds_entry_times_out_of_issue_order_across_series(server: LiveServer, api: Api) -> None:
    """A chain written by a server whose clock went back between two series (as before the
    rule): the seal keeps the issue order, so verify sees the second entered before the first."""
    from ixserver.domain import seal
    from ixserver.store import seal as seal_store

    other = api.post("/sequences.json", json={"sequence": {"serie": "LATER"}}).json()["sequence"]
    first = issue(api)
    second = issue(api, sequence_id=other["id"])
    key = server.resources.seal_key
    with server.db.transaction() as conn:
        account_id = conn.execute(
            text("SELECT account_id FROM documents WHERE id = :i"), {"i": first["id"]}
        ).scalar_one()
        events = list(seal_store.events(conn, account_id))
        previous = ""
        for event in events:
            canonical = event.canonical
            if event.document_id == second["id"]:
                fields = {**json.loads(canonical), "system_entry_date": "2000-01-01T00:00:00"}
                canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            mac = seal.mac(key, previous, event.seq, event.document_id, event.event, canonical)
            conn.execute(text("UPDATE seal_events SET canonical = :c, mac = :m WHERE account_id = :a AND seq = :s"),
                         {"c": canonical, "m": mac, "a": account_id, "s": event.seq})  # fmt: skip
            previous = mac
        conn.execute(text("UPDATE seal_heads SET mac = :m WHERE account_id = :a"), {"m": previous, "a": account_id})
    with server.db.read() as conn:
        found = verify(conn, key, api.name)
    serie = series(api)["serie"]
    assert any(
        "FT LATER/1: entered at 2000-01-01T00:00:00" in line and f"before {api.name}: FT {serie}/1" in line
        for line in found
    ), found


def test_each_zero_rate_line_may_carry_its_own_exemption(api: Api) -> None:
    """AT allows an exemption code per line (`items[].tax_exemption`, an ixserver extension); a
    line without one takes the document's."""
    export = {"name": "Export", "description": "E", "unit_price": "10", "quantity": 1, "tax": {"name": "IVA0"}}
    lines = [{**export, "tax_exemption": "M05"}, {**export, "name": "Books", "tax_exemption_reason": "m07"}]
    issued = issue(api, items=lines)
    assert [line.get("tax_exemption") for line in issued["items"]] == ["M05", "M07"]
    assert issued["tax_exemption"] is None
    one_without = create(api, items=[{**export, "tax_exemption": "M05"}, {**export, "name": "Other"}])
    refused = change(api, "invoice", one_without["id"], "finalized")
    assert refused.status_code == 422 and refused.json()["errors"][0]["error"].startswith(
        "Tax exemption should be one of"
    )
    unknown = api.post("/invoices.json", json={"invoice": body(items=[{**export, "tax_exemption": "M77"}])})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["error"].startswith(
        "Item 1: Tax exemption should be one of"
    )
    assert "tax_exemption" not in issue(api)["items"][0], "the documented line, when it has none"


def test_a_vat_moss_invoice_takes_the_consumers_country_vat(api: Api) -> None:
    """OSS: a consumer in another EU country, at that country's rates (the European
    Commission's, through eu-vat-rates-data); not Portugal's 23 %."""
    moss = vat_moss(api)
    at_portuguese_vat = create(api, "vat_moss_invoice", client=moss["client"])  # IVA23 lines
    refused = change(api, "vat_moss_invoice", at_portuguese_vat["id"], "finalized")
    french = ", ".join(
        f"{rate.normalize():f}" for rate in rates_of("FR")
    )  # 0.9, 1.05, 2.1, 5.5, 8.5, 10, 13, 20 in 2026
    assert refused.json()["errors"] == [{"error": f"VAT at 23% is not a rate of France ({french})"}]
    in_portugal = create(api, "vat_moss_invoice", items=moss["items"], client={"name": "Lisboa", "code": "LX"})
    assert change(api, "vat_moss_invoice", in_portugal["id"], "finalized").json()["errors"] == [
        {"error": "A VAT MOSS document is for a consumer in another EU country, not in Portugal"}
    ]
    issued = issue(api, "vat_moss_invoice", **moss)
    assert (issued["atcud"], issued["total"]) == ("N/A", 12.0)
