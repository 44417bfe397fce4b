"""SystemEntryDate is the moment a document is signed (Despacho 8632/2014 §3.4.3; issue 22 item 8):
when the server's clock reads a moment before the account's last entry (a clock stepped back,
another instance a little off), nothing is issued — 503 with `Retry-After`, the seconds until
the clock has caught up — and once it has, the document takes its own signing moment; a clock
far behind is refused (422). Invoices and receipts alike, on SQLite and PostgreSQL. The last
entry — of another counter than the document's: any series of the account counts — is moved
into the future through the database, as another instance's clock would have left it."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from ixserver import clock
from ixserver.domain import signing
from tests.api.invoicing import change, create, issue
from tests.support import Api, LiveServer

AHEAD = 3  # seconds the last entry is put ahead of the clock


def _last_entry_ahead(server: LiveServer, api: Api, seconds: int) -> str:
    """Another series of the account (the receipts') issued `seconds` from now, as a server whose
    clock is ahead would have stamped it."""
    latest = signing.entry_date(clock.local_now() + timedelta(seconds=seconds))
    with server.by_hand(api) as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one()
        conn.execute(
            text("UPDATE sub_sequences SET last_entry = :e WHERE account_id = :a AND doc_type = 'receipt'"),
            {"e": latest, "a": account_id},
        )
    return latest


def _entry_of(server: LiveServer, document_id: int) -> str:
    with server.db.read() as conn:
        found = conn.execute(
            text("SELECT system_entry_date FROM documents WHERE id = :i"), {"i": document_id}
        ).scalar_one()
    return str(found)


def _waits_for_the_clock(response: httpx.Response, latest: str) -> int:
    assert response.status_code == 503, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= AHEAD
    (error,) = response.json()["errors"]
    assert error["error"].endswith(f"s behind the last document issued ({latest}): retry in {seconds} s")
    return seconds


def _catch_up(api: Api, seconds: int) -> None:
    """The clock catches up with the entry ahead of it: the account's clock moved on (sandbox),
    instead of waiting for the server's."""
    moved = api.put("/_ixserver/clock", json={"clock": {"advance": f"{seconds}s"}})
    assert moved.status_code == 200, moved.text


def _account_now(api: Api) -> str:
    """The account's time as SystemEntryDate writes it (Lisbon, to the second)."""
    now = datetime.fromisoformat(api.get("/_ixserver/clock").json()["clock"]["now"])
    return signing.entry_date(now.astimezone(clock.LISBON).replace(tzinfo=None))


def test_a_document_waits_for_the_clock_and_takes_its_signing_moment(server: LiveServer, api: Api) -> None:
    draft = create(api)
    latest = _last_entry_ahead(server, api, AHEAD)
    seconds = _waits_for_the_clock(change(api, "invoice", draft["id"], "finalized"), latest)
    assert api.get(f"/invoices/{draft['id']}.json").json()["invoice"]["status"] == "draft", "nothing issued"
    _catch_up(api, seconds)
    issued = change(api, "invoice", draft["id"], "finalized")
    assert issued.status_code == 200, issued.text
    assert issued.json()["invoice"]["sequence_number"].startswith("1/"), "the refusal took no number"
    entry = _entry_of(server, draft["id"])
    assert latest <= entry <= _account_now(api), "stamped at its signing, never ahead of it"


def test_a_receipt_waits_for_the_clock_and_takes_its_signing_moment(server: LiveServer, api: Api) -> None:
    invoice = issue(api)
    latest = _last_entry_ahead(server, api, AHEAD)
    path, payment = f"/documents/{invoice['id']}/partial_payments.json", {"partial_payment": {"amount": "1"}}
    seconds = _waits_for_the_clock(api.post(path, json=payment), latest)
    assert api.get("/receipts.json").json()["receipts"] == [], "nothing issued"
    _catch_up(api, seconds)
    paid = api.post(path, json=payment)
    assert paid.status_code == 200, paid.text
    receipt = paid.json()["receipt"]
    assert receipt["sequence_number"].startswith("1/")
    assert latest <= _entry_of(server, receipt["id"]) <= _account_now(api)


def test_a_clock_far_behind_issues_nothing(server: LiveServer, api: Api) -> None:
    draft = create(api)
    latest = _last_entry_ahead(server, api, 600)
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["error"].endswith(
        f"is behind the last document issued ({latest}): no document can be issued until the clock is right"
    )
    assert api.get(f"/invoices/{draft['id']}.json").json()["invoice"]["status"] == "draft"
