"""/_ixserver/faults: an account's next requests meet the faults it asked for, before they run."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.api.invoicing import body, create, finalize
from tests.support import Api, LiveServer


def add(api: Api, **fault: object) -> httpx.Response:
    return api.post("/_ixserver/faults", json={"fault": fault})


def test_a_faulted_write_answers_the_status_and_writes_nothing(api: Api) -> None:
    added = add(api, method="POST", path="/invoices.json", status=503, times=1)
    assert added.status_code == 201, added.text
    fault = added.json()["fault"]
    assert (fault["method"], fault["path"], fault["status"], fault["times"]) == ("POST", "/invoices.json", 503, 1)
    assert api.get("/_ixserver/faults").json()["faults"] == [fault]

    refused = api.post("/invoices.json", json={"invoice": body()})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["error"].startswith("Fault injected")
    assert api.get("/invoices.json").json()["invoices"] == [], "nothing was written"
    assert api.get("/_ixserver/faults").json()["faults"] == [], "its one time is used"
    assert api.post("/invoices.json", json={"invoice": body()}).status_code == 201


def test_patterns_methods_and_other_accounts(server: LiveServer, api: Api) -> None:
    invoice = create(api)
    add(api, method="GET", path="/invoices/*.json", status=500, times=2)
    assert api.get(f"/invoices/{invoice['id']}.json").status_code == 500
    assert server.account().get("/invoices/1.json").status_code == 404, "another account meets no fault"
    assert api.put(f"/invoices/{invoice['id']}.json", json={"invoice": body()}).status_code == 200, "another method"
    assert api.get("/invoices.json").status_code == 200, "a path the pattern does not cover"
    assert api.get(f"/invoices/{invoice['id']}.json").status_code == 500
    assert api.get(f"/invoices/{invoice['id']}.json").status_code == 200


def test_the_pdf_answers_202_as_many_times_as_asked(api: Api) -> None:
    invoice = finalize(api, "invoice", create(api)["id"])
    assert add(api, pdf_pending=2).status_code == 201
    path = f"/api/pdf/{invoice['id']}.json"
    for _ in range(2):
        pending = api.get(path)
        assert pending.status_code == 202
        assert pending.json()["accepted"]["code"] == "202"
    ready = api.get(path)
    assert ready.status_code == 200 and ready.json()["output"]["pdfUrl"]


def test_a_delay_and_a_closed_connection(api: Api) -> None:
    add(api, path="/clients.json", delay_ms=300)
    started = time.monotonic()
    assert api.get("/clients.json").status_code == 200
    assert time.monotonic() - started >= 0.3
    add(api, method="POST", path="/clients.json", close=True)
    with pytest.raises(httpx.TransportError):
        api.post("/clients.json", json={"client": {"name": "Nunca", "code": "N1"}})
    assert api.get("/clients.json").json()["clients"] == [], "nothing was written"


def test_always_and_clearing(api: Api) -> None:
    add(api, path="/items.json", status=429, always=True)
    for _ in range(3):
        assert api.get("/items.json").status_code == 429
    assert api.get("/_ixserver/faults").json()["faults"][0]["times"] is None
    assert api.delete("/_ixserver/faults").json() == {"cleared": 1}
    assert api.get("/items.json").status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"path": "invoices.json", "status": 503},
        {"path": "/invoices.json", "status": 302},
        {"path": "/invoices.json"},
        {"path": "/invoices.json", "status": 503, "close": True},
        {"path": "/invoices.json", "status": 503, "times": 0},
        {"path": "/invoices.json", "status": 503, "method": "BREW"},
        {"path": "/_ixserver/reset", "status": 503},
        {"pdf_pending": 0},
        {"path": "/invoices.json", "delay_ms": 600_000},
    ],
)
def test_bad_faults_are_refused(api: Api, fault: dict[str, object]) -> None:
    response = add(api, **fault)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["error"]
    assert api.get("/_ixserver/faults").json()["faults"] == []


def test_an_account_holds_a_bounded_number_of_faults(api: Api) -> None:
    from ixserver.store.sandbox_state import MAX_FAULTS

    for n in range(MAX_FAULTS):
        add(api, path=f"/never/{n}.json", status=500)
    refused = api.post("/_ixserver/faults", json={"fault": {"path": "/items.json", "status": 503}})
    assert refused.status_code == 422 and f"at most {MAX_FAULTS} faults" in refused.json()["errors"][0]["error"]
    assert len(api.get("/_ixserver/faults").json()["faults"]) == MAX_FAULTS, "nothing added"
    assert api.delete("/_ixserver/faults").status_code == 200
    add(api, path="/items.json", status=503)
    assert api.get("/items.json").status_code == 503
