"""GET/POST /sequences.json, GET /sequences/{id}.json, set_current, register (api-v2 §8)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ixserver import clock
from tests.support import Api, LiveServer, data_file, live_server, next_number

SEED_PAGE = data_file("seed-list-sequences.txt")
TYPES = [
    "invoice", "invoice_receipt", "simplified_invoice", "credit_note", "debit_note", "receipt",
    "shipping", "transport", "devolution", "proforma", "quote", "fees_note", "purchase_order",
    "vat_moss_invoice", "vat_moss_credit_note", "vat_moss_receipt",
]  # fmt: skip
NOT_ATCUD = {"fees_note", "purchase_order", "vat_moss_invoice", "vat_moss_credit_note", "vat_moss_receipt"}
CODE = re.compile(r"[A-Z0-9]{8}")


def seed_example() -> dict:
    text = SEED_PAGE.read_text()
    start = text.index("{", text.index("Example Success Body Response"))
    return json.JSONDecoder().raw_decode(text[start:])[0]


def expected_keys() -> list[str]:
    """The seed's keys, in the seed's order, with the OpenAPI's validation code after each
    type's sequence id."""
    keys: list[str] = []
    for key in seed_example()["sequences"][0]:
        keys.append(key)
        if key.endswith("_sequence_id"):
            keys.append(key.replace("_sequence_id", "_validation_code"))
    return keys


