"""The tampering table (issue 11): direct database edits that AT's signature does not see (it
covers date, entry time, number and gross total), each found by `ixserver verify`'s checks,
naming its document, on SQLite and PostgreSQL. (tests/test_cli.py runs the command itself.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from ixserver import clock
from ixserver.domain.errors import SealRefused
from ixserver.journal import read as read_journal
from ixserver.services.seal import seal_unsealed
from ixserver.services.verify import verify
from tests.api.invoicing import change, credit_note_for, finalize, issue
from tests.support import Api, LiveServer, write

DOC = (
    "(SELECT id FROM documents"
    " WHERE account_id = :a AND doc_type = '{}' AND number = {} AND sub_sequence_id IS NOT NULL)"
)


def _edited(server: LiveServer, api: Api, edits: list[str]) -> list[str]:
    """Apply `edits` (SQL with :a for the account id) and run verify on the account."""
    server.tampered.add(api.name)
    with server.db.transaction() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one()
        for statement in edits:
            conn.execute(text(statement), {"a": account_id})
    with server.db.read() as conn:
        return verify(conn, server.resources.seal_key, api.name)


def _clean(server: LiveServer, api: Api) -> None:
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []


def invoice(number: int) -> str:
    return DOC.format("invoice", number)


def test_every_edit_of_the_table_is_found(server: LiveServer, api: Api) -> None:
    invoices = [issue(api) for _ in range(11)]
    for owner in invoices[9:]:
        finalize(api, "credit_note", credit_note_for(api, owner, "1")["id"])
    assert change(api, "invoice", invoices[1]["id"], "canceled", "wrong").status_code == 200
    _clean(server, api)
    year, name = clock.today().year, api.name
    table: list[tuple[str, Callable[[str], bool]]] = [
        (f"UPDATE documents SET archived = NOT archived WHERE id = {invoice(1)}",
         lambda f: f"{name}: FT {year}/1: differs from its seal in archived" in f),
        (f"UPDATE documents SET status = 'final', status_reason = NULL WHERE id = {invoice(2)}",
         lambda f: f"{name}: FT {year}/2: differs from its seal in status, status_reason" in f),
        (f"UPDATE documents SET client = replace(client, 'Cliente Exemplo', 'Someone Else') WHERE id = {invoice(3)}",
         lambda f: f"{name}: FT {year}/3: differs from its seal in client" in f),
        (f"UPDATE document_lines SET description = 'Something else' WHERE document_id = {invoice(4)}",
         lambda f: f"{name}: FT {year}/4: differs from its seal in lines" in f),
        (f"UPDATE document_lines SET tax_value = 13, tax_name = 'IVA13' WHERE document_id = {invoice(5)}",
         lambda f: f"{name}: FT {year}/5: differs from its seal in lines" in f),
        (f"UPDATE documents SET atcud = 'ZZZZZZZZ-6' WHERE id = {invoice(6)}",
         lambda f: f"{name}: FT {year}/6: ATCUD 'ZZZZZZZZ-6' is not the series' " in f),
        (f"UPDATE documents SET status = 'draft' WHERE id = {invoice(7)}",
         lambda f: f"{name}: FT {year}/7: numbered and signed, but draft" in f),
        (f"UPDATE documents SET status = 'deleted' WHERE id = {invoice(8)}",
         lambda f: f"{name}: FT {year}/8: numbered and signed, but deleted" in f),
        (f"UPDATE documents SET observations = 'added later' WHERE id = {invoice(9)}",
         lambda f: f"{name}: FT {year}/9: differs from its seal in observations" in f),
        (f"UPDATE documents SET status = 'canceled' WHERE id = {invoice(10)}",
         lambda f: f"{name}: FT {year}/10: canceled, but corrected by NC {year}/1" in f),
        (f"UPDATE document_lines SET quantity = 5 WHERE document_id = {DOC.format('credit_note', 2)}",
         lambda f: f"{name}: FT {year}/11: its credit notes: Can't credit 5 of Pencil: 1 left to credit" in f),
        ("UPDATE seal_events SET canonical = canonical || ' ' WHERE account_id = :a AND seq = 4",  # (1: the start)
         lambda f: f"{name}: seal: event 4 ({name}: FT {year}/3, finalized) does not verify" in f),
        ("DELETE FROM seal_events WHERE account_id = :a AND seq = 12",
         lambda f: f"{name}: seal: event 12 is missing (the next is 13)" in f),
    ]  # fmt: skip
    findings = "\n".join(_edited(server, api, [statement for statement, _found in table]))
    missed = [statement for statement, found in table if not found(findings)]
    assert missed == [], findings


def test_numbers_with_a_gap_and_a_document_moved_to_another_counter_are_found(server: LiveServer, api: Api) -> None:
    """Each counter's chain is its own documents, 1..n in number order (the database refuses a
    number twice in one counter): a number edited past a gap, and a document moved into another
    type's counter, are each found in the counters they concern (verify groups an account's
    documents by their counter)."""
    for _ in range(3):
        issue(api)
    for _ in range(2):
        issue(api, "invoice_receipt")
    for _ in range(2):
        issue(api, "simplified_invoice")
    _clean(server, api)
    year, name = clock.today().year, api.name
    findings = _edited(server, api, [
        f"UPDATE documents SET number = 5 WHERE id = {invoice(3)}",
        f"UPDATE documents SET number = 3 WHERE id = {DOC.format('simplified_invoice', 2)}",
        f"UPDATE documents SET number = 4, sub_sequence_id = (SELECT sub_sequence_id FROM documents"
        f" WHERE id = {invoice(1)}) WHERE id = {DOC.format('invoice_receipt', 2)}",
    ])  # fmt: skip
    found = "\n".join(findings)
    assert f"{name}: FT {year}: numbers are 1, 2, 4, 5, not 1..4 without gaps or duplicates" in found, found
    assert f"{name}: FT {year}: the counter is at 3 but 4 documents are numbered" in found, found
    assert f"{name}: FS {year}: numbers are 1, 3, not 1..2 without gaps or duplicates" in found, found
    assert f"{name}: FR {year}: the counter is at 2 but 1 documents are numbered" in found, found
    assert f"{name}: FR {year}: numbers are" not in found, "the one left is number 1"


def test_an_edit_of_the_seal_head_is_found(server: LiveServer, api: Api) -> None:
    issue(api)
    findings = _edited(server, api, ["UPDATE seal_heads SET seq = seq + 1 WHERE account_id = :a"])
    assert f"{api.name}: seal: the head (3) is not the last event (2)" in findings  # 1: the seal's start


# -- what the seal's start and the journal catch (issue 22 item 2) ----------------------------


def _verify(server: LiveServer, api: Api, *, journal: bool = True) -> list[str]:
    heads = [read_journal(server.settings.resolved_seal_journal)] if journal else None
    with server.db.read() as conn:
        return verify(conn, server.resources.seal_key, api.name, journals=heads)


def _by_hand(server: LiveServer, api: Api, edits: list[str]) -> None:
    server.tampered.add(api.name)
    with server.db.transaction() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one()
        for statement in edits:
            conn.execute(text(statement), {"a": account_id})


def test_a_laundered_seal_stays_a_finding_and_ixserver_seal_refuses_it(server: LiveServer, api: Api) -> None:
    """The audit's sequence: delete the seal's events, reset its head, edit a client's NIF, a
    line and a canceled→final status, then run `ixserver seal` as verify used to advise. The
    emptied seal is a finding (its start is gone, and documents issued after it have no events),
    `ixserver seal` refuses and seals nothing, and verify still fails after it."""
    invoices = [issue(api) for _ in range(3)]
    assert change(api, "invoice", invoices[2]["id"], "canceled", "wrong").status_code == 200
    assert _verify(server, api) == []
    year, name = clock.today().year, api.name
    _by_hand(server, api, [
        "DELETE FROM seal_events WHERE account_id = :a",
        "UPDATE seal_heads SET seq = 0, mac = '' WHERE account_id = :a",
        "UPDATE documents SET client = replace(client, '\"fiscal_id\": null', '\"fiscal_id\": \"508025338\"')"
        f" WHERE id = {invoice(1)}",
        f"UPDATE document_lines SET description = 'Something else' WHERE document_id = {invoice(2)}",
        f"UPDATE documents SET status = 'final', status_reason = NULL WHERE id = {invoice(3)}",
    ])  # fmt: skip
    found = "\n".join(_verify(server, api, journal=False))
    assert f"{name}: seal: the chain has no start" in found
    for number in (1, 2, 3):
        assert f"{name}: FT {year}/{number}: issued but has no seal event: its events were deleted" in found
    with pytest.raises(SealRefused) as refused:
        write(server.db, seal_unsealed, server.resources, _account_id(server, api))
    assert "the seal has no start" in str(refused.value.messages)
    again = "\n".join(_verify(server, api))
    assert f"{name}: seal: the chain has no start" in again, "nothing was sealed"
    assert f"the journal recorded event 5 (FT {year}/3)" in again
    assert "but the database's chain ends at 0" in again, "and the journal knew the chain was longer"


def test_seal_refuses_documents_issued_after_its_start(server: LiveServer, api: Api) -> None:
    """With the start kept, documents whose events alone were deleted are not sealed again."""
    issue(api)
    _by_hand(server, api, ["DELETE FROM seal_events WHERE account_id = :a AND seq = 2",
                           "UPDATE seal_heads SET seq = 1,"
                           " mac = (SELECT mac FROM seal_events WHERE account_id = :a AND seq = 1)"
                           " WHERE account_id = :a"])  # fmt: skip
    with pytest.raises(SealRefused) as refused:
        write(server.db, seal_unsealed, server.resources, _account_id(server, api))
    assert refused.value.messages == [
        f"FT {clock.today().year}/1 was issued after the seal began and has no seal event"
    ]


def test_the_last_document_deleted_and_its_counter_set_back_is_found(server: LiveServer, api: Api) -> None:
    """Delete the last invoice with its lines, set its counter back and restore the chain head
    (`last_hash`): the chain of signatures still verifies, but its seal event names it. With the
    events deleted and the seal's head rewound too, the database verifies on its own; the
    journal, outside the database, knows the head it had."""
    issue(api)
    issue(api)
    year, name = clock.today().year, api.name
    restore = [
        f"DELETE FROM document_lines WHERE document_id = {invoice(2)}",
        f"DELETE FROM documents WHERE id = {invoice(2)}",
        "UPDATE sub_sequences SET current_number = 1, last_hash = (SELECT signature FROM documents d WHERE d.id = "
        f"{invoice(1)}), last_entry = (SELECT system_entry_date FROM documents d WHERE d.id = {invoice(1)})"
        " WHERE account_id = :a AND doc_type = 'invoice' AND current_number = 2",
    ]
    _by_hand(server, api, restore)
    found = _verify(server, api)
    assert f"{name}: FT {year}/2: sealed (event 3) but no longer issued in the database" in found
    _by_hand(server, api, ["DELETE FROM seal_events WHERE account_id = :a AND seq = 3",
                           "UPDATE seal_heads SET seq = 2,"
                           " mac = (SELECT mac FROM seal_events WHERE account_id = :a AND seq = 2)"
                           " WHERE account_id = :a"])  # fmt: skip
    assert _verify(server, api, journal=False) == [], "the database alone is consistent"
    assert _verify(server, api) == [
        f"{name}: seal: the journal recorded event 3 (FT {year}/2) but the database's chain ends at 2: events"
        " (and the documents or files they seal) were deleted, or the database was rolled back or restored from an"
        " older backup"
    ]


def test_the_accounts_fiscal_identity_is_sealed(server: LiveServer, api: Api) -> None:
    """A change through the API is sealed; the same change made in the database is a finding."""
    issue(api)
    answer = api.put(f"/api/accounts/{_account_id(server, api)}/update.json",
                     json={"account": {"organization_name": "Nova Firma, Lda", "address": "Rua Nova 1"}})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert _verify(server, api) == []
    _by_hand(server, api, ["UPDATE accounts SET fiscal_id = '508025338', city = 'Porto' WHERE id = :a"])
    found = _verify(server, api)
    assert len(found) == 1 and found[0].startswith(f"{api.name}: the account's fiscal identity differs from its seal: ")
    assert "city None sealed, 'Porto' now" in found[0] and "fiscal_id '5" in found[0] and "'508025338' now" in found[0]


def test_a_kept_saft_file_edited_in_the_database_is_found_and_not_served(server: LiveServer, api: Api) -> None:
    import gzip
    import time

    import httpx

    issue(api)
    today = clock.today()
    for _ in range(400):
        answer = api.get("/api/export_saft.json", params={"month": today.month, "year": today.year})
        if answer.status_code == 200:
            break
        time.sleep(0.05)
    url = answer.json()["url"].replace("http://127.0.0.1", api.base_url)
    assert httpx.get(url).status_code == 200
    assert _verify(server, api) == []
    forged = gzip.compress(httpx.get(url).content.replace(b"<GrossTotal>", b"<GrossTotal>1"), mtime=0)
    server.tampered.add(api.name)
    with server.db.transaction() as conn:
        conn.execute(text("UPDATE saft_exports SET content = :c"
                          " WHERE account_id = (SELECT id FROM accounts WHERE name = :n)"),
                     {"c": forged, "n": api.name})  # fmt: skip
    found = _verify(server, api)
    assert len(found) == 1 and "differs from the file its seal recorded" in found[0], found
    refused = httpx.get(url)
    assert refused.status_code == 409 and "not the one ixserver sealed" in refused.text


def _account_id(server: LiveServer, api: Api) -> int:
    with server.db.read() as conn:
        return int(conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one())


def test_a_sandbox_reset_starts_the_chain_and_its_journal_again(server: LiveServer, api: Api) -> None:
    """The reset deletes the account's events on purpose: the journal records it, so the chain
    that starts again (its own start, event 1) is no finding; the documents issued after it are
    sealed and journaled as before."""
    issue(api)
    issue(api)
    assert api.post("/_ixserver/reset").status_code == 200
    assert _verify(server, api) == []
    issue(api)
    assert _verify(server, api) == []
    entries = read_journal(server.settings.resolved_seal_journal).accounts[_account_id(server, api)]
    assert [(seq, what) for seq, _mac, what in entries][-2:] == [(1, "opened"), (2, f"FT {clock.today().year}/1")]
