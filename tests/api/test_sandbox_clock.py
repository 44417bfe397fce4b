"""/_ixserver/clock: an account's time, read by every rule that reads "today" (sandbox only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.api.invoicing import change, finalize
from tests.support import Api, LiveServer, fresh_database, live_server

LINE = {"name": "Pencil", "description": "A pencil", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}


def undated(**fields: Any) -> dict[str, Any]:
    return {"client": {"name": "Cliente Relógio", "code": "CR1"}, "items": [LINE], **fields}


def draft(api: Api, **fields: Any) -> dict[str, Any]:
    response = api.post("/invoices.json", json={"invoice": undated(**fields)})
    assert response.status_code == 201, response.text
    return response.json()["invoice"]


def set_clock(api: Api, **clock: str) -> httpx.Response:
    return api.put("/_ixserver/clock", json={"clock": clock})


def test_documents_are_dated_and_issued_on_the_accounts_clock(api: Api, server: LiveServer) -> None:
    assert api.get("/_ixserver/clock").json()["clock"]["real"] is True
    response = set_clock(api, now="2027-01-15T10:00:00+00:00")
    assert response.status_code == 200, response.text
    shown = api.get("/_ixserver/clock").json()["clock"]
    assert (shown["today"], shown["real"]) == ("2027-01-15", False)
    assert (
        timedelta(0)
        <= datetime.fromisoformat(shown["now"]) - datetime.fromisoformat("2027-01-15T10:00:00+00:00")
        < timedelta(minutes=1)
    )

    invoice = draft(api)
    assert invoice["date"] == "15/01/2027"
    issued = finalize(api, "invoice", invoice["id"])
    assert issued["date"] == "15/01/2027" and issued["status"] == "final"
    with server.db.read() as conn:
        placeholder = "?" if server.db.dialect == "sqlite" else "%s"
        entry = conn.exec_driver_sql(f"SELECT system_entry_date FROM documents WHERE id = {placeholder}",
                                     (invoice["id"],)).scalar()  # fmt: skip
    assert str(entry).startswith("2027-01-15T10:0"), entry  # Lisbon time: UTC in January

    # Other accounts keep the server's time.
    assert server.account().get("/_ixserver/clock").json()["clock"]["real"] is True


def test_advancing_past_the_due_date_makes_a_document_overdue(api: Api) -> None:
    set_clock(api, now="2027-03-01T09:00:00+00:00")
    client = api.post("/clients.json", json={"client": {"name": "Devedor", "code": "D1"}}).json()["client"]
    invoice = draft(api, client={"name": "Devedor", "code": "D1"}, due_date="10/03/2027")
    finalize(api, "invoice", invoice["id"])
    path = f"/api/v3/clients/{client['id']}/balance.json"
    assert api.get(path).json()["overdue_balance"]["with_vat"] == 0

    response = set_clock(api, advance="10d")
    assert response.status_code == 200, response.text
    assert response.json()["clock"]["today"] == "2027-03-11"
    assert api.get(path).json()["overdue_balance"]["with_vat"] == 12.3


def test_the_future_date_refusal_is_relative_to_the_accounts_clock(api: Api) -> None:
    early = draft(api, date="20/01/2027", due_date="20/01/2027")
    refused = change(api, "invoice", early["id"], "finalized")
    assert refused.status_code == 422 and "Date can't be in the future" in refused.text
    set_clock(api, now="2027-01-19T12:00:00+00:00")
    assert change(api, "invoice", early["id"], "finalized").status_code == 422, "still a day ahead"
    set_clock(api, advance="1d")
    issued = change(api, "invoice", early["id"], "finalized")
    assert issued.status_code == 200, issued.text


def test_the_accounts_time_never_goes_back_before_what_it_recorded(api: Api) -> None:
    set_clock(api, now="2027-06-01T10:00:00+00:00")
    # Nothing recorded yet: the clock may be set anywhere.
    assert set_clock(api, now="2027-05-01T10:00:00+00:00").status_code == 200
    finalize(api, "invoice", draft(api)["id"])
    back = set_clock(api, now="2027-04-01T10:00:00+00:00")
    assert back.status_code == 422
    assert "only moves forward" in back.json()["errors"][0]["error"]
    assert api.get("/_ixserver/clock").json()["clock"]["today"] == "2027-05-01"
    real = api.delete("/_ixserver/clock")
    assert real.status_code == 422, "the server's time is before the last entry"
    assert set_clock(api, advance="1h").json()["clock"]["now"].startswith("2027-05-01T11:00")

    assert api.post("/_ixserver/reset").status_code == 200  # a reset lifts it: the server's time again
    assert api.get("/_ixserver/clock").json()["clock"]["real"] is True
    assert api.delete("/_ixserver/clock").status_code == 200


def test_bad_clocks_are_refused_and_change_nothing(api: Api) -> None:
    for sent in ({"advance": "-3d"}, {"advance": "soon"}, {"advance": "0d"}, {"now": "tomorrow"}, {},
                 {"now": "2027-01-01", "advance": "1d"}):  # fmt: skip
        response = api.put("/_ixserver/clock", json={"clock": sent})
        assert response.status_code == 422, (sent, response.text)
        assert response.json()["errors"][0]["error"]
    assert api.put("/_ixserver/clock", json={}).status_code == 422
    assert api.get("/_ixserver/clock").json()["clock"]["real"] is True


def test_the_sandbox_controls_are_not_there_in_production(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path / "db") as url, live_server(url, tmp_path, sandbox=False) as prod:
        api = prod.account()
        for method, path, body in (
            ("GET", "/_ixserver/clock", None), ("PUT", "/_ixserver/clock", {"clock": {"advance": "1d"}}),
            ("DELETE", "/_ixserver/clock", None), ("GET", "/_ixserver/faults", None),
            ("POST", "/_ixserver/faults", {"fault": {"pdf_pending": 1}}), ("DELETE", "/_ixserver/faults", None),
            ("GET", "/_ixserver/requests", None), ("POST", "/_ixserver/seed", {"seed": {"documents": 1}}),
        ):  # fmt: skip
            response = api.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == {"errors": [{"error": "Not found"}]}
        assert api.get("/invoices.json").json()["invoices"] == []
