"""Purchase orders (api-v2 §7, legacy): the family routes, numbered in their own sub-sequence,
states as guides (draft → final → canceled; draft → deleted)."""

from __future__ import annotations

from tests.api.invoicing import body, change, create, finalize
from tests.support import Api


def test_a_purchase_order_from_draft_to_canceled(api: Api) -> None:
    created = api.post("/purchase_orders.json", json={"purchase_order": body(reference="PO-1")})
    assert created.status_code == 201, created.text
    order = created.json()["purchase_order"]
    assert (order["type"], order["status"]) == ("PurchaseOrder", "draft")
    assert api.get(f"/purchase_orders/{order['id']}.json").json() == {"purchase_order": order}
    assert (
        api.put(f"/purchase_orders/{order['id']}.json", json={"purchase_order": body(reference="PO-2")}).status_code
        == 200
    )
    issued = finalize(api, "purchase_order", order["id"])
    serie = api.get("/sequences.json").json()["sequences"][0]
    assert (issued["sequence_number"], issued["atcud"], issued["reference"]) == (f"1/{serie['serie']}", "N/A", "PO-2")
    assert serie["current_purchase_order_number"] == 1 and serie["current_invoice_number"] == 0, "its own counter"
    assert change(api, "purchase_order", order["id"], "settled").status_code == 422
    canceled = change(api, "purchase_order", order["id"], "canceled", "supplier out of stock")
    assert canceled.json()["purchase_order"]["status"] == "canceled"
    assert change(api, "purchase_order", order["id"], "finalized").status_code == 422


def test_the_purchase_order_list(api: Api) -> None:
    first = create(api, "purchase_order")
    second = finalize(api, "purchase_order", create(api, "purchase_order")["id"])
    create(api)  # an invoice is not listed
    listed = api.get("/purchase_orders.json").json()
    assert sorted(d["id"] for d in listed["purchase_orders"]) == sorted([first["id"], second["id"]])
    drafts = api.get("/purchase_orders.json", params={"status[]": "draft"}).json()["purchase_orders"]
    assert [d["id"] for d in drafts] == [first["id"]]
    assert change(api, "purchase_order", first["id"], "deleted").json()["purchase_order"]["status"] == "deleted"


def test_a_purchase_order_keeps_its_load_date_and_delivery_site(api: Api) -> None:
    """api-v2 §7: `loaded_at` is a date there, `delivery_site` the place; both listed by load date."""
    first = create(api, "purchase_order", loaded_at="07/05/2017", delivery_site="Lisboa")
    assert (first["loaded_at"], first["delivery_site"]) == ("07/05/2017", "Lisboa")
    assert api.get(f"/purchase_orders/{first['id']}.json").json()["purchase_order"]["delivery_site"] == "Lisboa"
    issued = finalize(api, "purchase_order", first["id"])
    assert (issued["loaded_at"], issued["delivery_site"]) == ("07/05/2017", "Lisboa"), (
        "no transport rule: a date past is fine"
    )
    second = create(api, "purchase_order")
    assert (second["loaded_at"], second["delivery_site"]) == (None, None)
    in_may = api.get("/purchase_orders.json", params={"loaded_at[from]": "01/05/2017", "loaded_at[to]": "07/05/2017"})
    assert [d["id"] for d in in_may.json()["purchase_orders"]] == [first["id"]]
    assert "at_doc_code_id" not in issued and "license_plate" not in issued
    assert api.post("/purchase_orders.json", json={"purchase_order": body(loaded_at="soon")}).status_code == 422
