"""Authentication (api-v2 §1.2), the error table (§1.10) and the rate limit (§1.11)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support import Api, LiveServer, MovedClock, live_server


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.content == b""


def test_missing_key_is_401_with_an_empty_body(server: LiveServer) -> None:
    assert_401(httpx.get(f"{server.url}/sequences.json"))
    assert_401(httpx.post(f"{server.url}/sequences.json", json={"sequence": {"serie": "X"}}))


@pytest.mark.parametrize("key", ["", "nope", "0" * 40, "A" * 40])
def test_wrong_key_is_401(server: LiveServer, key: str) -> None:
    assert_401(httpx.get(f"{server.url}/sequences.json", params={"api_key": key}))


def test_a_near_miss_key_is_401(server: LiveServer, api: Api) -> None:
    # same lookup prefix, different secret part
    near = api.key[:-1] + ("0" if api.key[-1] != "0" else "1")
    assert_401(httpx.get(f"{server.url}/sequences.json", params={"api_key": near}))


def test_key_in_header_is_accepted_as_fallback(server: LiveServer, api: Api) -> None:
    response = httpx.get(f"{server.url}/sequences.json", headers={"X-InvoiceXpress-API-Key": api.key})
    assert response.status_code == 200


def test_host_naming_another_account_is_401(server: LiveServer, api: Api) -> None:
    other = server.account()
    headers = {"Host": f"{other.name}.localhost:{server.port}"}
    assert_401(api.get("/sequences.json", headers=headers))


@pytest.mark.parametrize(
    "host",
    ["{other}.localhost.", "{other}.localhost.:{port}", "{other}.localhost:80:81", "{other}.localhost:",
     "{other}.localhost:x", "{other}.localhost:123456", "{other}.localhost/x", "{other}..localhost"],
)  # fmt: skip
def test_a_host_is_read_strictly(server: LiveServer, api: Api, host: str) -> None:
    """A trailing dot still names the account; a host that is not a plain name and port names none."""
    other = server.account()
    assert_401(api.get("/sequences.json", headers={"Host": host.format(other=other.name, port=server.port)}))


def test_host_naming_the_keys_account_is_accepted(server: LiveServer, api: Api) -> None:
    for host in (f"{api.name}.localhost:{server.port}", f"{api.name.upper()}.LOCALHOST", "127.0.0.1", "localhost",
                 f"{api.name}.localhost.", f"{api.name}.localhost.:{server.port}", "[::1]:80"):  # fmt: skip
        assert api.get("/sequences.json", headers={"Host": host}).status_code == 200, host


def test_the_control_api_needs_a_key_and_the_hosts_account(server: LiveServer, api: Api) -> None:
    assert_401(httpx.get(f"{server.url}/_ixserver/stats"))
    assert api.get("/_ixserver/stats").status_code == 200
    other = server.account()
    assert_401(api.post("/_ixserver/reset", headers={"Host": f"{other.name}.localhost"}))
    assert httpx.get(f"{server.url}/_ixserver/health").status_code == 200, "health needs no key"


def test_unknown_route_is_404_in_the_api_shape(api: Api) -> None:
    response = api.get("/nothing-here.json")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"errors": [{"error": "Not found"}]}


@pytest.mark.parametrize(
    "path", ["/sequences/abc.json", "/sequences/-1.json", "/sequences/1234567890123456789012.json"]
)
def test_malformed_ids_are_404(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"error": "Not found"}]}


def test_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.delete("/sequences.json")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json() == {"errors": [{"error": "Method not allowed"}]}
    seq_id = api.get("/sequences.json").json()["sequences"][0]["id"]
    response = api.get(f"/sequences/{seq_id}/set_current.json")
    assert response.status_code == 405
    assert response.headers["allow"] == "PUT"


@pytest.mark.parametrize("raw", [b'{"sequence":', b"not json", b'{"sequence": {"serie": "A",}}'])
def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    before = api.get("/sequences.json").json()
    response = api.post("/sequences.json", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1 and errors[0]["error"].startswith("Malformed JSON")
    assert api.get("/sequences.json").json() == before


def test_non_object_body_is_400(api: Api) -> None:
    response = api.post("/sequences.json", json=["sequence"])
    assert response.status_code == 400
    assert response.json() == {"errors": [{"error": "The request body must be a JSON object"}]}


def test_json_body_without_json_content_type_is_read(api: Api) -> None:
    # `curl -d '{...}'` sends application/x-www-form-urlencoded
    response = api.post(
        "/sequences.json",
        content=b'{"sequence":{"serie":"CURL"}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201


def test_form_body_is_422_wrong_content_type(api: Api) -> None:
    response = api.post("/sequences.json", content=b"serie=A", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "No content type or wrongly specified"}]}


def test_empty_body_with_json_content_type_on_get(api: Api) -> None:
    # Odoo and tim-online send Content-Type: application/json on GETs with no body.
    response = api.get("/sequences.json", headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_a_json_body_on_a_read_is_ignored(api: Api) -> None:
    """A GET may carry a JSON body (the .NET client's payments do: they are writes, test_payments);
    a read answers as without it."""
    sequences = api.get("/sequences.json").json()
    assert api.request("GET", "/sequences.json", json={"sequence": {"serie": "X"}}).json() == sequences


def test_rate_limit_is_429_with_retry_after(server: LiveServer, tmp_path: Path) -> None:
    with live_server(server.settings.resolved_database_url, tmp_path, sandbox=True, rate_limit=5) as limited:
        limited.clock.to_a_fresh_minute()  # counts are per calendar minute: all of one ahead
        first, second = limited.account(), limited.account()
        codes = [first.get("/sequences.json").status_code for _ in range(5)]
        assert codes == [200] * 5
        response = first.get("/sequences.json")
        assert response.status_code == 429
        assert response.json() == {"errors": [{"error": "Too many requests"}]}
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # per account: the other account is not affected
        assert second.get("/sequences.json").status_code == 200
        # health is outside the API and never limited
        assert httpx.get(f"{limited.url}/_ixserver/health").status_code == 200
        limited.clock.to_a_fresh_minute()
        assert first.get("/sequences.json").status_code == 200, "the next minute counts afresh"


def test_the_rate_limit_is_one_for_all_instances(server: LiveServer, tmp_path: Path) -> None:
    """Two instances on one database share each account's count (store/rate_counts.py)."""
    url, clock = server.settings.resolved_database_url, MovedClock()  # one time, as instances have
    with (
        live_server(url, tmp_path / "a", clock, sandbox=True, rate_limit=10) as a,
        live_server(url, tmp_path / "b", clock, sandbox=True, rate_limit=10) as b,
    ):
        clock.to_a_fresh_minute()
        on_a = a.account()
        on_b = Api(b.url, on_a.key, on_a.name)
        assert [on_a.get("/sequences.json").status_code for _ in range(6)] == [200] * 6
        time.sleep(0.3)  # A has sent its count (every 0.1 s)
        assert [on_b.get("/sequences.json").status_code for _ in range(5)] == [200] * 4 + [429]
        time.sleep(0.3)  # and read B's
        refused = on_a.get("/sequences.json")
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60


def test_wrong_keys_are_limited_per_address(server: LiveServer, tmp_path: Path) -> None:
    with live_server(server.settings.resolved_database_url, tmp_path, sandbox=True, rate_limit=5) as limited:
        api = limited.account()
        wrong = [httpx.get(f"{limited.url}/sequences.json", params={"api_key": f"{n:040x}"}) for n in range(6)]
        assert [r.status_code for r in wrong] == [401] * 5 + [429]
        assert 1 <= int(wrong[-1].headers["retry-after"]) <= 60
        limited.clock.move(60)
        again = httpx.get(f"{limited.url}/sequences.json", params={"api_key": f"{6:040x}"})
        assert again.status_code == 401, "a minute on, the address's earlier requests have left the window"
        assert api.get("/sequences.json").status_code == 200, "a right key is counted for its account, not the address"


def test_rate_limit_zero_is_off(server: LiveServer, api: Api) -> None:
    assert server.settings.rate_limit == 0
    # more than the default 780 a minute: only "off" lets them all through
    codes = {api.get("/sequences.json").status_code for _ in range(800)}
    assert codes == {200}
