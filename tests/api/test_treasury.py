"""Treasury: a client's current account (api-v2 §12, the v3 endpoints) — balance, initial
balance, regularizations, treasury movements — over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ixserver import clock
from tests.api.invoicing import create, credit_note_for, finalize, issue
from tests.support import Api, LiveServer

ITEM = [{"name": "Service", "description": "A service", "unit_price": "100", "quantity": "1", "tax": {"name": "IVA23"}}]
NOT_FOUND = {"errors": [{"error": "Client not found"}]}


def v3(client_id: int, path: str) -> str:
    return f"/api/v3/clients/{client_id}/{path}"


def new_client(api: Api, name: str = "Cliente Exemplo", code: str = "C1") -> int:
    response = api.post("/clients.json", json={"client": {"name": name, "code": code}})
    assert response.status_code == 201, response.text
    return int(response.json()["client"]["id"])


def balance(api: Api, client_id: int) -> dict[str, Any]:
    response = api.get(v3(client_id, "balance.json"))
    assert response.status_code == 200, response.text
    return response.json()


def figures(api: Api, client_id: int) -> tuple[float, ...]:
    """balance with/without VAT, overdue with/without VAT, remaining total/value."""
    found = balance(api, client_id)
    b, o, r = found["balance"], found["overdue_balance"], found["remaining_balance"]
    return (b["with_vat"], b["without_vat"], o["with_vat"], o["without_vat"], r["total"], r["value"])


def set_initial(api: Api, client_id: int, value: Any, date: str = "2023-05-19", **more: Any) -> dict[str, Any]:
    response = api.put(
        v3(client_id, "initial_balance.json"), json={"initial_balance": {"value": value, "date": date, **more}}
    )
    assert response.status_code == 200, response.text
    return response.json()


def regularize(api: Api, client_id: int, value: Any, date: str = "2023-08-24", **more: Any) -> dict[str, Any]:
    response = api.post(
        v3(client_id, "regularization.json"), json={"regularization": {"value": value, "date": date, **more}}
    )
    assert response.status_code == 201, response.text
    listed = response.json()["regularization"]
    assert isinstance(listed, list) and len(listed) == 1, "an array, as documented"
    return dict(listed[0])


def move(api: Api, client_id: int, value: Any, movement_type: str = "Payment", **more: Any) -> dict[str, Any]:
    movement = {"value": value, "movement_type": movement_type, "date": "2023-04-28", **more}
    response = api.post(v3(client_id, "treasury_movements.json"), json={"treasury_movement": movement})
    assert response.status_code == 201, response.text
    return dict(response.json()["treasury_movement"])


def dmy(days_ago: int) -> str:
    return (clock.today() - timedelta(days=days_ago)).strftime("%d/%m/%Y")


# -- balance ---------------------------------------------------------------------------------


def test_a_new_clients_balance_is_the_documented_zero(api: Api) -> None:
    client_id = new_client(api)
    response = api.get(v3(client_id, "balance.json"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "currency": {"symbol": "€", "code": "EUR"},
        "initial_balance": {"value": 0, "created_at": "1970-01-01", "observation": None},
        "balance": {"with_vat": 0, "without_vat": 0},
        "overdue_balance": {"with_vat": 0, "without_vat": 0},
        "remaining_balance": {"total": 0, "value": 0},
    }
    assert '"initial_balance":{"value":0,' in response.text, "a JSON number"


def test_unknown_clients_are_404_on_every_endpoint(server: LiveServer, api: Api) -> None:
    other = server.account()
    theirs = new_client(other)
    entry = {"value": 1, "date": "2023-05-19"}
    for client_id in (999_999_999_999, theirs):
        calls = [
            api.get(v3(client_id, "balance.json")),
            api.put(v3(client_id, "initial_balance.json"), json={"initial_balance": entry}),
            api.get(v3(client_id, "regularization.json")),
            api.post(v3(client_id, "regularization.json"), json={"regularization": entry}),
            api.delete(v3(client_id, "regularization/1.json")),
            api.post(
                v3(client_id, "treasury_movements.json"),
                json={"treasury_movement": {**entry, "movement_type": "Payment"}},
            ),
            api.delete(v3(client_id, "treasury_movements/1.json")),
        ]
        for response in calls:
            assert (response.status_code, response.json()) == (404, NOT_FOUND), response.request.url
    assert balance(other, theirs)["initial_balance"]["value"] == 0, "nothing was set on the other account's client"


def test_issued_documents_count_their_open_amount(api: Api) -> None:
    client_id = new_client(api)
    other_client = new_client(api, "Outro Cliente", "C2")
    # dated and due in the past (issued first: a series' documents are dated in order)
    overdue = issue(api, date=dmy(30), due_date=dmy(10), items=[{**ITEM[0], "unit_price": "50"}])
    assert overdue["total"] == 61.5
    invoice = issue(api, items=ITEM)  # due today: not overdue
    create(api, items=ITEM)  # a draft counts nothing
    issue(api, "invoice_receipt", items=ITEM)  # paid when issued
    issue(api, items=ITEM, client={"name": "Outro Cliente", "code": "C2"})  # another client's
    assert figures(api, client_id) == (184.5, 150.0, 61.5, 50.0, 184.5, 184.5)
    assert figures(api, other_client)[0] == 123.0

    # a credit note takes 10 (12.30 with VAT) back from the invoice once issued
    note = credit_note_for(api, invoice, "10")
    assert figures(api, client_id)[0] == 184.5, "a draft credit note counts nothing"
    finalize(api, "credit_note", note["id"])
    assert figures(api, client_id) == (172.2, 140.0, 61.5, 50.0, 172.2, 172.2)

    # canceling the overdue invoice leaves the invoice alone
    canceled = api.put(
        f"/invoices/{overdue['id']}/change-state.json", json={"invoice": {"state": "canceled", "message": "wrong"}}
    )
    assert canceled.status_code == 200, canceled.text
    assert figures(api, client_id) == (110.7, 90.0, 0, 0, 110.7, 110.7)
    settled = api.put(f"/invoices/{invoice['id']}/change-state.json", json={"invoice": {"state": "settled"}})
    assert settled.status_code == 200, settled.text
    assert figures(api, client_id) == (0, 0, 0, 0, 0, 0)


def test_a_document_in_another_currency_counts_in_euros(api: Api) -> None:
    client_id = new_client(api)
    items = [{"name": "US", "description": "US", "unit_price": "110", "quantity": 1, "tax": {"name": "IVA0"}}]
    issued = issue(api, currency_code="USD", rate="1.10", items=items, tax_exemption="M05")
    assert issued["total"] == 110.0
    found = balance(api, client_id)
    assert found["currency"] == {"symbol": "€", "code": "EUR"}
    assert figures(api, client_id) == (100.0, 100.0, 0, 0, 100.0, 100.0)


# -- initial balance -------------------------------------------------------------------------


def test_the_initial_balance(api: Api) -> None:
    client_id = new_client(api)
    assert set_initial(api, client_id, 123.45) == {
        "initial_balance": {"value": 123.45, "date": "2023-05-19", "observation": None}
    }
    found = balance(api, client_id)
    assert found["initial_balance"] == {"value": 123.45, "created_at": "2023-05-19", "observation": None}
    assert figures(api, client_id) == (123.45, 123.45, 0, 0, 123.45, 123.45)
    # a second PUT replaces it; dates in dd/mm/yyyy are read too, numbers as strings
    replaced = set_initial(api, client_id, "-20.5", "01/02/2024", observation="Saldo transitado")
    assert replaced == {"initial_balance": {"value": -20.5, "date": "2024-02-01", "observation": "Saldo transitado"}}
    assert balance(api, client_id)["initial_balance"] == {
        "value": -20.5,
        "created_at": "2024-02-01",
        "observation": "Saldo transitado",
    }
    assert figures(api, client_id)[0] == -20.5


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"value": 123.45}, "Date can't be blank"),
        ({"value": 123.45, "date": ""}, "Date can't be blank"),
        ({"date": "2023-05-19"}, "Value can't be blank"),
        ({"value": "abc", "date": "2023-05-19"}, "Value is not a number"),
        ({"value": True, "date": "2023-05-19"}, "Value is not a number"),
        ({"value": "1.234", "date": "2023-05-19"}, "Value can have at most 2 decimal places"),
        ({"value": 1, "date": "2023-02-30"}, "Date is not valid"),
        (
            {"value": 1, "date": "2023-05-19", "observation": "x" * 10_001},
            "Observation is too long (at most 10000 characters)",
        ),
    ],
)
def test_initial_balance_refusals(api: Api, sent: dict[str, Any], message: str) -> None:
    client_id = new_client(api)
    set_initial(api, client_id, 7)
    response = api.put(v3(client_id, "initial_balance.json"), json={"initial_balance": sent})
    assert (response.status_code, response.json()) == (422, {"errors": [{"error": message}]})
    assert balance(api, client_id)["initial_balance"]["value"] == 7, "nothing changed"


def test_initial_balance_without_its_element(api: Api) -> None:
    client_id = new_client(api)
    response = api.put(v3(client_id, "initial_balance.json"), json={"value": 1})
    assert (response.status_code, response.json()) == (
        422,
        {"errors": [{"error": "Elemento initial_balance não fornecido"}]},
    )


# -- treasury movements ----------------------------------------------------------------------


def test_treasury_movements_and_their_deletion(api: Api) -> None:
    client_id = new_client(api)
    serie = api.get("/sequences.json").json()["sequences"][0]["serie"]
    set_initial(api, client_id, 100)
    payment = move(
        api, client_id, 123.45, "Payment", payment_method="MB", serie=serie, observation="Payment observation"
    )
    assert payment == {
        "id": payment["id"],
        "value": 123.45,
        "movement_type": "Payment",
        "payment_method": "MB",
        "date": "2023-04-28",
        "serie": serie,
        "observation": "Payment observation",
    }
    assert isinstance(payment["id"], int)
    assert figures(api, client_id) == (-23.45, -23.45, 0, 0, -23.45, -23.45)
    refund = move(api, client_id, "20", "reimbursement", payment_method="tb")
    assert (refund["movement_type"], refund["payment_method"], refund["serie"], refund["observation"]) == (
        "Reimbursement",
        "TB",
        None,
        None,
    )
    assert figures(api, client_id)[0] == -3.45

    deleted = api.delete(v3(client_id, f"treasury_movements/{payment['id']}.json"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert figures(api, client_id)[0] == 120.0
    again = api.delete(v3(client_id, f"treasury_movements/{payment['id']}.json"))
    assert (again.status_code, again.json()) == (404, {"errors": [{"error": "Treasury movement not found"}]})
    other_client = new_client(api, "Outro Cliente", "C2")
    elsewhere = api.delete(v3(other_client, f"treasury_movements/{refund['id']}.json"))
    assert elsewhere.status_code == 404, "a movement is deleted through its own client only"
    assert api.delete(v3(client_id, f"treasury_movements/{refund['id']}.json")).status_code == 204
    assert figures(api, client_id)[0] == 100.0


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"value": "abc"}, "Validation failed: Value is not a number"),
        ({"value": None}, "Validation failed: Value can't be blank"),
        ({"value": 0}, "Validation failed: Value must be greater than 0 and at most 999999999999.99"),
        ({"value": "1.001"}, "Validation failed: Value can have at most 2 decimal places"),
        ({"movement_type": "Refund"}, "Validation failed: Movement type is not included in the list "
                                      "(Reimbursement, Payment)"),
        ({"movement_type": None}, "Validation failed: Movement type can't be blank"),
        ({"payment_method": "XX"}, "Validation failed: Payment method is not included in the list "
                                   "(CC, CD, CH, CI, CO, CS, DE, LC, MB, NU, OU, PR, TB, TR)"),
        ({"date": None}, "Validation failed: Date can't be blank"),
        ({"date": "28-04-2023"}, "Validation failed: Date is not valid"),
        ({"serie": "NOPE"}, "Validation failed: Serie NOPE doesn't exist"),
        ({"value": None, "date": None}, "Validation failed: Value can't be blank, Date can't be blank"),
    ],
)  # fmt: skip
def test_treasury_movement_refusals(api: Api, sent: dict[str, Any], message: str) -> None:
    client_id = new_client(api)
    movement = {"value": 10, "movement_type": "Payment", "payment_method": "MB", "date": "2023-04-28", **sent}
    response = api.post(v3(client_id, "treasury_movements.json"), json={"treasury_movement": movement})
    assert (response.status_code, response.json()) == (422, {"errors": [{"error": message}]})
    assert figures(api, client_id)[0] == 0, "nothing was recorded"


# -- regularizations -------------------------------------------------------------------------


def test_regularizations_are_numbered_without_gaps(api: Api) -> None:
    client_id = new_client(api)
    set_initial(api, client_id, 100)
    first = regularize(api, client_id, 30, observation="Acerto")
    assert first == {
        "id": first["id"],
        "number": "NR00000001",
        "value": 30.0,
        "date": "2023-08-24",
        "observation": "Acerto",
    }
    second = regularize(api, client_id, "20.5")
    assert (second["number"], second["value"], second["observation"]) == ("NR00000002", 20.5, None)
    assert figures(api, client_id) == (49.5, 49.5, 0, 0, 100.0, 49.5)

    listed = api.get(v3(client_id, "regularization.json"))
    assert listed.status_code == 200
    assert listed.json() == {
        "regularization": [first, second],
        "pagination": {"total_entries": 2, "current_page": 1, "total_pages": 1, "per_page": 10},
    }
    paged = api.get(v3(client_id, "regularization.json"), params={"page": 2, "per_page": 1}).json()
    assert paged == {
        "regularization": [second],
        "pagination": {"total_entries": 2, "current_page": 2, "total_pages": 2, "per_page": 1},
    }

    deleted = api.delete(v3(client_id, f"regularization/{second['id']}.json"))
    assert (deleted.status_code, deleted.json()) == (200, {})
    missing = api.delete(v3(client_id, f"regularization/{second['id']}.json"))
    assert (missing.status_code, missing.json()) == (404, {"errors": [{"error": "Regularization not found"}]})
    assert figures(api, client_id) == (70.0, 70.0, 0, 0, 100.0, 70.0)

    # a refused one takes no number; a deleted one's number is not given again
    above = api.post(
        v3(client_id, "regularization.json"), json={"regularization": {"value": "70.01", "date": "2023-08-24"}}
    )
    assert (above.status_code, above.json()) == (
        422, {"errors": [{"error": "The regularization amount must be less than or equal to the remaining balance"}]},
    )  # fmt: skip
    assert regularize(api, client_id, 70)["number"] == "NR00000003"
    assert figures(api, client_id) == (0, 0, 0, 0, 100.0, 0)
    # the counter is the account's: another client's next regularization follows
    other_client = new_client(api, "Outro Cliente", "C2")
    set_initial(api, other_client, 5)
    assert regularize(api, other_client, 5)["number"] == "NR00000004"
    assert [r["number"] for r in api.get(v3(client_id, "regularization.json")).json()["regularization"]] == [
        "NR00000001",
        "NR00000003",
    ]


def test_a_regularization_is_bounded_by_the_remaining_balance_of_invoices(api: Api) -> None:
    client_id = new_client(api)
    issue(api, items=ITEM)
    move(api, client_id, 23)
    assert figures(api, client_id) == (100.0, 77.0, 0, 0, 100.0, 100.0)
    regularize(api, client_id, 100)
    assert figures(api, client_id) == (0, -23.0, 0, 0, 100.0, 0)
    refused = api.post(
        v3(client_id, "regularization.json"), json={"regularization": {"value": "0.01", "date": "2023-08-24"}}
    )
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("sent", "messages"),
    [
        ({"value": 1}, ["Date can't be blank"]),
        ({"date": "2023-08-24"}, ["Value can't be blank"]),
        ({"value": "x", "date": "2023-08-24"}, ["Value is not a number"]),
        ({"value": 0, "date": "2023-08-24"}, ["Value must be greater than 0 and at most 999999999999.99"]),
        ({"value": -5, "date": "2023-08-24"}, ["Value must be greater than 0 and at most 999999999999.99"]),
        (
            {"value": 11},
            ["The regularization amount must be less than or equal to the remaining balance", "Date can't be blank"],
        ),
    ],
)
def test_regularization_refusals(api: Api, sent: dict[str, Any], messages: list[str]) -> None:
    client_id = new_client(api)
    set_initial(api, client_id, 10)
    response = api.post(v3(client_id, "regularization.json"), json={"regularization": sent})
    assert (response.status_code, response.json()) == (422, {"errors": [{"error": m} for m in messages]})
    assert api.get(v3(client_id, "regularization.json")).json()["pagination"]["total_entries"] == 0
    assert regularize(api, client_id, 1)["number"] == "NR00000001", "a refusal takes no number"


def test_an_empty_regularization_list(api: Api) -> None:
    client_id = new_client(api)
    assert api.get(v3(client_id, "regularization.json")).json() == {
        "regularization": [],
        "pagination": {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10},
    }


def test_a_sandbox_reset_takes_the_current_accounts_with_the_clients(server: LiveServer, api: Api) -> None:
    """The rows go with their client (foreign keys, enforced on SQLite too)."""
    from sqlalchemy import func, select

    from ixserver.store.tables import client_initial_balances, regularizations, treasury_movements

    client_id = new_client(api)
    set_initial(api, client_id, 10)
    regularize(api, client_id, 1)
    move(api, client_id, 1)
    assert api.post("/_ixserver/reset").status_code == 200
    with server.db.read() as conn:
        for table in (client_initial_balances, regularizations, treasury_movements):
            assert conn.execute(select(func.count()).where(table.c.client_id == client_id)).scalar() == 0
    fresh = new_client(api)
    set_initial(api, fresh, 10)
    assert regularize(api, fresh, 1)["number"] == "NR00000001", "a reset account numbers afresh"