def test_seed_shape_key_for_key_and_type_for_type(server: LiveServer, api: Api) -> None:
    seed = seed_example()["sequences"][0]
    # Bring the counters to the seed's numbers (finalization will do this for real).
    listed = api.get("/sequences.json").json()["sequences"][0]
    with server.by_hand(api) as conn:
        for key, value in seed.items():
            if key.endswith("_number"):
                for _ in range(value):
                    next_number(conn, listed[key.replace("_number", "_sequence_id")])

    response = api.get("/sequences.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["sequences"]
    assert len(body["sequences"]) == 1
    seq = body["sequences"][0]
    assert list(seq) == expected_keys()
    for key, value in seed.items():
        assert type(seq[key]) is type(value), key
        if key.endswith("_number"):
            assert seq[key] == value, key
    assert seq["id"] == seq["current_invoice_sequence_id"]
    assert seq["serie"] == str(clock.today().year)
    assert seq["default_sequence"] == 1
    sub_ids = [seq[f"current_{t}_sequence_id"] for t in TYPES]
    assert len(set(sub_ids)) == 16
    for t in TYPES:  # sandbox: the first series is registered as the account is created
        code = seq[f"current_{t}_validation_code"]
        assert code == "N/A" if t in NOT_ATCUD else CODE.fullmatch(code), (t, code)


def test_sub_sequence_ids_follow_invoicexpress_allocation_order(api: Api) -> None:
    seq = api.get("/sequences.json").json()["sequences"][0]
    base = seq["id"]
    # The seed: invoice 146090, simplified 146091, invoice_receipt 146092, receipt 146093,
    # debit_note 146094, credit_note 146095 (then VAT MOSS, purchase order, estimates, guides).
    assert seq["current_simplified_invoice_sequence_id"] == base + 1
    assert seq["current_invoice_receipt_sequence_id"] == base + 2
    assert seq["current_receipt_sequence_id"] == base + 3
    assert seq["current_debit_note_sequence_id"] == base + 4
    assert seq["current_credit_note_sequence_id"] == base + 5
    assert seq["current_transport_sequence_id"] == base + 15


def test_create_returns_201_with_the_sequence(api: Api) -> None:
    response = api.post("/sequences.json", json={"sequence": {"serie": "A", "default_sequence": "0"}})
    assert response.status_code == 201
    created = response.json()["sequence"]
    assert list(created) == expected_keys()
    assert created["serie"] == "A" and created["default_sequence"] == 0
    assert all(created[f"current_{t}_number"] == 0 for t in TYPES)
    listed = api.get("/sequences.json").json()["sequences"]
    assert [s["serie"] for s in listed] == [str(clock.today().year), "A"]
    assert [s["default_sequence"] for s in listed] == [1, 0]


@pytest.mark.parametrize("flag", ["1", 1, True, "true"])
def test_create_as_default_moves_the_default(api: Api, flag: object) -> None:
    created = api.post("/sequences.json", json={"sequence": {"serie": "B", "default_sequence": flag}}).json()
    assert created["sequence"]["default_sequence"] == 1
    listed = api.get("/sequences.json").json()["sequences"]
    assert [s["default_sequence"] for s in listed] == [0, 1]


def test_numeric_serie_is_accepted_as_text(api: Api) -> None:
    # zoran759's recordings send {"serie": 2017, "default_sequence": 1}
    created = api.post("/sequences.json", json={"sequence": {"serie": 2017, "default_sequence": 1}})
    assert created.status_code == 201
    assert created.json()["sequence"]["serie"] == "2017"


def test_duplicate_serie_is_422_code_002(api: Api) -> None:
    assert api.post("/sequences.json", json={"sequence": {"serie": "DUP"}}).status_code == 201
    response = api.post("/sequences.json", json={"sequence": {"serie": "DUP"}})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Sequence already exists.", "code": "002"}]}


@pytest.mark.parametrize("serie", ["A B", "2025/A", "X^1", "a" * 36, "ção", "<x>"])
def test_serie_outside_at_rules_is_422_code_001(api: Api, serie: str) -> None:
    before = api.get("/sequences.json").json()
    response = api.post("/sequences.json", json={"sequence": {"serie": serie}})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Sequence name not allowed.", "code": "001"}]}
    assert api.get("/sequences.json").json() == before


@pytest.mark.parametrize(
    "body", [{}, {"sequence": None}, {"sequence": {}}, {"sequence": {"serie": ""}}, {"serie": "A"}]
)
def test_missing_serie_is_422_code_003(api: Api, body: dict) -> None:
    response = api.post("/sequences.json", json=body)
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Invalid sequence.", "code": "003"}]}


def test_serie_limits_35_characters_allowed(api: Api) -> None:
    serie = "2026-A.b_" + "x" * 26
    assert len(serie) == 35
    assert api.post("/sequences.json", json={"sequence": {"serie": serie}}).status_code == 201


def test_get_one(api: Api) -> None:
    listed = api.get("/sequences.json").json()["sequences"][0]
    response = api.get(f"/sequences/{listed['id']}.json")
    assert response.status_code == 200
    assert response.json() == {"sequence": listed}


def test_unknown_sequence_is_404_code_006(api: Api) -> None:
    for method, path in [
        ("GET", "/sequences/999999999.json"),
        ("PUT", "/sequences/999999999/set_current.json"),
        ("PUT", "/sequences/999999999/register.json"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, path
        assert response.json() == {"errors": [{"error": "The sequence doesn't exist.", "code": "006"}]}


def test_another_accounts_sequence_is_404_never_403(server: LiveServer, api: Api) -> None:
    other = server.account()
    foreign = other.get("/sequences.json").json()["sequences"][0]["id"]
    before = other.get("/sequences.json").json()
    assert api.get(f"/sequences/{foreign}.json").status_code == 404
    assert api.put(f"/sequences/{foreign}/set_current.json").status_code == 404
    assert api.put(f"/sequences/{foreign}/register.json").status_code == 404
    assert other.get("/sequences.json").json() == before


def test_set_current(api: Api) -> None:
    created = api.post("/sequences.json", json={"sequence": {"serie": "NEW"}}).json()["sequence"]
    response = api.put(f"/sequences/{created['id']}/set_current.json")
    assert response.status_code == 200
    assert response.json()["sequence"]["default_sequence"] == 1
    listed = api.get("/sequences.json").json()["sequences"]
    assert [(s["serie"], s["default_sequence"]) for s in listed] == [(str(clock.today().year), 0), ("NEW", 1)]
    # again: still exactly one default
    assert api.put(f"/sequences/{created['id']}/set_current.json").status_code == 200
    assert sum(s["default_sequence"] for s in api.get("/sequences.json").json()["sequences"]) == 1


def test_set_current_takes_no_body_or_any_body(api: Api) -> None:
    seq_id = api.get("/sequences.json").json()["sequences"][0]["id"]
    assert api.put(f"/sequences/{seq_id}/set_current.json", content=b"").status_code == 200
    assert api.put(f"/sequences/{seq_id}/set_current.json", json={"sequence": {}}).status_code == 200


def test_create_registers_the_atcud_types(api: Api) -> None:
    """POST "creates and registers" (api-v2 §8.5): in sandbox, through the simulator."""
    seq = api.post("/sequences.json", json={"sequence": {"serie": "REG"}}).json()["sequence"]
    for t in TYPES:
        code = seq[f"current_{t}_validation_code"]
        assert code == "N/A" if t in NOT_ATCUD else CODE.fullmatch(code), (t, code)
    codes = [seq[f"current_{t}_validation_code"] for t in TYPES if t not in NOT_ATCUD]
    assert len(set(codes)) == len(codes), "one code per (series, type)"
    again = api.put(f"/sequences/{seq['id']}/register.json")
    assert again.status_code == 409
    assert again.json() == {"errors": [{"error": "All sequences are registered.", "code": "005"}]}


def test_register_gives_codes_to_atcud_types_only(server: LiveServer) -> None:
    api = server.account(registered=False, fiscal_id="508025338")
    seq = api.get("/sequences.json").json()["sequences"][0]
    assert seq["current_invoice_validation_code"] == "N/D"
    response = api.put(f"/sequences/{seq['id']}/register.json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["sequences"]
    registered = body["sequences"][0]
    for t in TYPES:
        code = registered[f"current_{t}_validation_code"]
        assert code == "N/A" if t in NOT_ATCUD else CODE.fullmatch(code), (t, code)
    codes = [registered[f"current_{t}_validation_code"] for t in TYPES if t not in NOT_ATCUD]
    assert len(set(codes)) == len(codes), "one code per (series, type)"


def test_register_a_registered_series_is_409_code_005(server: LiveServer) -> None:
    api = server.account(registered=False, fiscal_id="508025338")
    seq_id = api.get("/sequences.json").json()["sequences"][0]["id"]
    first = api.put(f"/sequences/{seq_id}/register.json")
    second = api.put(f"/sequences/{seq_id}/register.json", json={"sequence": {}})
    assert first.status_code == 200 and second.status_code == 409
    assert second.json()["errors"][0]["code"] == "005"


def test_sandbox_accounts_get_a_test_nif_of_their_own(server: LiveServer) -> None:
    """Two accounts without a NIF no longer share one (nor their validation codes)."""
    first, second = server.account(), server.account()
    codes = [
        a.get("/sequences.json").json()["sequences"][0]["current_invoice_validation_code"] for a in (first, second)
    ]
    assert CODE.fullmatch(codes[0]) and codes[0] != codes[1]


def test_register_refuses_a_foreign_account(server: LiveServer) -> None:
    irish = server.account(tax_country="IE")  # its first series could not be registered
    seq_id = irish.get("/sequences.json").json()["sequences"][0]["id"]
    response = irish.put(f"/sequences/{seq_id}/register.json")
    assert response.status_code == 422
    assert response.json() == {"errors": [{"error": "Account is not portuguese.", "code": "004"}]}
    assert irish.get("/sequences.json").json()["sequences"][0]["current_invoice_validation_code"] == "N/D"


def test_register_refuses_a_fiscal_id_without_activity(server: LiveServer) -> None:
    bad = server.account(registered=False, fiscal_id="123456788")  # wrong check digit
    seq_id = bad.get("/sequences.json").json()["sequences"][0]["id"]
    response = bad.put(f"/sequences/{seq_id}/register.json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "003"
    # the lease was released: a retry answers the same, not 409
    assert bad.put(f"/sequences/{seq_id}/register.json").status_code == 422


def test_register_with_a_valid_nif(server: LiveServer) -> None:
    good = server.account(registered=False, fiscal_id="508025338")
    seq_id = good.get("/sequences.json").json()["sequences"][0]["id"]
    assert good.put(f"/sequences/{seq_id}/register.json").status_code == 200


def test_concurrent_registration_is_409_code_008(server: LiveServer, tmp_path: Path) -> None:
    # A second server on the same database whose AT answers slowly: while it registers, the
    # lease in the database makes any other registration of that series a 409. (A slow
    # simulator is not instant: an account's first series is left for register.json.)
    with live_server(server.settings.resolved_database_url, tmp_path, at_simulator_delay=1.5, sandbox=True) as slow:
        api = slow.account(fiscal_id="508025338")
        seq_id = api.get("/sequences.json").json()["sequences"][0]["id"]
        results: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: results.append(api.put(f"/sequences/{seq_id}/register.json")))
        worker.start()
        conflict = None
        for _ in range(100):  # once the slow registration holds its lease
            with server.db.read() as conn:
                leased = conn.execute(
                    text("SELECT registering_since FROM sequences WHERE id = :i"), {"i": seq_id}
                ).scalar()
            if leased is not None:
                conflict = httpx.put(f"{server.url}/sequences/{seq_id}/register.json", params={"api_key": api.key})
                break
            threading.Event().wait(0.02)
        worker.join()
        assert conflict is not None, f"no 409 while the registration was running: {[r.text for r in results]}"
        assert conflict.json() == {"errors": [{"error": "The sequence is already being registered.", "code": "008"}]}
        assert results[0].status_code == 200
        assert api.put(f"/sequences/{seq_id}/register.json").json()["errors"][0]["code"] == "005"  # lease released


def test_create_numbers_its_refusals_as_the_create_operation_does(server: LiveServer) -> None:
    """api-v2 §8.5 numbers "no open activity" 005, where register (§8.6) says 003."""
    without_nif = server.account(registered=False)
    created = without_nif.post("/sequences.json", json={"sequence": {"serie": "X1"}})
    assert created.json() == {
        "errors": [{"error": "Account fiscal ID doesn't have open activity in Tax Authority.", "code": "005"}]
    }
    seq_id = without_nif.get("/sequences.json").json()["sequences"][0]["id"]
    assert without_nif.put(f"/sequences/{seq_id}/register.json").json()["errors"][0]["code"] == "003"
    assert [s["serie"] for s in without_nif.get("/sequences.json").json()["sequences"]] == [str(clock.today().year)]
