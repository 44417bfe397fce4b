"""Each account's share of a server process (web/shares.py) and large bodies parsed in a process apart
(api/wire.read_parsed, web/parsing.py): an account's requests beyond its share wait their turn, in order, or are
a 429 with Retry-After when too many wait; another account's requests never wait for them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ixserver import metrics
from ixserver.domain.limits import MAX_LINES
from ixserver.store.accounts import account_by_name
from tests.api.invoicing import body
from tests.support import Api, LiveServer, live_server, wait_for

SHARE_BYTES = 100_000


@pytest.fixture(scope="module")
def small_shares(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose accounts each have 2 requests, and 100 kB of bodies, at once."""
    data: Path = tmp_path_factory.mktemp("shares")
    with live_server(database_url, data, sandbox=True, account_requests=2, account_body_bytes=SHARE_BYTES) as srv:
        yield srv


def account_id(server: LiveServer, api: Api) -> int:
    with server.db.read() as conn:
        found = account_by_name(conn, api.name)
    assert found is not None
    return found.id


def slow_request(server: LiveServer, api: Api, length: int) -> socket.socket:
    """A POST of `length` bytes whose headers and first bytes are sent, the rest not yet."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        f"POST /clients.json?api_key={api.key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n".encode()
        + b'{"client": {"name": "Slow", "code": "S1", "observations": "'
    )
    return sock


def in_background(call: object) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))  # type: ignore[operator]
    thread.start()
    return thread, answers


def test_an_accounts_requests_past_its_share_wait_their_turn_and_others_do_not(small_shares: LiveServer) -> None:
    server = small_shares
    busy, quiet = server.account(), server.account()
    busy_id = account_id(server, busy)
    shares = server.ctx.shares
    sock = slow_request(server, busy, 90_000)  # 90 kB of the busy account's 100 kB, being sent
    try:
        wait_for(lambda: shares.in_use(busy_id) == (1, 90_000, 0), 10, "the slow request in process")
        big = {"client": {"name": "Big", "code": "B1", "observations": "o" * 40_000}}  # 40 kB: over the share
        second, second_answers = in_background(lambda: busy.post("/clients.json", json=big))
        wait_for(lambda: shares.in_use(busy_id)[2] == 1, 10, "the busy account's second request waiting")
        third, third_answers = in_background(lambda: busy.get("/clients.json"))  # after it, in order
        wait_for(lambda: shares.in_use(busy_id)[2] == 2, 10, "the third waiting behind the second")

        refused = busy.get("/clients.json")
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {"errors": [{"error": refused.json()["errors"][0]["error"]}]}

        served = quiet.post("/invoices.json", json={"invoice": body()})  # another account: not held
        assert served.status_code == 201, served.text
        assert quiet.get("/clients.json").status_code == 200
        assert not second_answers and not third_answers, "the busy account's requests still wait"
    finally:
        rest = 90_000 - len(b'{"client": {"name": "Slow", "code": "S1", "observations": "') - len(b'"}}')
        sock.sendall(b"x" * rest + b'"}}')
        answer = sock.recv(65536)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 422") or answer.startswith(b"HTTP/1.1 201"), answer[:200]
    second.join(30)
    third.join(30)
    assert [a.status_code for a in second_answers + third_answers] in ([201, 200], [422, 200]), "served in turn"
    wait_for(lambda: shares.in_use(busy_id) == (0, 0, 0), 10, "the share given back")


def test_a_large_body_is_parsed_by_the_parser_process_a_small_one_in_place(small_shares: LiveServer) -> None:
    api = small_shares.account()
    parsed = metrics.BODIES_PARSED_APART._value  # this process's counter: the server runs in it
    before = parsed.get()
    small = api.post("/invoices.json", json={"invoice": body()})
    assert small.status_code == 201 and parsed.get() == before
    lines = [{"name": f"Pencil {n}", "description": "A pencil " * 40, "unit_price": "2", "quantity": "1",
              "tax": {"name": "IVA23"}} for n in range(MAX_LINES)]  # fmt: skip
    large = api.post("/invoices.json", json={"invoice": body(items=lines)})  # ~100 kB
    assert large.status_code == 201, large.text
    assert len(large.json()["invoice"]["items"]) == MAX_LINES
    assert parsed.get() == before + 1
    refused = api.post("/invoices.json", content=b'{"invoice": {"observations": "' + b"\\u0001" * 12_000 + b'"}}')
    assert refused.status_code == 422 and "U+0001" in refused.text, "its refusals are the same"
