"""/_ixserver: health always, the control API only in sandbox mode."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ixserver.store.accounts import account_by_name
from ixserver.store.tables import document_lines, documents
from ixserver.writes.direct import DirectWrites
from ixserver.writes.use_cases import of_account
from tests.api.invoicing import issue, today
from tests.support import Api, LiveServer, fresh_database, live_server, next_number, wait_for


def test_health(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/_ixserver/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    live = httpx.get(f"{server.url}/_ixserver/live")  # liveness: no key, any mode
    assert (live.status_code, live.json()) == (200, {"status": "alive"})


def test_reset_wipes_one_account_back_to_new(server: LiveServer, api: Api) -> None:
    other = server.account()
    api.post("/sequences.json", json={"sequence": {"serie": "GONE", "default_sequence": 1}})
    seq = api.get("/sequences.json").json()["sequences"][0]
    with server.by_hand(api) as conn:
        next_number(conn, seq["current_invoice_sequence_id"])
    other_before = other.get("/sequences.json").json()

    response = api.post("/_ixserver/reset")
    assert response.status_code == 200
    assert response.json() == {"reset": api.name}

    after = api.get("/sequences.json").json()["sequences"]
    assert len(after) == 1
    assert after[0]["default_sequence"] == 1 and after[0]["current_invoice_number"] == 0
    assert after[0]["id"] > seq["id"], "ids are never reused"
    assert other.get("/sequences.json").json() == other_before


LARGE = 2_000


@pytest.mark.slow
def test_reset_of_a_2000_document_account_takes_under_a_second(server: LiveServer, api: Api) -> None:
    """Issue 25: a test suite resets its account before each test. The account's documents are
    copies of an issued invoice of 5 lines (made with SQL, as tests/api/test_large_lists.py
    grows an account), with one paid and one e-mailed through the API (a receipt, a job, a kept
    message, the seal's events). The best of two resets (the machine is shared)."""
    took = []
    for _ in range(2):
        _grow(server, api)
        assert api.get("/invoices.json").json()["pagination"]["total_entries"] >= LARGE
        started = time.monotonic()
        response = api.post("/_ixserver/reset")
        took.append(time.monotonic() - started)
        assert response.status_code == 200, response.text
        assert api.get("/invoices.json").json()["pagination"]["total_entries"] == 0
        assert api.get("/_ixserver/jobs").json()["jobs"] == [] and api.get("/_ixserver/emails").json()["emails"] == []
    assert min(took) < 1.0, f"the resets took {took} s"


def _grow(server: LiveServer, api: Api) -> None:
    line = {"name": "Pencil", "description": "A pencil", "unit_price": "2.5", "quantity": "3", "tax": {"name": "IVA23"}}
    paid = issue(api, items=[line] * 5)
    payment = {"partial_payment": {"amount": "5", "payment_mechanism": "NU"}}
    assert api.post(f"/documents/{paid['id']}/partial_payments.json", json=payment).status_code in (200, 201)
    message = {"client": {"email": "buyer@example.com", "save": "0"}, "subject": "Invoice", "body": "."}
    assert api.put(f"/invoices/{paid['id']}/email-document.json", json={"message": message}).status_code == 200
    wait_for(lambda: api.get("/_ixserver/emails").json()["emails"], what="the e-mail kept")
    columns = [c.name for c in documents.columns if c.name != "id"]
    line_columns = [c.name for c in document_lines.columns if c.name not in ("id", "document_id")]
    with server.by_hand(api) as conn:
        for k in range(1, LARGE + 1):
            values = {"number": 1000 + k, "permalink_token": f"reset-{paid['id']}-{k}", "proprietary_uid": None}
            picked = ", ".join(f":{c}" if c in values else c for c in columns)
            copy = conn.execute(
                text(f"INSERT INTO documents ({', '.join(columns)}) SELECT {picked} FROM documents WHERE id = :t"
                     " RETURNING id"), {**values, "t": paid["id"]},
            ).scalar_one()  # fmt: skip
            conn.execute(
                text(f"INSERT INTO document_lines (document_id, {', '.join(line_columns)})"
                     f" SELECT :copy, {', '.join(line_columns)} FROM document_lines WHERE document_id = :t"),
                {"copy": copy, "t": paid["id"]},
            )  # fmt: skip


def test_reset_needs_a_key(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/_ixserver/reset")
    assert response.status_code == 401 and response.content == b""


def test_reset_is_not_there_outside_sandbox_mode(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, live_server(url, tmp_path, sandbox=False) as prod:
        api = prod.account()
        before = api.get("/sequences.json").json()
        response = api.post("/_ixserver/reset")
        assert response.status_code == 404
        assert response.json() == {"errors": [{"error": "Not found"}]}
        assert api.get("/sequences.json").json() == before
        assert httpx.get(f"{prod.url}/_ixserver/health").status_code == 200
        assert httpx.get(f"{prod.url}/_ixserver/live").status_code == 200


@of_account
def _take_a_number(conn, account_id: int, seq_id: int) -> int:  # type: ignore[no-untyped-def]
    """An account's use case that changes what /sequences.json answers."""
    return next_number(conn, seq_id)


def test_stats_and_the_read_cache_never_serves_stale_data(server: LiveServer, api: Api) -> None:
    def stats() -> dict:
        return api.get("/_ixserver/stats").json()

    first = api.get("/sequences.json").json()
    before = stats()["read_cache"]
    assert api.get("/sequences.json").json() == first
    after = stats()["read_cache"]
    assert after["enabled"] is True
    assert after["hits"] == before["hits"] + 1, "an unchanged account answers from the cache"
    # A commit by another process's write path (the CLI's, here) is seen at once.
    seq_id = first["sequences"][0]["current_invoice_sequence_id"]
    with server.db.read() as conn:
        account = account_by_name(conn, api.name)
    assert account is not None
    DirectWrites(server.db).run_sync(_take_a_number, account.id, seq_id)
    assert api.get("/sequences.json").json()["sequences"][0]["current_invoice_number"] == 1
    # and so is a write through the API
    api.post("/sequences.json", json={"sequence": {"serie": "FRESH"}})
    assert [s["serie"] for s in api.get("/sequences.json").json()["sequences"]][-1] == "FRESH"


def test_two_instances_never_answer_from_a_stale_cache(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """A write acknowledged by one instance is in the next answer of the other, whose cache held
    the older answer (PostgreSQL: the account's version; SQLite: the file's change counter)."""
    line = {"name": "Chair", "description": "Oak", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}
    with live_server(server.settings.resolved_database_url, tmp_path, sandbox=True) as other:
        there = Api(other.url, api.key, api.name)
        draft = api.post(
            "/invoices.json",
            json={
                "invoice": {
                    "date": today(),
                    "due_date": today(),
                    "client": {"name": "C", "code": "C1"},
                    "items": [line],
                }
            },
        )
        document_id = draft.json()["invoice"]["id"]
        path = f"/invoices/{document_id}.json"
        hits = there.get("/_ixserver/stats").json()["read_cache"]["hits"]
        for n in range(25):
            there.get(path), there.get("/invoices.json")  # cached there
            assert there.get(path).json() == there.get(path).json()
            changed = api.put(
                path,
                json={
                    "invoice": {"observations": f"change {n}", "client": {"name": "C", "code": "C1"}, "items": [line]}
                },
            )
            assert changed.status_code == 200, changed.text
            assert there.get(path).json()["invoice"]["observations"] == f"change {n}"
        assert there.get("/_ixserver/stats").json()["read_cache"]["hits"] >= hits + 25, (
            "answered from the cache in between"
        )
        finalized = api.put(f"/invoices/{document_id}/change-state.json", json={"invoice": {"state": "finalized"}})
        assert finalized.status_code == 200, finalized.text
        listed = there.get("/invoices.json").json()["invoices"]
        assert [(d["id"], d["status"]) for d in listed if d["id"] == document_id] == [(document_id, "final")]


def test_reads_waiting_together_share_a_version_read_and_none_is_stale(
    server: LiveServer, api: Api, tmp_path: Path
) -> None:
    """Cached reads arriving together on one instance wait for the same read of the account's
    version (PostgreSQL), and every one of them answers what another instance acknowledged
    before they came."""
    line = {"name": "Chair", "description": "Oak", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}
    with live_server(server.settings.resolved_database_url, tmp_path, sandbox=True) as other:
        there = Api(other.url, api.key, api.name)
        body = {"date": today(), "due_date": today(), "client": {"name": "C", "code": "C1"}, "items": [line]}
        document_id = api.post("/invoices.json", json={"invoice": body}).json()["invoice"]["id"]
        path = f"/invoices/{document_id}.json"

        async def together(n: int) -> list[str]:
            async with httpx.AsyncClient(base_url=other.url, params={"api_key": api.key}) as client:
                answers = await asyncio.gather(*(client.get(path) for _ in range(n)))
            return [a.json()["invoice"]["observations"] for a in answers]

        before = there.get("/_ixserver/stats").json()["read_cache"]
        rounds, each = 8, 16
        for n in range(rounds):
            there.get(path)  # cached there
            changed = api.put(path, json={"invoice": {**body, "observations": f"change {n}"}})
            assert changed.status_code == 200, changed.text
            assert asyncio.run(together(each)) == [f"change {n}"] * each
        after = there.get("/_ixserver/stats").json()["read_cache"]
        reads = rounds * (each + 1)
        assert after["hits"] + after["misses"] - before["hits"] - before["misses"] == reads
        if after["version_reads"] is not None:  # PostgreSQL
            assert after["version_reads"] - before["version_reads"] < reads, "no read shared its version's"


def test_a_read_cache_whose_version_connection_was_closed_answers_on_a_new_one(server: LiveServer, api: Api) -> None:
    """PostgreSQL closed the connection the read cache reads versions on (a restart, an idle
    timeout): the next request is answered, fresh, on a new one."""
    if server.db.is_sqlite:
        pytest.skip("PostgreSQL's connection")
    from ixserver.store.db import VERSIONS_APPLICATION

    assert api.get("/sequences.json").status_code == 200  # the connection is open
    with server.by_hand(api) as conn:
        closed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
                " AND datname = current_database()"
            ),
            {"name": VERSIONS_APPLICATION},
        ).scalar_one()
    assert closed >= 1
    api.post("/sequences.json", json={"sequence": {"serie": "AFTER"}})
    answer = api.get("/sequences.json")
    assert answer.status_code == 200, answer.text
    assert [s["serie"] for s in answer.json()["sequences"]][-1] == "AFTER"


def test_stats_count_the_writers_work(server: LiveServer, api: Api) -> None:
    def writer() -> dict:
        return api.get("/_ixserver/stats").json()["writer"]

    before = writer()
    assert api.post("/sequences.json", json={"sequence": {"serie": "STATS"}}).status_code == 201
    after = writer()
    # two use cases: the account's check before AT is asked, then the series and its codes
    assert after["use_cases"] == before["use_cases"] + 2
    assert after["batches"] == before["batches"] + 2
    assert after["seconds"] > before["seconds"]
