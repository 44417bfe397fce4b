"""Clients (api-v2 §10, clients.md §2.2, §2.4, §4)."""

from __future__ import annotations

import pytest
from invoicexpress_api import clients as ix_clients
from invoicexpress_api.core import Client as IXClient

from tests.support import Api, LiveServer

FULL = {
    "name": "Ricardo Pereira",
    "code": "TEST_RP",
    "email": "someone@example.com",
    "language": "en",
    "address": "Avenida da República, Lisboa",
    "city": "Lisboa",
    "postal_code": "1050-555",
    "country": "Portugal",
    "fiscal_id": "508025338",
    "website": "www.invoicexpress.com",
    "phone": "213456789",
    "fax": "213456788",
    "preferred_contact": {
        "name": "Bruce Norris",
        "email": "email@invoicexpress.com",
        "phone": "213456789",
        "mobile": "912345678",
    },
    "observations": "Computer Processed",
    "send_options": "2",
    "payment_days": "30",
    "tax_exemption_code": "M07",
}
KEYS = [
    "id", "name", "code", "language", "email", "address", "city", "postal_code", "fiscal_id", "website",
    "country", "phone", "fax", "preferred_contact", "observations", "open_account_link", "send_options",
    "payment_days", "tax_exemption_code",
]  # fmt: skip


def create(api: Api, **client: object) -> dict:
    response = api.post("/clients.json", json={"client": {"name": "Client", "code": "C1", **client}})
    assert response.status_code == 201, response.text
    return response.json()["client"]


def test_every_field_round_trips(api: Api) -> None:
    created = create(api, **FULL)
    assert list(created) == KEYS
    assert type(created["id"]) is int
    expected = {**FULL, "preferred_contact": {**FULL["preferred_contact"], "mobile": 912345678}}
    assert {k: v for k, v in created.items() if k not in ("id", "open_account_link")} == expected
    assert api.get(f"/clients/{created['id']}.json").json() == {"client": created}


def test_numbers_may_come_as_numbers(api: Api) -> None:
    created = create(api, send_options=3, payment_days=15, phone=912345678, code=12345)
    assert (created["send_options"], created["payment_days"], created["phone"], created["code"]) == (
        "3",
        "15",
        "912345678",
        "12345",
    )


def test_defaults(api: Api) -> None:
    created = create(api)
    assert created["country"] == "Portugal" and created["language"] == "pt"
    assert (created["send_options"], created["payment_days"]) == ("1", "0")
    assert created["email"] is None and created["preferred_contact"] == {
        "name": None,
        "email": None,
        "phone": None,
        "mobile": None,
    }


def test_fiscal_id_is_kept_exactly_as_sent(api: Api) -> None:
    # Odoo compares it with the VAT as it stores it, e.g. "PT508025338" (clients.md §2.2)
    assert create(api, fiscal_id="PT508025338")["fiscal_id"] == "PT508025338"


@pytest.mark.parametrize(
    ("client", "message"),
    [
        ({"fiscal_id": "508025339"}, "Fiscal ID is not a valid Portuguese NIF (wrong check digit)"),
        ({"fiscal_id": "abc"}, "Fiscal ID is not a valid Portuguese NIF (wrong check digit)"),
        ({"country": "Germani"}, "Country Germani was not found"),
        ({"language": "fr"}, "Language is not included in the list (pt, en, es)"),
        ({"email": "not-an-email"}, "Email is invalid"),
        ({"send_options": "4"}, "Send options must be within 1 and 3"),
        ({"send_options": "x"}, "Send options is not a number"),
        ({"payment_days": -1}, "Payment days must be greater than or equal to 0"),
        ({"preferred_contact": {"email": "nope"}}, "Preferred contact: email must be an email"),
        ({"preferred_contact": "x"}, "Client contact is invalid"),
        ({"preferred_contact": ["Bruce Norris"]}, "Client contact is invalid"),
        ({"preferred_contact": 912345678}, "Client contact is invalid"),
        ({"preferred_contact": True}, "Client contact is invalid"),
        ({"name": ""}, "Name can't be blank"),
        ({"tax_exemption_code": "M03"}, None),
    ],
)
def test_invalid_clients_are_422_and_change_nothing(api: Api, client: dict, message: str | None) -> None:
    response = api.post("/clients.json", json={"client": {"name": "N", "code": "K", **client}})
    assert response.status_code == 422
    errors = [e["error"] for e in response.json()["errors"]]
    assert message in errors if message else errors[0].startswith("Tax exemption code should be one of: M01")
    assert api.get("/clients.json").json()["clients"] == []


