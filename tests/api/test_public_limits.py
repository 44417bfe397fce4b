"""The public addresses (a document's page, PDF and QR code; a statement; a SAF-T file) have no
key, so their requests are counted per minute per address (its token) and per client address,
one count for every process and instance of the server: past either, a 429 with Retry-After in
the API's error shape, as the API's own rate limit answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ixserver.web.errors import HTTP_MESSAGES
from tests.api.invoicing import issue
from tests.support import Api, LiveServer, live_server

PER_TOKEN, PER_CLIENT = 3, 8


@pytest.fixture(scope="module")
def limited(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data: Path = tmp_path_factory.mktemp("limited")
    with live_server(
        database_url, data, sandbox=True, public_rate_limit=PER_TOKEN, public_address_rate_limit=PER_CLIENT
    ) as server:
        yield server


def public(api: Api, document: dict[str, str], tail: str = "") -> httpx.Response:
    return httpx.get(document["permalink"].replace("http://127.0.0.1", api.base_url) + tail)


def refused(answer: httpx.Response) -> bool:
    assert answer.status_code == 429, answer.status_code
    assert answer.json() == {"errors": [{"error": HTTP_MESSAGES[429]}]}
    return 1 <= int(answer.headers["retry-after"]) <= 60


def test_public_addresses_are_limited_per_token_and_per_client(limited: LiveServer) -> None:
    api = limited.account()
    first, second, third = issue(api), issue(api), issue(api)
    limited.clock.to_a_fresh_minute()  # the counts are per calendar minute: all of this within one
    for tail in ("", "/qr.png", "/original.pdf"):
        assert public(api, first, tail).status_code == 200, tail
    assert refused(public(api, first, "/duplicado.pdf")), "a fourth request for the same document"
    for tail in ("", "/qr.png", "/original.pdf"):
        assert public(api, second, tail).status_code == 200, "another document has its own count"
    assert public(api, third).status_code == 200  # the client's eighth request this minute
    assert refused(public(api, third, "/qr.png")), "the client's ninth"
    assert api.get(f"/invoices/{third['id']}.json").status_code == 200, "the API with a key is counted apart"
    limited.clock.to_a_fresh_minute()
    assert public(api, first, "/duplicado.pdf").status_code == 200, "the next minute counts afresh"
