"""The accounts API (api-v2 §13) and AT credentials."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.support import Api, LiveServer, live_server

ACCOUNT = {
    "first_name": "John",
    "last_name": "Doe",
    "organization_name": "My Company",
    "phone": "912345678",
    "email": "john.doe@example.com",
    "password": "secret123",
    "fiscal_id": "508025338",
    "tax_country": "1",
    "language": "pt",
    "terms": "1",
    "marketing": "0",
}


def unique_email(api: Api) -> str:
    return f"{api.name}@example.com"


def open_account(api: Api, **fields: object) -> httpx.Response:
    return api.post("/api/accounts/create.json", json={"account": {**ACCOUNT, "email": unique_email(api), **fields}})


def test_create_returns_a_key_that_works_at_once(server: LiveServer, api: Api) -> None:
    response = open_account(api)
    assert response.status_code == 201
    account = response.json()["account"]
    assert list(account) == ["id", "name", "url", "api_key", "state"]
    assert type(account["id"]) is str and account["name"] == "My Company" and account["state"] == "active"
    name = account["url"].split("//")[1].split(".")[0]
    assert name.startswith("mycompany")
    assert account["url"] == f"http://{name}.localhost"
    new = Api(server.url, account["api_key"], name)
    assert new.get("/sequences.json").status_code == 200
    assert [t["name"] for t in new.get("/taxes.json").json()["taxes"]] == ["IVA23", "IVA13", "IVA6", "IVA0"]
    assert new.get("/sequences.json", headers={"Host": f"{name}.localhost"}).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"terms": "0"}, "Terms and Conditions must be accepted"),
        ({"email": "nope"}, "Email is invalid"),
        ({"organization_name": ""}, "Organization name can't be blank"),
        ({"password": "123"}, "Password is too short (minimum is 6 characters)"),
        ({"fiscal_id": "508025339"}, "Fiscal ID is invalid"),
        ({"tax_country": "9"}, "Tax country is not valid (1 Portugal, 2 Ireland, 3 United Kingdom)"),
        ({"language": "de"}, "Language is not included in the list (pt, en, es)"),
    ],
)
def test_create_validates(api: Api, fields: dict, message: str) -> None:
    response = open_account(api, **fields)
    assert response.status_code == 422
    assert message in [e["error"] for e in response.json()["errors"]]


def test_create_refuses_an_email_that_has_a_user(api: Api) -> None:
    assert open_account(api).status_code == 201
    again = open_account(api, organization_name="Second")
    assert again.status_code == 422
    assert again.json() == {"errors": [{"error": "Email has already been taken"}]}


def test_create_needs_a_key(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/api/accounts/create.json", json={"account": ACCOUNT})
    assert response.status_code == 401 and response.content == b""


def test_a_user_with_several_accounts(server: LiveServer, api: Api) -> None:
    first = open_account(api).json()["account"]
    first_api = Api(server.url, first["api_key"], first["url"].split("//")[1].split(".")[0])
    response = first_api.post(
        "/api/accounts/create_already_user.json", json={"account": {"organization_name": "My Company", "terms": "1"}}
    )
    assert response.status_code == 200
    second = response.json()["account"]
    assert second["id"] != first["id"] and second["url"] != first["url"], "the same organization gets a free name"
    # the user sees both accounts; another account sees neither
    assert first_api.get(f"/api/accounts/{second['id']}/get.json").status_code == 200
    stranger = server.account()
    assert stranger.get(f"/api/accounts/{first['id']}/get.json").status_code == 404
    terms = first_api.post("/api/accounts/create_already_user.json", json={"account": {"organization_name": "X"}})
    assert terms.status_code == 422
    assert terms.json() == {"errors": [{"error": "Terms and Conditions should be accepted"}]}


def test_create_already_user_from_an_account_without_a_user(server: LiveServer, api: Api) -> None:
    # accounts made by `ixserver accounts create` have no user: the request names one
    body = {
        "account": {"organization_name": "Branch", "terms": "1", "email": unique_email(api), "password": "secret123"}
    }
    response = api.post("/api/accounts/create_already_user.json", json=body)
    assert response.status_code == 200
    branch_id = response.json()["account"]["id"]
    assert api.get(f"/api/accounts/{branch_id}/get.json").status_code == 200
    no_user = server.account().post(
        "/api/accounts/create_already_user.json", json={"account": {"organization_name": "Y", "terms": "1"}}
    )
    assert no_user.status_code == 422


def test_get_and_update(server: LiveServer, api: Api) -> None:
    created = open_account(api).json()["account"]
    mine = Api(server.url, created["api_key"], "x")
    details = mine.get(f"/api/accounts/{created['id']}/get.json")
    assert details.status_code == 200
    account = details.json()["account"]
    shown = ("organization_name", "fiscal_id", "email", "state", "at_configured", "trial", "tax_country")
    assert {k: account[k] for k in shown} == {
        "organization_name": "My Company", "fiscal_id": "508025338", "email": unique_email(api), "state": "active",
        "at_configured": False, "trial": False, "tax_country": "1",
    }  # fmt: skip
    update = {
        "organization_name": "New Name",
        "address": "Main Street, 123",
        "city": "Lisbon",
        "postal_code": "1000-001",
        "terms": "1",
    }
    response = mine.put(f"/api/accounts/{created['id']}/update.json", json={"account": update})
    assert response.status_code == 200
    after = mine.get(f"/api/accounts/{created['id']}/get.json").json()["account"]
    assert (after["organization_name"], after["address"], after["city"], after["postal_code"]) == (
        "New Name",
        "Main Street, 123",
        "Lisbon",
        "1000-001",
    )
    vat = mine.put(f"/api/accounts/{created['id']}/update.json", json={"account": {"fiscal_id": "503504564"}})
    assert vat.status_code == 422 and vat.json() == {"errors": [{"error": "Vat Number can't be changed"}]}
    postal = mine.put(f"/api/accounts/{created['id']}/update.json", json={"account": {"postal_code": "1000"}})
    assert postal.status_code == 422
    assert postal.json() == {"errors": [{"error": "Postal Code must have the following format DDDD-DDD"}]}
    assert mine.get("/api/accounts/99999999/get.json").status_code == 404


def b64(text_value: str) -> str:
    return base64.b64encode(text_value.encode()).decode()


def test_at_communication_stores_credentials_encrypted(server: LiveServer) -> None:
    api = server.account(fiscal_id="508025338")
    response = api.post(
        "/api/v3/accounts/at_communication.json",
        json={
            "at_communication": {
                "at_subuser": "508025338/1",
                "at_password": b64("s3cr3t-pw"),
                "communication_type": "auto",
            }
        },
    )
    assert response.status_code == 200 and response.json() == {"success": "true"}
    with server.db.read() as conn:
        stored = conn.execute(
            text("SELECT at_subuser, at_password_encrypted FROM accounts WHERE name = :n"), {"n": api.name}
        ).one()
    assert stored[0] == "508025338/1"
    assert "s3cr3t-pw" not in stored[1] and b64("s3cr3t-pw") not in stored[1]
    # registration with AT now runs with these credentials
    assert api.post("/sequences.json", json={"sequence": {"serie": "CRED"}}).status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"at_subuser": "5080/1", "at_password": b64("x"), "communication_type": "auto"},
         "The field at_subuser has an incorrect size"),
        ({"at_subuser": "508025338/1", "at_password": "%%%", "communication_type": "auto"},
         "The field at_password must be encoded in Base64"),
        ({"at_subuser": "508025338/1", "at_password": b64("x"), "communication_type": "fax"},
         "The field communication_type must be one of: auto, manual, guides, portal_at"),
        ({"at_subuser": "503504564/1", "at_password": b64("x"), "communication_type": "auto"},
         "Invalid Tax Authority credentials."),
    ],
)  # fmt: skip
def test_at_communication_refuses(server: LiveServer, body: dict, message: str) -> None:
    api = server.account(fiscal_id="508025338")
    response = api.post("/api/v3/accounts/at_communication.json", json={"at_communication": body})
    assert response.status_code == 422
    assert message in [e["error"] for e in response.json()["errors"]]


def test_register_with_credentials_of_another_nif_is_422_code_002(server: LiveServer) -> None:
    api = server.account(registered=False)
    body = {"at_communication": {"at_subuser": "503504564/1", "at_password": b64("pw"), "communication_type": "auto"}}
    assert api.post("/api/v3/accounts/at_communication.json", json=body).status_code == 200  # no NIF yet: any valid one
    with server.db.transaction() as conn:
        conn.execute(text("UPDATE accounts SET fiscal_id = '508025338' WHERE name = :n"), {"n": api.name})
    seq_id = api.get("/sequences.json").json()["sequences"][0]["id"]
    response = api.put(f"/sequences/{seq_id}/register.json")
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Invalid Tax Authority credentials.", "code": "002"}]}


@pytest.fixture(scope="module")
def slow(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A sandbox server of the session's database whose AT takes 1.5 s to answer, and whose daily
    cap of accounts created (production's, not a sandbox's) is 2."""
    with live_server(
        server.settings.resolved_database_url, tmp_path_factory.mktemp("slow"), sandbox=True,
        at_simulator_delay=1.5, account_creations_per_day=2,
    ) as srv:  # fmt: skip
        yield srv


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v3/accounts/at_communication.json",
         {"at_communication": {"at_subuser": "508025338/1", "at_password": b64("pw"), "communication_type": "auto"}}),
        ("/api/accounts/{id}/update.json",
         {"account": {"credentials": {"username": "508025338/2", "password": b64("pw")}}}),
    ],
    ids=["at_communication", "update"],
)  # fmt: skip
def test_at_answers_while_no_transaction_is_open(slow: LiveServer, path: str, body: dict) -> None:
    """AT takes 1.5 s to check the credentials: the server's other writes go on meanwhile."""
    api, other = slow.account(fiscal_id="508025338"), slow.account()
    account_id = _account_id(slow, api)
    results: list[httpx.Response] = []
    method = api.post if "at_communication" in path else api.put
    checking = threading.Thread(target=lambda: results.append(method(path.format(id=account_id), json=body)))
    started = time.monotonic()
    checking.start()
    durations: list[float] = []
    while checking.is_alive() and len(durations) < 200:
        before = time.monotonic()
        created = other.post(
            "/clients.json", json={"client": {"name": f"C{len(durations)}", "code": f"C{len(durations)}"}}
        )
        durations.append(time.monotonic() - before)
        assert created.status_code == 201, created.text
    checking.join()
    assert results[0].status_code == 200, results[0].text
    assert time.monotonic() - started >= 1.5, "AT answered as slowly as it was told to"
    assert len(durations) >= 3 and max(durations) < 1.0, f"a write waited for AT: {max(durations):.2f} s"
    with slow.db.read() as conn:
        stored = conn.execute(text("SELECT at_subuser FROM accounts WHERE name = :n"), {"n": api.name}).scalar()
    assert stored == ("508025338/1" if "at_communication" in body else "508025338/2")


