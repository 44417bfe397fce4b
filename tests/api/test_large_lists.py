"""Lists of an account whose documents span months (issue 15): the totals from the counts per
date and month, and a page started where those counts place it, are the same as counting and
walking the documents themselves. The documents are copies of one issued invoice, made with SQL
(dates over four months, some settled, canceled or archived), as bench/growth.py grows an
account; the database's triggers keep the counts, as for any write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import select, text

from ixserver import clock
from ixserver.domain.documents import DocumentFilters
from ixserver.store import document_lists
from ixserver.store.document_counts import fold_count_changes
from ixserver.store.tables import documents
from tests.api.invoicing import create, finalize, issue
from tests.support import Api, LiveServer, fresh_database, live_server

COPIES = 240
TYPES = ("invoice", "invoice_receipt", "simplified_invoice", "credit_note", "debit_note")


def _copy(server: LiveServer, api: Api) -> int:
    """COPIES copies of one issued invoice, over 120 days; the account's id."""
    template = issue(api)["id"]
    columns = [c.name for c in documents.columns if c.name != "id"]
    today = clock.today()
    with server.by_hand(api) as conn:
        account_id = conn.execute(text("SELECT account_id FROM documents WHERE id = :t"), {"t": template}).scalar_one()
        for k in range(1, COPIES + 1):
            values = {
                "number": 1000 + k,
                "permalink_token": f"copy-{account_id}-{k}",
                "date": today - timedelta(days=(k * 7) % 120),
                "status": ("settled", "canceled", "final", "final")[k % 4],
                "archived": k % 9 == 0,
                "proprietary_uid": None,
            }
            picked = ", ".join(f":{c}" if c in values else c for c in columns)
            conn.execute(
                text(f"INSERT INTO documents ({', '.join(columns)}) SELECT {picked} FROM documents WHERE id = :t"),
                {**values, "t": template},
            )
            if k == COPIES // 2:  # the later changes stay unfolded: counts are the folded and the recorded ones
                fold_count_changes(conn)
    return int(account_id)


@pytest.fixture(scope="module")
def spread(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """A server of its own database: the copies are not signed (the shared server's accounts
    must all verify)."""
    tmp = tmp_path_factory.mktemp("large")
    with fresh_database(backend, tmp) as url, live_server(url, tmp, sandbox=True) as server:
        yield server, _copy(server, server.account())


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize(
    "filters",
    [{}, {"statuses": ("final",)}, {"statuses": ("settled", "canceled"), "archived": False}, {"archived": True},
     {"date_from": -100}, {"date_to": -30}, {"date_from": -90, "date_to": -20, "statuses": ("final", "settled")}],
)  # fmt: skip
def test_deep_pages_and_totals_agree_with_the_documents(
    spread: tuple[LiveServer, int], filters: dict, newest_first: bool
) -> None:
    server, account_id = spread
    today = clock.today()
    dates = {k: today + timedelta(days=v) for k, v in filters.items() if k.startswith("date")}
    chosen = DocumentFilters(
        types=TYPES, statuses=filters.get("statuses"), archived=filters.get("archived"),
        date_from=dates.get("date_from"), date_to=dates.get("date_to"), newest_first=newest_first,
    )  # fmt: skip
    d = documents.c
    with server.db.snapshot() as conn:
        rows = conn.execute(select(d.id, d.date, d.status, d.archived).where(d.account_id == account_id)).all()
        wanted = [
            r for r in rows
            if r.status in (chosen.statuses or ("final", "settled", "canceled", "draft"))
            and (chosen.archived is None or bool(r.archived) == chosen.archived)
            and (chosen.date_from is None or r.date >= chosen.date_from)
            and (chosen.date_to is None or r.date <= chosen.date_to)
        ]  # fmt: skip
        wanted.sort(key=lambda r: (r.date, r.id), reverse=newest_first)
        ids = [r.id for r in wanted]
        for per_page in (1, 7, 25):
            with patch.object(document_lists, "DEEP_OFFSET", 1):
                for page in range(1, len(ids) // per_page + 3):
                    found, total = document_lists.list_document_ids(conn, account_id, chosen, page, per_page)
                    assert total == len(ids), (filters, per_page)
                    assert found == ids[(page - 1) * per_page : page * per_page], (
                        filters,
                        newest_first,
                        per_page,
                        page,
                    )


@pytest.mark.parametrize(
    ("name", "needle"),
    [("text", "ébano"), ("text", "ÉBANO"), ("text", "Peça"), ("text", "PEÇA DE"), ("text", "madeira é"),
     ("text", "É"), ("text", "ÇA"),  # too short for the index: searched row by row
     ("reference", "ÇÃO-7"), ("reference", "ção")],
)  # fmt: skip
def test_text_and_reference_fold_accented_letters(api: Api, name: str, needle: str) -> None:
    """Letter case is folded beyond ASCII on both databases: through the text index, row by row
    for texts too short for it, and in the reference filter."""
    issued = issue(api, observations="Peça de madeira Ébano", reference="Encomenda Ação-77")
    found = api.get("/invoices.json", params={name: needle}).json()["invoices"]
    assert [d["id"] for d in found] == [issued["id"]]


def test_the_text_index_follows_a_draft_that_changes(api: Api) -> None:
    """A draft's new observations and lines replace the old ones in the text index."""

    def found(needle: str) -> list[int]:
        return [d["id"] for d in api.get("/invoices.json", params={"text": needle}).json()["invoices"]]

    line = {"name": "Alpha chair", "description": "Oak", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}
    draft = create(api, observations="First words", items=[line])
    assert found("first words") == found("alpha ch") == [draft["id"]]
    other = {**line, "name": "Bravo table", "description": "Pine"}
    changed = api.put(f"/invoices/{draft['id']}.json", json={"invoice": {
        "observations": "Second words", "client": {"name": "Cliente", "code": "C9"}, "items": [other]}})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert found("first words") == found("alpha ch") == found("oak") == []
    assert found("second words") == found("bravo ta") == found("pine") == [draft["id"]]


def test_the_text_index_follows_the_client_name_an_issue_freezes(api: Api) -> None:
    """A draft is found by its client's name; issued after the client was renamed, by the new
    name the document now holds (and no longer by the old), and an issue that keeps the name
    keeps the document found by it."""

    def found(needle: str) -> list[int]:
        return [d["id"] for d in api.get("/invoices.json", params={"text": needle}).json()["invoices"]]

    renamed = create(api, client={"name": "Firstname Lda", "code": "RN1"})
    kept = create(api, client={"name": "Steadyname Lda", "code": "RN2"})
    assert found("firstname") == [renamed["id"]] and found("steadyname") == [kept["id"]]
    changed = api.put(f"/clients/{renamed['client']['id']}.json", json={"client": {"name": "Secondname Lda"}})
    assert changed.status_code == 200, changed.text
    assert found("secondname") == [], "a draft holds its client's name as it was written"
    finalize(api, "invoice", renamed["id"])
    finalize(api, "invoice", kept["id"])
    assert found("secondname") == [renamed["id"]] and found("firstname") == []
    assert found("steadyname") == [kept["id"]]