def test_foreign_clients_keep_their_tax_ids(api: Api) -> None:
    created = create(api, country="spain", fiscal_id="ESB12345678")
    assert created["country"] == "Spain" and created["fiscal_id"] == "ESB12345678"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("Portugal", "Portugal"), ("PORTUGAL", "Portugal"), ("PT", "Portugal"), ("pt", "Portugal"), ("PT-AC", "Portugal"),
     ("ES", "Spain"), ("Espanha", "Spain"), ("Alemanha", "Germany"), ("França", "France"), ("franca", "France"),
     ("Reino Unido", "UK"), ("United Kingdom", "UK"), ("GB", "UK"), ("Estados Unidos", "United States"),
     ("Países Baixos", "Netherlands"), ("Holanda", "Netherlands"), ("Åland Islands", "Åland Islands")],
)  # fmt: skip
def test_a_country_by_its_code_or_portuguese_name_is_kept_as_the_list_names_it(api: Api, sent: str, kept: str) -> None:
    """The country list (the spec's appendix) names what InvoiceXpress accepts; clients also send
    ISO codes and Portuguese names: each is kept as the list (or the tax-country table) names it."""
    created = create(api, country=sent, fiscal_id=None)
    assert created["country"] == kept
    assert (
        api.put(f"/clients/{created['id']}.json", json={"client": {"name": "Client", "country": sent}}).json()[
            "client"
        ]["country"]
        == kept
    )


@pytest.mark.parametrize("country", ["Narnia", "XX", "Sudão do Sul", "P T", "Portugall"])
def test_a_country_off_the_list_is_422_everywhere_a_client_is_given(api: Api, country: str) -> None:
    message = f"Country {country} was not found"
    assert api.post("/clients.json", json={"client": {"name": "N", "code": "K", "country": country}}).json() == {
        "errors": [{"error": message}]
    }
    created = create(api)
    updated = api.put(f"/clients/{created['id']}.json", json={"client": {"name": "Client", "country": country}})
    assert (updated.status_code, updated.json()) == (422, {"errors": [{"error": message}]})
    document = {"date": "01/01/2026", "due_date": "01/01/2026",
                "client": {"name": "Other", "code": "O1", "country": country},
                "items": [{"name": "Pencil", "unit_price": "1", "quantity": "1"}]}  # fmt: skip
    refused = api.post("/invoices.json", json={"invoice": document})
    assert (refused.status_code, refused.json()) == (422, {"errors": [{"error": f"Client: {message}"}]})
    assert api.get("/clients.json").json()["clients"] == [created]


def test_a_preferred_contact_that_is_not_an_object_is_422_on_update_and_in_a_document(api: Api) -> None:
    created = create(api, preferred_contact={"name": "Bruce Norris"})
    updated = api.put(f"/clients/{created['id']}.json", json={"client": {"name": "Client", "preferred_contact": "x"}})
    assert (updated.status_code, updated.json()) == (422, {"errors": [{"error": "Client contact is invalid"}]})
    assert api.get(f"/clients/{created['id']}.json").json() == {"client": created}
    document = {"date": "01/01/2026", "due_date": "01/01/2026",
                "client": {"name": "Client", "code": "C1", "preferred_contact": "x"},
                "items": [{"name": "Pencil", "unit_price": "1", "quantity": "1"}]}  # fmt: skip
    refused = api.post("/invoices.json", json={"invoice": document})
    assert (refused.status_code, refused.json()) == (422, {"errors": [{"error": "Client contact is invalid"}]})


def test_duplicate_code_or_name_is_422(api: Api) -> None:
    create(api, name="A", code="SAME")
    code = api.post("/clients.json", json={"client": {"name": "B", "code": "SAME"}})
    assert code.status_code == 422 and code.json() == {"errors": [{"error": "Code has already been taken"}]}
    name = api.post("/clients.json", json={"client": {"name": "A", "code": "OTHER"}})
    assert name.status_code == 422 and name.json() == {"errors": [{"error": "Name has already been taken"}]}


