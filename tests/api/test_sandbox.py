"""/_ixserver: health always, the control API only in sandbox mode."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import Api, LiveServer, live_server, next_number


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
    with server.db.transaction() as conn:
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


def test_reset_needs_a_key(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/_ixserver/reset")
    assert response.status_code == 401 and response.content == b""


def test_reset_is_not_there_outside_sandbox_mode(server: LiveServer, tmp_path: Path) -> None:
    with live_server(server.settings.resolved_database_url, tmp_path, sandbox=False) as prod:
        api = prod.account()
        before = api.get("/sequences.json").json()
        response = api.post("/_ixserver/reset")
        assert response.status_code == 404
        assert response.json() == {"errors": [{"error": "Not found"}]}
        assert api.get("/sequences.json").json() == before
        assert httpx.get(f"{prod.url}/_ixserver/health").status_code == 200
        assert httpx.get(f"{prod.url}/_ixserver/live").status_code == 200


def test_stats_and_the_read_cache_never_serves_stale_data(server: LiveServer, api: Api) -> None:
    def stats() -> dict:
        return api.get("/_ixserver/stats").json()

    first = api.get("/sequences.json").json()
    before = stats()["read_cache"]
    assert api.get("/sequences.json").json() == first
    after = stats()["read_cache"]
    if server.db.is_sqlite:
        assert after["enabled"] is True
        assert after["hits"] == before["hits"] + 1, "an unchanged database answers from the cache"
    else:
        assert after["enabled"] is False
    # A commit by another connection (another process would do the same) is seen at once.
    seq_id = first["sequences"][0]["current_invoice_sequence_id"]
    with server.db.transaction() as conn:
        next_number(conn, seq_id)
    assert api.get("/sequences.json").json()["sequences"][0]["current_invoice_number"] == 1
    # and so is a write through the API
    api.post("/sequences.json", json={"sequence": {"serie": "FRESH"}})
    assert [s["serie"] for s in api.get("/sequences.json").json()["sequences"]][-1] == "FRESH"


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
