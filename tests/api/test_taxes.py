"""Taxes (api-v2 §9, clients.md §2.1)."""

from __future__ import annotations

import pytest

from tests.support import Api, LiveServer


def taxes(api: Api) -> list[dict]:
    return api.get("/taxes.json").json()["taxes"]


def test_a_new_account_has_the_portuguese_taxes(api: Api) -> None:
    response = api.get("/taxes.json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["taxes"], "not paginated"
    assert [(t["name"], t["value"], t["region"], t["code"], t["default_tax"]) for t in body["taxes"]] == [
        ("IVA23", 23.0, "PT", "NOR", 1),
        ("IVA13", 13.0, "PT", "INT", 0),
        ("IVA6", 6.0, "PT", "RED", 0),
        ("IVA0", 0.0, "PT", "ISE", 0),
    ]
    for tax in body["taxes"]:
        assert list(tax) == ["id", "name", "value", "region", "code", "default_tax"]
        assert type(tax["id"]) is int and type(tax["value"]) is float and type(tax["default_tax"]) is int


@pytest.mark.parametrize(
    ("region", "expected"),
    [("PT-MA", [("IVA22", 22.0), ("IVA12", 12.0), ("IVA4", 4.0), ("IVA0", 0.0)]),
     ("PT-AC", [("IVA16", 16.0), ("IVA9", 9.0), ("IVA4", 4.0), ("IVA0", 0.0)])],
)  # fmt: skip
def test_island_accounts_get_their_regions_rates(server: LiveServer, region: str, expected: list) -> None:
    api = server.account(tax_region=region)
    assert [(t["name"], t["value"]) for t in taxes(api)] == expected
    assert {t["region"] for t in taxes(api)} == {region}


@pytest.mark.parametrize("value", ["37.0", 37, "37", 37.5])
def test_create_takes_the_value_as_number_or_string(api: Api, value: object) -> None:
    response = api.post(
        "/taxes.json", json={"tax": {"name": "IVA37", "value": value, "region": "PT", "default_tax": "0"}}
    )
    assert response.status_code == 201
    tax = response.json()["tax"]
    assert tax["name"] == "IVA37" and tax["value"] == float(value) and tax["default_tax"] == 0
    assert tax["code"] == "OUT", "a rate that is none of the region's is 'other'"
    assert api.get(f"/taxes/{tax['id']}.json").json() == {"tax": tax}


def test_odoo_creates_or_maps_a_tax_by_name(api: Api) -> None:
    # clients.md §2.1: POST with a string value and maybe an empty region; on 422 Odoo reads
    # the list and maps by name.
    payload = {"tax": {"name": "IVA23", "value": "23.0", "region": ""}}
    response = api.post("/taxes.json", json=payload, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Name has already been taken"}]}
    by_name = {t["name"]: t["id"] for t in taxes(api)}
    assert "IVA23" in by_name
    created = api.post("/taxes.json", json={"tax": {"name": "Isento", "value": "0.0", "region": ""}})
    assert created.status_code == 201
    assert created.json()["tax"]["region"] == "PT", "an empty region means the account's"
    assert created.json()["tax"]["code"] == "ISE"


@pytest.mark.parametrize(
    ("tax", "message"),
    [
        ({"value": "10"}, "Name can't be blank"),
        ({"name": "X"}, "Value can't be blank"),
        ({"name": "X", "value": "100"}, "Value must be a number between 0 and 99.99"),
        ({"name": "X", "value": "-1"}, "Value must be a number between 0 and 99.99"),
        ({"name": "X", "value": "abc"}, "Value must be a number between 0 and 99.99"),
        ({"name": "X", "value": "10", "region": "XX"}, "Tax region is not valid"),
        ({"name": "X", "value": "10", "code": "ABC"}, "Code is not included in the list (NOR, INT, RED, OUT, ISE)"),
    ],
)
def test_invalid_taxes_are_422_and_change_nothing(api: Api, tax: dict, message: str) -> None:
    before = taxes(api)
    response = api.post("/taxes.json", json={"tax": tax})
    assert response.status_code == 422
    assert message in [e["error"] for e in response.json()["errors"]]
    assert taxes(api) == before


@pytest.mark.parametrize("region", ["PT", "PT-AC", "PT-MA", "Desconhecido", "ES", "FR"])
def test_regions_and_country_codes_are_accepted(api: Api, region: str) -> None:
    response = api.post("/taxes.json", json={"tax": {"name": f"T-{region}", "value": 5, "region": region}})
    assert response.status_code == 201
    assert response.json()["tax"]["region"] == region


def test_missing_root_key_is_422(api: Api) -> None:
    response = api.post("/taxes.json", json={"name": "X", "value": 1})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Elemento tax não fornecido"}]}


def test_exactly_one_default(api: Api) -> None:
    created = api.post("/taxes.json", json={"tax": {"name": "IVA5", "value": 5, "default_tax": 1}}).json()["tax"]
    assert created["default_tax"] == 1
    assert [t["name"] for t in taxes(api) if t["default_tax"]] == ["IVA5"]
    iva23 = next(t for t in taxes(api) if t["name"] == "IVA23")
    assert api.put(f"/taxes/{iva23['id']}.json", json={"tax": {"default_tax": "1"}}).status_code == 200
    assert [t["name"] for t in taxes(api) if t["default_tax"]] == ["IVA23"]


def test_update(api: Api) -> None:
    tax = api.post("/taxes.json", json={"tax": {"name": "Old", "value": 7}}).json()["tax"]
    response = api.put(f"/taxes/{tax['id']}.json", json={"tax": {"name": "New", "value": "8.5", "code": "out"}})
    assert response.status_code == 200
    assert response.json()["tax"] == {**tax, "name": "New", "value": 8.5, "code": "OUT"}
    assert api.get(f"/taxes/{tax['id']}.json").json()["tax"]["name"] == "New"
    clash = api.put(f"/taxes/{tax['id']}.json", json={"tax": {"name": "IVA23"}})
    assert clash.status_code == 422
    assert clash.json() == {"errors": [{"error": "Name has already been taken"}]}


def test_update_ignores_read_only_and_null_fields(api: Api) -> None:
    tax = api.post("/taxes.json", json={"tax": {"name": "Keep", "value": 7}}).json()["tax"]
    sent = {**tax, "id": 999999, "region": None, "value": None, "extra": "ignored"}
    assert api.put(f"/taxes/{tax['id']}.json", json={"tax": sent}).status_code == 200
    assert api.get(f"/taxes/{tax['id']}.json").json()["tax"] == tax


def test_delete(api: Api) -> None:
    tax = api.post("/taxes.json", json={"tax": {"name": "Gone", "value": 7}}).json()["tax"]
    response = api.delete(f"/taxes/{tax['id']}.json")
    assert response.status_code == 200
    assert response.json() == {}
    assert api.get(f"/taxes/{tax['id']}.json").status_code == 404
    assert api.delete(f"/taxes/{tax['id']}.json").status_code == 404


def test_the_default_tax_cannot_be_deleted(api: Api) -> None:
    default = next(t for t in taxes(api) if t["default_tax"])
    response = api.delete(f"/taxes/{default['id']}.json")
    assert response.status_code == 422
    assert default in taxes(api)


def test_unknown_tax_is_404(api: Api) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(method, "/taxes/99999999.json", json={"tax": {"name": "x"}})
        assert response.status_code == 404
        assert response.json() == {"errors": [{"error": "Tax not found"}]}


def test_another_accounts_tax_is_404(server: LiveServer, api: Api) -> None:
    other = server.account()
    foreign = taxes(other)[0]
    assert api.get(f"/taxes/{foreign['id']}.json").status_code == 404
    assert api.put(f"/taxes/{foreign['id']}.json", json={"tax": {"name": "Mine"}}).status_code == 404
    assert api.delete(f"/taxes/{foreign['id']}.json").status_code == 404
    assert taxes(other)[0] == foreign
