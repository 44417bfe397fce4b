"""The tampering table (issue 11): direct database edits that AT's signature does not see (it
covers date, entry time, number and gross total), each found by `ixserver verify`'s checks,
naming its document, on SQLite and PostgreSQL. (tests/test_cli.py runs the command itself.)"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from ixserver import clock
from ixserver.services.verify import verify
from tests.api.invoicing import change, credit_note_for, finalize, issue
from tests.support import Api, LiveServer

DOC = "(SELECT id FROM documents WHERE account_id = :a AND doc_type = '{}' AND number = {} AND sub_sequence_id IS NOT NULL)"


def _edited(server: LiveServer, api: Api, edits: list[str]) -> list[str]:
    """Apply `edits` (SQL with :a for the account id) and run verify on the account."""
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
        ("UPDATE seal_events SET canonical = canonical || ' ' WHERE account_id = :a AND seq = 3",
         lambda f: f"{name}: seal: event 3 ({name}: FT {year}/3, finalized) does not verify" in f),
        ("DELETE FROM seal_events WHERE account_id = :a AND seq = 12",
         lambda f: f"{name}: seal: event 12 is missing (the next is 13)" in f),
    ]  # fmt: skip
    findings = "\n".join(_edited(server, api, [statement for statement, _found in table]))
    missed = [statement for statement, found in table if not found(findings)]
    assert missed == [], findings


def test_an_edit_of_the_seal_head_is_found(server: LiveServer, api: Api) -> None:
    issue(api)
    findings = _edited(server, api, ["UPDATE seal_heads SET seq = seq + 1 WHERE account_id = :a"])
    assert f"{api.name}: seal: the head (2) is not the last event (1)" in findings