def test_a_client_without_code_gets_one(api: Api) -> None:
    response = api.post("/clients.json", json={"client": {"name": "No Code"}})
    assert response.status_code == 201
    code = response.json()["client"]["code"]
    assert code == str(response.json()["client"]["id"])
    assert api.get("/clients/find-by-code.json", params={"client_code": code}).json()["client"]["name"] == "No Code"


def test_find_by_name_and_code(api: Api) -> None:
    created = create(api, name="Exact Name", code="EX-1")
    assert api.get("/clients/find-by-name.json", params={"client_name": "Exact Name"}).json() == {"client": created}
    assert api.get("/clients/find-by-code.json", params={"client_code": "EX-1"}).json() == {"client": created}
    for path, params in [
        ("/clients/find-by-name.json", {"client_name": "Exact"}),  # no partial search
        ("/clients/find-by-code.json", {"client_code": "EX"}),
    ]:
        miss = api.get(path, params=params)
        assert miss.status_code == 404
        assert miss.json() == {"errors": [{"error": "Client not found"}]}
    assert api.get("/clients/find-by-code.json").status_code == 422


def test_odoo_19_finds_then_creates_or_updates(api: Api) -> None:
    headers = {"content-type": "application/json", "accept": "application/json"}
    vals = {
        "name": "ACME, Lda",
        "code": "ODOO-42",
        "email": "geral@acme.pt",
        "country": "Portugal",
        "fiscal_id": "PT508025338",
        "language": "pt",
    }
    miss = api.get("/clients/find-by-code.json", params={"client_code": "ODOO-42"}, headers=headers)
    assert miss.status_code == 404
    created = api.post("/clients.json", json={"client": vals}, headers=headers)
    assert created.status_code == 201
    found = api.get("/clients/find-by-code.json", params={"client_code": "ODOO-42"}, headers=headers).json()["client"]
    assert found["fiscal_id"] == "PT508025338"
    updated = api.put(f"/clients/{found['id']}.json", json={"client": {**vals, "city": "Porto"}}, headers=headers)
    assert updated.status_code == 200
    assert api.get(f"/clients/{found['id']}.json").json()["client"]["city"] == "Porto"


def test_odoo_14_creates_then_looks_up_on_422(api: Api) -> None:
    vals = {"name": "Beta", "code": "ODOO-7"}
    assert api.post("/clients.json", json={"client": vals}).status_code == 201
    again = api.post("/clients.json", json={"client": {**vals, "city": "Faro"}})
    assert again.status_code == 422, "a second client with the same code would be a duplicate"
    found = api.get("/clients/find-by-code.json", params={"client_code": "ODOO-7"}).json()["client"]
    assert api.put(f"/clients/{found['id']}.json", json={"client": {**vals, "city": "Faro"}}).status_code == 200
    assert len(api.get("/clients.json").json()["clients"]) == 1


def test_put_back_the_whole_get_document(api: Api) -> None:
    created = create(api, **FULL)
    response = api.put(
        f"/clients/{created['id']}.json", json={"client": {**created, "id": 1, "open_account_link": "x"}}
    )
    assert response.status_code == 200
    assert api.get(f"/clients/{created['id']}.json").json()["client"] == created


def test_partial_update_and_nulls(api: Api) -> None:
    created = create(api, **FULL)
    response = api.put(
        f"/clients/{created['id']}.json",
        json={"client": {"name": FULL["name"], "city": "Porto", "email": None, "fax": ""}},
    )
    assert response.status_code == 200
    after = api.get(f"/clients/{created['id']}.json").json()["client"]
    assert after == {**created, "city": "Porto", "fax": None}, "null is ignored; an empty string clears"


def test_update_needs_the_name_and_keeps_uniqueness(api: Api) -> None:
    first = create(api, name="One", code="1")
    create(api, name="Two", code="2")
    no_name = api.put(f"/clients/{first['id']}.json", json={"client": {"city": "Porto"}})
    assert no_name.status_code == 422 and no_name.json() == {"errors": [{"error": "Name can't be blank"}]}
    clash = api.put(f"/clients/{first['id']}.json", json={"client": {"name": "Two"}})
    assert clash.status_code == 422
    assert api.get(f"/clients/{first['id']}.json").json()["client"] == first