def _account_id(server: LiveServer, api: Api) -> int:
    from ixserver.services.accounts import get_account

    with server.db.read() as conn:
        return get_account(conn, api.name).id


PARTNER, CREATORS = "partner", ["creator-a", "creator-b"]


@pytest.fixture(scope="module")
def creating(production: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A production server of the session's production database that lists the accounts whose
    keys create accounts (IXSERVER_ACCOUNT_CREATORS), each at most 2 a day."""
    with live_server(
        production.settings.resolved_database_url, tmp_path_factory.mktemp("creating"), sandbox=False,
        account_creators=[PARTNER, *CREATORS], account_creations_per_day=2,
    ) as srv:  # fmt: skip
        yield srv


def test_outside_sandbox_mode_only_the_listed_accounts_create_accounts(
    production: LiveServer, creating: LiveServer
) -> None:
    api = production.account()  # none listed (the default)
    response = open_account(api)
    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"error": "This API key may not create accounts (IXSERVER_ACCOUNT_CREATORS)"}]
    }
    partner = production.account(PARTNER)
    assert open_account(partner).status_code == 403
    listed = Api(creating.url, partner.key, partner.name)
    assert open_account(listed).status_code == 201
    assert open_account(creating.account()).status_code == 403, "only the listed ones"


def test_in_production_an_account_creates_a_limited_number_of_accounts_a_day(creating: LiveServer) -> None:
    api, other = creating.account(CREATORS[0]), creating.account(CREATORS[1])
    created = [open_account(api, organization_name=f"Org {n}", email=f"{n}.{api.name}@example.com") for n in range(2)]
    assert [response.status_code for response in created] == [201, 201], created[-1].text
    refused = open_account(api, organization_name="Org 3")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert refused.json() == {"errors": [{"error": "Too many accounts created: at most 2 a day"}]}
    assert open_account(other, organization_name="Org 4").status_code == 201, "counted per creating account"


def test_in_sandbox_accounts_are_created_without_a_daily_cap(slow: LiveServer) -> None:
    """A test suite makes as many accounts as it needs: the daily cap is production's."""
    api = slow.account()
    created = [open_account(api, organization_name=f"Org {n}", email=f"{n}.{api.name}@example.com") for n in range(5)]
    assert [response.status_code for response in created] == [201] * 5, created[-1].text
