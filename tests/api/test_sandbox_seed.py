"""/_ixserver/seed and `ixserver seed`: an account filled through the API's own use cases."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from tests.support import TEST_SECRET_KEY, Api, LiveServer, ixserver_command

FAMILIES = {  # the family's list, and states its documents must show after a seed of 50
    "invoices": {"draft", "final", "settled", "canceled"},
    "estimates": {"draft", "final", "accepted", "refused", "canceled"},
    "guides": {"draft", "final", "canceled"},
    "purchase_orders": {"draft", "final", "canceled"},
}


def states_of(api: Api, family: str) -> set[str]:
    found = api.get(f"/{family}.json", params={"per_page": 100}).json()[family]
    return {d["status"] for d in found}


def environment(server: LiveServer) -> dict[str, str]:
    """The command's settings: the test server's database, data and key, in sandbox mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    return env | {"IXSERVER_DATABASE_URL": server.settings.resolved_database_url,
                  "IXSERVER_SECRET_KEY": TEST_SECRET_KEY, "IXSERVER_DATA_DIR": str(server.settings.data_dir),
                  "IXSERVER_SANDBOX": "1"}  # fmt: skip


def verify(server: LiveServer, account: str) -> subprocess.CompletedProcess[str]:
    return ixserver_command(environment(server), "verify", "--account", account)


def test_a_seeded_account_has_every_family_in_several_states_and_verifies(server: LiveServer, api: Api) -> None:
    response = api.post("/_ixserver/seed", json={"seed": {"documents": 50}})
    assert response.status_code == 201, response.text
    made = response.json()["seed"]
    assert made["clients"] == 8 and made["items"] == 8
    assert {"receipt", "credit_note", "debit_note", "invoice_receipt", "simplified_invoice"} <= made["documents"].keys()
    for family, expected in FAMILIES.items():
        assert expected <= states_of(api, family), family
    receipts = api.get("/receipts.json", params={"per_page": 100}).json()["receipts"]
    assert {r["status"] for r in receipts} == {"final", "canceled"}
    assert len(api.get("/clients.json").json()["clients"]) >= 8  # and the final consumer of simplified invoices
    assert len(api.get("/items.json").json()["items"]) >= 8

    checked = verify(server, api.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_seed_refuses_what_it_cannot_do(api: Api) -> None:
    for sent in ({"documents": 0}, {"documents": 5000}, {"documents": "many"}):
        response = api.post("/_ixserver/seed", json={"seed": sent})
        assert response.status_code == 422, response.text
    assert api.get("/invoices.json").json()["invoices"] == []


def test_the_command_seeds_an_account(server: LiveServer) -> None:
    api = server.account()
    env = environment(server)
    seed = ["seed", api.name, "--documents", "22"]
    result = subprocess.run([sys.executable, "-m", "ixserver", *seed], env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = orjson.loads(result.stdout)["seed"]["documents"]
    assert made["invoice"]["final"] >= 1 and made["shipping"]["canceled"] == 1
    for family, expected in FAMILIES.items():
        assert expected <= states_of(api, family), family
    env.pop("IXSERVER_SANDBOX")
    refused = ixserver_command(env, *seed)
    assert refused.returncode == 1 and "only in sandbox mode" in refused.stderr
