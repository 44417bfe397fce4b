"""/_ixserver/requests (the recorder) and `ixserver replay` against a second server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ixserver.store.sandbox_state import Recorded, SandboxState
from tests.api.invoicing import body
from tests.support import TEST_SECRET_KEY, Api, LiveServer, fresh_database, live_server


def session(api: Api) -> None:
    """What a client does: a client, an invoice drafted, issued, read, paid; a refusal; a list."""
    client = api.post("/clients.json", json={"client": {"name": "Gravado, Lda", "code": "G1"}}).json()["client"]
    invoice = api.post("/invoices.json", json={"invoice": body(client={"name": "Gravado, Lda", "code": "G1"})})
    invoice_id = invoice.json()["invoice"]["id"]
    api.put(f"/invoices/{invoice_id}/change-state.json", json={"invoice": {"state": "finalized"}})
    api.get(f"/invoices/{invoice_id}.json")
    api.post(f"/documents/{invoice_id}/partial_payments.json", json={"partial_payment": {"amount": "1.00"}})
    api.get(f"/clients/{client['id']}.json")
    api.post("/invoices.json", json={"invoice": {"client": {"name": "X"}}})  # 422: no lines
    api.get("/invoices.json", params={"status[]": "final", "per_page": 5})


def recording(api: Api, limit: int = 100) -> dict:
    response = api.get("/_ixserver/requests", params={"limit": limit})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_recorder_keeps_requests_with_their_bodies_and_answers(api: Api) -> None:
    session(api)
    api.get("/_ixserver/clock")  # the control API is not recorded
    found = recording(api)["requests"]
    assert [(r["method"], r["path"].split("/")[1], r["status"]) for r in found] == [
        ("POST", "clients.json", 201), ("POST", "invoices.json", 201), ("PUT", "invoices", 200),
        ("GET", "invoices", 200), ("POST", "documents", 200), ("GET", "clients", 200),
        ("POST", "invoices.json", 422), ("GET", "invoices.json", 200),
    ]  # fmt: skip
    created = found[1]
    assert created["request"]["body"]["invoice"]["client"]["code"] == "G1"
    assert created["response"]["body"]["invoice"]["status"] == "draft"
    assert found[-1]["query"] == "status%5B%5D=final&per_page=5", "the key is left out"
    assert all(api.key not in orjson.dumps(r).decode() for r in found)
    assert found[6]["response"]["body"]["errors"]
    assert recording(api, limit=2)["requests"] == found[-2:]
    assert api.get("/_ixserver/requests", params={"limit": 0}).status_code == 422

    big = api.post("/invoices.json", json={"invoice": body(observations="x" * 70_000)})
    last = recording(api, limit=1)["requests"][0]
    assert (last["status"], last["truncated"]) == (big.status_code, True)
    assert isinstance(last["request"]["body"], str) and len(last["request"]["body"]) == 64 * 1024

    api.post("/_ixserver/reset")
    assert recording(api)["requests"] == [], "a reset forgets them"


def test_the_ring_keeps_the_newest_of_each_account(tmp_path: Path) -> None:
    state = SandboxState(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime.now(UTC)

    def entry(account_id: int, n: int) -> Recorded:
        return Recorded(account_id, now, "GET", f"/{n}.json", "", 200, 1, "", "", False)

    state.record([entry(1, n) for n in range(5)] + [entry(2, 0)], keep=3)
    state.record([entry(1, 5)], keep=3)
    assert [r.path for _id, r in state.recorded(1, 10)] == ["/3.json", "/4.json", "/5.json"]
    assert [r.path for _id, r in state.recorded(2, 10)] == ["/0.json"]
    state.dispose()


def replay(file: Path, base: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env["IXSERVER_SECRET_KEY"] = TEST_SECRET_KEY
    command = [sys.executable, "-m", "ixserver", "replay", str(file), "--base", base, "--key", key]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_recording_replays_on_another_server(api: Api, server: LiveServer, tmp_path: Path, backend: str) -> None:
    other_account = server.account()
    other_account.post("/clients.json", json={"client": {"name": "Outro", "code": "O1"}})  # the ids move on
    session(api)
    file = tmp_path / "recording.json"
    file.write_bytes(orjson.dumps(recording(api)))

    with (
        fresh_database(backend, tmp_path / "second") as url,
        live_server(url, tmp_path / "data", sandbox=True) as second,
    ):
        target = second.account()
        agreed = replay(file, second.url, target.key)
        assert agreed.returncode == 0, agreed.stdout + agreed.stderr
        assert "8 requests replayed, 0 differences" in agreed.stderr
        assert len(target.get("/invoices.json").json()["invoices"]) == 1, "the requests were made there"

        tampered = orjson.loads(file.read_bytes())
        tampered["requests"][1]["response"]["body"]["invoice"]["total"] = 99.99
        tampered["requests"][6]["status"] = 400
        file.write_bytes(orjson.dumps(tampered))
        differs = replay(file, second.url, second.account().key)
        assert differs.returncode == 1
        assert "#2 POST /invoices.json: .invoice.total: recorded 99.99, got 2.49" in differs.stdout
        assert "#7 POST /invoices.json: status recorded 400, got 422" in differs.stdout
        assert "8 requests replayed, 2 differences" in differs.stderr, differs.stdout