def test_pagination_and_order(api: Api) -> None:
    ids = [create(api, name=f"c{n:02d}", code=f"k{n:02d}")["id"] for n in range(25)]
    default = api.get("/clients.json").json()
    assert [c["id"] for c in default["clients"]] == ids[:10]
    assert default["pagination"] == {"total_entries": 25, "current_page": 1, "total_pages": 3, "per_page": 10}
    third = api.get("/clients.json", params={"page": "3", "per_page": "10"}).json()
    assert [c["id"] for c in third["clients"]] == ids[20:]
    beyond = api.get("/clients.json", params={"page": 4}).json()
    assert beyond["clients"] == [] and beyond["pagination"]["total_entries"] == 25
    clamped = api.get("/clients.json", params={"per_page": 1000}).json()
    assert clamped["pagination"]["per_page"] == 100 and len(clamped["clients"]) == 25
    bad = api.get("/clients.json", params={"page": "x"})
    assert bad.status_code == 422 and bad.json() == {"errors": [{"error": "page is not a number"}]}


def test_list_filtered_by_fiscal_id(api: Api) -> None:
    wanted = create(api, name="A", code="A", fiscal_id="508025338")
    create(api, name="B", code="B")
    listed = api.get("/clients.json", params={"fiscal_id": "508025338"}).json()
    assert [c["id"] for c in listed["clients"]] == [wanted["id"]]


def test_a_clients_invoices(api: Api) -> None:
    from tests.api.invoicing import create as create_document
    from tests.api.invoicing import issue

    created = create(api, name="Mine", code="M")
    assert api.post(f"/clients/{created['id']}/invoices.json").json() == {
        "invoices": [], "pagination": {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10},
    }  # fmt: skip
    draft = create_document(api, client={"name": "Mine", "code": "M"})
    final = issue(api, client={"name": "Mine", "code": "M"})
    receipt = issue(api, "invoice_receipt", client={"name": "Mine", "code": "M"})
    issue(api, client={"name": "Someone else", "code": "S"})

    def ids(method: str = "POST", **kw: object) -> list[int]:
        response = api.request(method, f"/clients/{created['id']}/invoices.json", **kw)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["invoices"]]

    assert ids() == [receipt["id"], final["id"], draft["id"]]
    assert ids(json={"filter": {"status": ["final"]}}) == [final["id"]]
    assert ids(json={"filter": {"by_type": ["InvoiceReceipt"]}}) == [receipt["id"]]
    assert ids(json={"filter": {"archived": ["archived"]}}) == []
    assert ids("GET", params={"status[]": "draft"}) == [draft["id"]]
    assert api.post("/clients/99999999/invoices.json").status_code == 404


def test_another_accounts_client_is_404(server: LiveServer, api: Api) -> None:
    other = server.account()
    foreign = create(other, name="Theirs", code="T1")
    assert api.get(f"/clients/{foreign['id']}.json").status_code == 404
    assert api.put(f"/clients/{foreign['id']}.json", json={"client": {"name": "Mine"}}).status_code == 404
    assert api.post(f"/clients/{foreign['id']}/invoices.json").status_code == 404
    assert api.get("/clients/find-by-code.json", params={"client_code": "T1"}).status_code == 404
    assert api.get("/clients/find-by-name.json", params={"client_name": "Theirs"}).status_code == 404
    assert api.get("/clients.json").json()["clients"] == []
    assert other.get(f"/clients/{foreign['id']}.json").json() == {"client": foreign}


def test_the_pypi_client_library(server: LiveServer, api: Api) -> None:
    """bitmario's `invoicexpress-api` (PyPI), unmodified, pointed at this server."""
    client = IXClient(api.name, api.key)
    client.base_url = server.url + "/"
    created = ix_clients.create(client, {"client": {"name": "PyPI Lda", "code": "PYPI", "email": "a@b.pt"}})
    client_id = created["client"]["id"]
    assert ix_clients.get(client, client_id)["client"]["name"] == "PyPI Lda"
    ix_clients.update(client, client_id, {"client": {"name": "PyPI Lda", "city": "Braga"}})
    assert ix_clients.code_search(client, "PYPI")["client"]["city"] == "Braga"
    with pytest.raises(ValueError, match="422"):
        ix_clients.create(client, {"client": {"name": "Other", "code": "PYPI"}})
