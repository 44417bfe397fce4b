"""Estimates (api-v2 §5): quotes, pro-formas and fees notes, through the family routes of the
invoices: create, get, update, per-type lists and GET /estimates.json, and the change-state
table of §5.4 (accept/refuse in both spellings). Issued as working documents: numbered per type
and series, signed, with ATCUD where the type has one (pt-compliance §1.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ixserver import clock
from tests.api.invoicing import body, change, create, finalize
from tests.support import Api, LiveServer

ESTIMATES = ["quote", "proforma", "fees_note"]
TYPE_NAMES = {"quote": "Quote", "proforma": "Proforma", "fees_note": "FeesNote"}


@pytest.mark.parametrize("doc_type", ESTIMATES)
def test_create_get_update_and_issue(api: Api, doc_type: str) -> None:
    created = api.post(f"/{doc_type}s.json", json={doc_type: body()})
    assert created.status_code == 201, created.text
    draft = created.json()[doc_type]
    assert (draft["type"], draft["status"], draft["sequence_number"]) == (TYPE_NAMES[doc_type], "draft", "rascunho")
    assert api.get(f"/{doc_type}s/{draft['id']}.json").json() == {doc_type: draft}
    updated = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: body(reference="PO-9")})
    assert updated.status_code == 200 and updated.json()[doc_type]["reference"] == "PO-9"
    issued = finalize(api, doc_type, draft["id"])
    serie = api.get("/sequences.json").json()["sequences"][0]
    assert (issued["status"], issued["sequence_number"]) == ("final", f"1/{serie['serie']}")
    code = serie[f"current_{doc_type}_validation_code"]
    assert issued["atcud"] == ("N/A" if doc_type == "fees_note" else f"{code}-1")
    assert len(issued["saft_hash"]) == 4, "signed as a working document"
    refused = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: body()})
    assert refused.status_code == 422


def test_the_family_root_keys_are_taken_too(api: Api) -> None:
    """§5.2: the root `quote` is documented for every type; `estimate` is seen too."""
    assert api.post("/proformas.json", json={"quote": body()}).json()["proforma"]["type"] == "Proforma"
    assert api.post("/fees_notes.json", json={"estimate": body()}).json()["fees_note"]["type"] == "FeesNote"


def test_validity_defaults_to_thirty_days(api: Api) -> None:
    draft = create(api, "quote", due_date=None)
    assert draft["due_date"] == (clock.today() + timedelta(days=30)).strftime("%d/%m/%Y")


def test_the_change_state_table(api: Api) -> None:
    quote = finalize(api, "quote", create(api, "quote")["id"])
    path = f"/quotes/{quote['id']}/change-state.json"

    def to(state: str, message: str | None = None) -> tuple[int, str]:
        payload = {"quote": {"state": state, **({"message": message} if message else {})}}
        answer = api.put(path, json=payload)
        return answer.status_code, answer.json()["quote"]["status"] if answer.status_code == 200 else answer.text

    assert to("accept") == (200, "accepted")
    assert to("refused") == (200, "refused"), "refused ↔ accepted, in both spellings"
    assert to("accepted") == (200, "accepted")
    assert to("refuse") == (200, "refused")
    assert to("finalized")[0] == 422
    assert to("settled")[0] == 422, "nothing settles an estimate"
    assert to("canceled", "client changed plans") == (200, "canceled")
    assert to("accept")[0] == 422
    draft = create(api, "proforma")
    assert change(api, "proforma", draft["id"], "accept").status_code == 422, "a draft is finalized first"
    assert change(api, "proforma", draft["id"], "deleted").json()["proforma"]["status"] == "deleted"


def test_lists(api: Api) -> None:
    quote = finalize(api, "quote", create(api, "quote")["id"])
    change(api, "quote", quote["id"], "accept")
    proforma = create(api, "proforma")
    fees = create(api, "fees_note")
    create(api)  # an invoice: not an estimate
    listed = api.get("/estimates.json").json()
    assert sorted(d["id"] for d in listed["estimates"]) == sorted([quote["id"], proforma["id"], fees["id"]])
    assert listed["pagination"]["total_entries"] == 3
    accepted = api.get("/estimates.json", params={"status[]": "accepted"}).json()["estimates"]
    assert [d["id"] for d in accepted] == [quote["id"]]
    only = api.get("/estimates.json", params={"type[]": "Proforma"}).json()["estimates"]
    assert [d["id"] for d in only] == [proforma["id"]]
    assert [d["id"] for d in api.get("/quotes.json").json()["quotes"]] == [quote["id"]]
    assert api.get("/estimates.json", params={"type[]": "Nope"}).status_code == 422
    assert quote["id"] not in [d["id"] for d in api.get("/invoices.json").json()["invoices"]]


def test_estimates_verify_and_are_sealed(server: LiveServer, api: Api) -> None:
    from ixserver.services.verify import verify

    quote = finalize(api, "quote", create(api, "quote")["id"])
    change(api, "quote", quote["id"], "accept")
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []


def test_a_fees_note_withholds_its_retention(api: Api) -> None:
    """Fees notes (nota de honorários) carry IRS withholding: computed on before_taxes, not
    taken off the total (api-v2 §3.3)."""
    lines = [
        {"name": "Advice", "description": "Legal advice", "unit_price": "1000", "quantity": 1, "tax": {"name": "IVA23"}}
    ]
    note = finalize(api, "fees_note", create(api, "fees_note", items=lines, retention="25")["id"])
    assert (note["before_taxes"], note["taxes"], note["total"], note["retention"]) == (1000.0, 230.0, 1230.0, "25.0")
