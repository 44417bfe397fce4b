"""A document has at most `limits.MAX_LINES` lines, in every family, on create and on update: the
12,000-line invoice that fits a 1 MB body (its PDF took 512 s and left a server process at
13.7 GB) is a 422 at once, and nothing is stored."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ixserver.domain.limits import MAX_LINES
from tests.api.invoicing import body
from tests.api.test_guides import guide
from tests.support import Api

ITEM = {"name": "Parafuso", "unit_price": "1", "quantity": "1", "tax": {"name": "IVA23"}}
FAMILIES = {  # a document type of each family, its list, and a valid body of it
    "invoice": ("/invoices.json", body),
    "quote": ("/estimates.json", body),
    "shipping": ("/guides.json", guide),
    "purchase_order": ("/purchase_orders.json", body),
}


def items(count: int) -> list[dict[str, Any]]:
    return [{**ITEM, "name": f"Parafuso {n}"} for n in range(count)]


def stored(api: Api, listed: str) -> int:
    answer = api.get(listed)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["pagination"]["total_entries"])


@pytest.mark.parametrize("doc_type", FAMILIES)
def test_a_document_past_the_most_lines_is_refused_on_create_and_update(api: Api, doc_type: str) -> None:
    listed, valid = FAMILIES[doc_type]
    largest = api.post(f"/{doc_type}s.json", json={doc_type: valid(items=items(MAX_LINES))})
    assert largest.status_code == 201, largest.text[:300]
    document = largest.json()[doc_type]
    assert len(document["items"]) == MAX_LINES
    before = stored(api, listed)
    error = {"errors": [{"error": f"A document can have at most {MAX_LINES} items ({MAX_LINES + 1} given)"}]}
    one_more = api.post(f"/{doc_type}s.json", json={doc_type: valid(items=items(MAX_LINES + 1))})
    assert (one_more.status_code, one_more.json()) == (422, error)
    updated = api.put(f"/{doc_type}s/{document['id']}.json", json={doc_type: valid(items=items(MAX_LINES + 1))})
    assert (updated.status_code, updated.json()) == (422, error)
    assert len(api.get(f"/{doc_type}s/{document['id']}.json").json()[doc_type]["items"]) == MAX_LINES
    assert stored(api, listed) == before


def test_the_twelve_thousand_line_invoice_is_a_quick_422_and_nothing_is_stored(api: Api) -> None:
    before = stored(api, "/invoices.json")
    started = time.monotonic()
    answer = api.post("/invoices.json", json={"invoice": body(items=items(12_000))})
    elapsed = time.monotonic() - started
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json() == {"errors": [{"error": f"A document can have at most {MAX_LINES} items (12000 given)"}]}
    # refused on the count, before any line is priced or stored: a coarse bound, as the parser
    # process (nice 10) yields to everything else on a loaded machine (the suite's own processes)
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert stored(api, "/invoices.json") == before
