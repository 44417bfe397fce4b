"""Items (api-v2 §11)."""

from __future__ import annotations

import pytest

from tests.support import Api, LiveServer

PRICE_NOT_VALID = "Price is not valid. Check the decimal mark and if you are inserting only numbers."


def create(api: Api, **item: object) -> dict:
    body = {"name": "Medium", "description": "foo", "unit_price": "16.2602", "unit": "service", **item}
    response = api.post("/items.json", json={"item": body})
    assert response.status_code == 201, response.text
    return response.json()["item"]


def test_create_and_get_round_trip(api: Api) -> None:
    item = create(api, tax={"name": "IVA13"})
    assert list(item) == ["id", "name", "description", "unit_price", "unit", "tax"]
    assert item["name"] == "Medium" and item["description"] == "foo" and item["unit"] == "service"
    assert item["unit_price"] == 16.2602 and type(item["unit_price"]) is float
    assert item["tax"] == {"name": "IVA13", "value": 13.0, "comment": "tax value:13.0%"}
    assert api.get(f"/items/{item['id']}.json").json() == {"item": item}


@pytest.mark.parametrize("price", [9.99, "9.99", 10, "10"])
def test_price_as_number_or_string(api: Api, price: object) -> None:
    item = create(api, unit_price=price)
    assert item["unit_price"] == float(price)


def test_price_keeps_its_decimals_exactly(api: Api) -> None:
    item = create(api, unit_price="123456789.123456")
    assert api.get(f"/items/{item['id']}.json").text.count("123456789.123456") == 1


def test_tax_by_name_and_value_else_the_default(api: Api) -> None:
    assert create(api, name="a", tax={"name": "IVA6", "value": 6})["tax"]["name"] == "IVA6"
    assert create(api, name="b", tax={"name": "Nope"})["tax"]["name"] == "IVA23"
    assert create(api, name="c")["tax"]["name"] == "IVA23"
    assert create(api, name="d", tax={"name": "Nope", "value": "13.0"})["tax"]["name"] == "IVA13"


@pytest.mark.parametrize(
    ("item", "messages"),
    [
        ({}, ["Name is a required field", "Description is a required field", "Price is a required field"]),
        ({"name": "x", "description": "y", "unit_price": "1,5"}, [PRICE_NOT_VALID]),
        ({"name": "x", "description": "y", "unit_price": "abc"}, [PRICE_NOT_VALID]),
        ({"name": "x", "description": "y", "unit_price": -1}, ["Price must be greater than or equal to 0"]),
        ({"name": "x", "description": "y", "unit_price": 1, "unit": "kg"},
         ["Unit kg is not included in the list of accepted units"]),
    ],
)  # fmt: skip
def test_invalid_items_are_422_naming_the_field(api: Api, item: dict, messages: list[str]) -> None:
    response = api.post("/items.json", json={"item": item})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": m} for m in messages]}
    assert api.get("/items.json").json()["items"] == []


def test_duplicate_name_is_422(api: Api) -> None:
    create(api)
    response = api.post("/items.json", json={"item": {"name": "Medium", "description": "x", "unit_price": 1}})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Name is not available."}]}


def test_update_and_delete(api: Api) -> None:
    item = create(api)
    other = create(api, name="Other")
    response = api.put(f"/items/{item['id']}.json", json={"item": {"unit_price": 20, "tax": {"name": "IVA6"}, "id": 1}})
    assert response.status_code == 200
    assert response.json()["item"] == {
        **item,
        "unit_price": 20.0,
        "tax": {"name": "IVA6", "value": 6.0, "comment": "tax value:6.0%"},
    }
    clash = api.put(f"/items/{item['id']}.json", json={"item": {"name": other["name"]}})
    assert clash.status_code == 422
    assert api.delete(f"/items/{item['id']}.json").status_code == 200
    assert api.get(f"/items/{item['id']}.json").status_code == 404
    assert [i["id"] for i in api.get("/items.json").json()["items"]] == [other["id"]]


def test_pagination(api: Api) -> None:
    ids = [create(api, name=f"i{n:02d}")["id"] for n in range(12)]
    first = api.get("/items.json", params={"per_page": 5}).json()
    assert [i["id"] for i in first["items"]] == ids[:5]
    assert first["pagination"] == {"total_entries": 12, "current_page": 1, "total_pages": 3, "per_page": 5}
    last = api.get("/items.json", params={"per_page": 5, "page": 3}).json()
    assert [i["id"] for i in last["items"]] == ids[10:]
    beyond = api.get("/items.json", params={"per_page": 5, "page": 9}).json()
    assert beyond == {
        "items": [],
        "pagination": {"total_entries": 12, "current_page": 9, "total_pages": 3, "per_page": 5},
    }


def test_another_accounts_item_is_404(server: LiveServer, api: Api) -> None:
    other = server.account()
    foreign = create(other)
    assert api.get(f"/items/{foreign['id']}.json").status_code == 404
    assert api.put(f"/items/{foreign['id']}.json", json={"item": {"unit_price": 1}}).status_code == 404
    assert api.delete(f"/items/{foreign['id']}.json").status_code == 404
    assert other.get(f"/items/{foreign['id']}.json").json() == {"item": foreign}
