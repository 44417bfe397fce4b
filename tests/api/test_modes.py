"""Sandbox and production (issue 11): in production nothing is invented — series are registered
only with the codes the operator enters (`ixserver series register`), and nothing is issued in
a series not registered for its type; in sandbox every account is fiscal-ready and its
documents are training documents. Both on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from pydantic import ValidationError
from stdnum.pt import nif

from ixserver.config import Settings
from tests.api.invoicing import IDENTITY, body, change, create, issue
from tests.support import TEST_SECRET_KEY, Api, LiveServer, ixserver_command


def a_nif() -> str:
    """A valid NIF of this test's own (a series is unique per taxpayer across accounts)."""
    base = "5" + "".join(random.choice("0123456789") for _ in range(7))
    return base + nif.calc_check_digit(base)


def command_env(server: LiveServer) -> dict[str, str]:
    """The commands' environment: the server's database and data, and its key (what a command
    seals, the servers verify)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=server.settings.resolved_database_url,
               IXSERVER_DATA_DIR=str(server.settings.data_dir), IXSERVER_SECRET_KEY=TEST_SECRET_KEY)  # fmt: skip
    return env


def ixserver(server: LiveServer, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """`ixserver *args` on the server's database: in this process (tests.support.ixserver_command),
    or, `process`, as the operator runs it, an interpreter of its own beside the server's."""
    if process:
        command = [sys.executable, "-m", "ixserver", *args]
        return subprocess.run(command, env=command_env(server), capture_output=True, text=True, timeout=60)
    return ixserver_command(command_env(server), *args)


def series_register(server: LiveServer, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    return ixserver(server, "series", "register", *args, process=process)


def page_of(api: Api, document: dict) -> str:
    """The public page behind a document's permalink (its path, on this server)."""
    return api.http.get("/documents/" + document["permalink"].rsplit("/", 1)[1]).text


def first_series(api: Api) -> dict:
    return api.get("/sequences.json").json()["sequences"][0]


def test_production_issues_only_in_series_registered_by_the_operator(production: LiveServer) -> None:
    fiscal_id = a_nif()
    api = production.account(fiscal_id=fiscal_id, **IDENTITY)
    seq = first_series(api)
    serie = seq["serie"]
    assert seq["current_invoice_validation_code"] == "N/D", "nothing invented"
    # register.json cannot invent either: it says how the codes are entered
    refused = api.put(f"/sequences/{seq['id']}/register.json")
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "000"
    assert "ixserver series register" in refused.json()["errors"][0]["error"]
    # nothing is issued in it, and no number is taken
    draft = create(api)
    not_yet = change(api, "invoice", draft["id"], "finalized")
    assert not_yet.status_code == 422
    assert not_yet.json()["errors"][0]["error"].startswith(
        f"The series {serie} is not registered with the Tax Authority"
    )
    assert first_series(api)["current_invoice_number"] == 0
    # the operator enters the codes AT's portal gave
    entered = series_register(
        production, api.name, serie, "--code", "FT=AAAA1111", "--code", "nc=BBBB2222", process=True
    )
    assert entered.returncode == 0, entered.stderr
    assert f"FT {serie}\tAAAA1111" in entered.stdout and f"NC {serie}\tBBBB2222" in entered.stdout
    assert f"FR {serie}\tN/D" in entered.stdout
    # the API shows what the command wrote at once, its read cache included (issue 22 item 7)
    assert first_series(api)["current_invoice_validation_code"] == "AAAA1111"
    issued = change(api, "invoice", draft["id"], "finalized").json()["invoice"]
    assert (issued["sequence_number"], issued["atcud"]) == (f"1/{serie}", "AAAA1111-1")
    assert "fins de formação" not in page_of(api, issued), "production documents are not training"
    # the same code again changes nothing; another is refused
    assert series_register(production, api.name, serie, "--code", "FT=AAAA1111").returncode == 0
    other_code = series_register(production, api.name, serie, "--code", "FT=CCCC3333")
    assert (
        other_code.returncode == 1
        and "FT of" in other_code.stderr
        and "registered already, with AAAA1111" in other_code.stderr
    )


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["FT=abc"], "FT: abc is not a validation code"),
        (["XX=AAAA1111"], "XX is not a document type registered with AT"),
        (["FT"], "expected TYPE=CODE"),
    ],
)
def test_series_register_refuses_what_is_not_a_code(production: LiveServer, codes: list[str], message: str) -> None:
    api = production.account(fiscal_id=a_nif())
    args = [arg for code in codes for arg in ("--code", code)]
    result = series_register(production, api.name, first_series(api)["serie"], *args)
    assert result.returncode == 1 and message in result.stderr
    assert first_series(api)["current_invoice_validation_code"] == "N/D"


def test_series_register_creates_the_series_and_needs_a_valid_nif(production: LiveServer) -> None:
    api = production.account(fiscal_id=a_nif())
    created = series_register(production, api.name, "LOJA1", "--code", "FS=DDDD4444")
    assert created.returncode == 0, created.stderr
    listed = {s["serie"]: s for s in api.get("/sequences.json").json()["sequences"]}
    assert listed["LOJA1"]["current_simplified_invoice_validation_code"] == "DDDD4444"
    assert listed["LOJA1"]["current_invoice_validation_code"] == "N/D"
    without = production.account()
    refused = series_register(production, without.name, "LOJA1", "--code", "FS=DDDD4444")
    assert refused.returncode == 1 and "doesn't have open activity" in refused.stderr


def test_one_taxpayer_holds_a_series_and_type_once(production: LiveServer) -> None:
    fiscal_id = a_nif()
    first, second = production.account(fiscal_id=fiscal_id), production.account(fiscal_id=fiscal_id)
    assert series_register(production, first.name, "SHARED", "--code", "FT=EEEE5555").returncode == 0
    taken = series_register(production, second.name, "SHARED", "--code", "FT=FFFF6666")
    assert taken.returncode == 1 and "All Sequences are registered in AT." in taken.stderr
    assert series_register(production, second.name, "SHARED", "--code", "NC=FFFF6666").returncode == 0, "another type"
    assert (
        series_register(
            production, production.account(fiscal_id=a_nif()).name, "SHARED", "--code", "FT=GGGG7777"
        ).returncode
        == 0
    )


def test_production_creates_series_unregistered(production: LiveServer) -> None:
    api = production.account(fiscal_id=a_nif())
    created = api.post("/sequences.json", json={"sequence": {"serie": "NOVA"}})
    assert created.status_code == 201
    assert created.json()["sequence"]["current_invoice_validation_code"] == "N/D"


def test_the_simulator_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="only in sandbox mode"):
        Settings(sandbox=False, at_adapter="simulator")
    assert Settings(sandbox=False).resolved_at_adapter == "manual"
    assert Settings(sandbox=True).resolved_at_adapter == "simulator"


def test_sandbox_documents_are_training_documents(api: Api) -> None:
    issued = issue(api)
    assert issued["atcud"].endswith("-1") and issued["atcud"] != "N/D"
    assert "Documento emitido para fins de formação" in page_of(api, issued)
    draft = api.post("/invoices.json", json={"invoice": body()}).json()["invoice"]
    assert page_of(api, draft) == '{"errors":[{"error":"Not found"}]}', "a draft is not public"


def test_the_operator_enters_codes_through_the_control_api_too(production: LiveServer) -> None:
    api = production.account(fiscal_id=a_nif(), **IDENTITY)
    serie = first_series(api)["serie"]
    path = f"/_ixserver/series/{serie}/validation_codes.json"
    entered = api.put(path, json={"validation_codes": {"FT": "HHHH8888", "FR": "IIII9999"}})
    assert entered.status_code == 200, entered.text
    assert entered.json()["sequence"]["current_invoice_validation_code"] == "HHHH8888"
    assert issue(api)["atcud"] == "HHHH8888-1"
    bad = api.put(path, json={"validation_codes": {"FT": "JJJJ0000", "NC": "x"}})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"error": "NC: x is not a validation code (8 to 16 capital letters or digits)"}]
    assert api.put(path, json={}).status_code == 422


def test_the_operator_enters_the_code_at_gave_a_guides_transport(production: LiveServer) -> None:
    """Production: the manual adapter communicates nothing, so an issued guide's
    `at_doc_code_id` is null until the operator enters AT's code (CLI or control API)."""
    from datetime import timedelta

    from ixserver import clock
    from tests.api.invoicing import finalize

    api = production.account(fiscal_id=a_nif(), **IDENTITY)
    serie = first_series(api)["serie"]
    assert series_register(production, api.name, serie, "--code", "GT=KKKK1111").returncode == 0
    start = (clock.local_now() + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M:%S")
    address = {"detail": "Rua 1", "city": "Lisboa", "postal_code": "1000-001", "country": "Portugal"}
    draft = create(api, "transport", loaded_at=start, address_from=address, address_to=address)
    issued = finalize(api, "transport", draft["id"])
    assert (issued["atcud"], issued["at_doc_code_id"]) == ("KKKK1111-1", None)
    path = f"/_ixserver/guides/{issued['id']}/at_doc_code.json"
    entered = api.put(path, json={"at_doc_code_id": "ABC123456789"})
    assert entered.status_code == 200, entered.text
    assert entered.json()["transport"]["at_doc_code_id"] == "ABC123456789"
    assert api.put(path, json={"at_doc_code_id": "ABC123456789"}).status_code == 200, "the same code again"
    assert api.put(path, json={"at_doc_code_id": "OTHER1"}).json()["errors"] == [
        {"error": "The guide has AT's code already: ABC123456789"}
    ]
    assert api.put(path, json={"at_doc_code_id": "not a code!"}).status_code == 422
    assert (
        api.put(f"/_ixserver/guides/{create(api)['id']}/at_doc_code.json", json={"at_doc_code_id": "X1"}).status_code
        == 404
    )
    same = ixserver(production, "guides", "code", api.name, str(issued["id"]), "ABC123456789")
    assert same.returncode == 0 and same.stdout.strip().endswith("ABC123456789"), same.stderr
    other = finalize(
        api, "transport", create(api, "transport", loaded_at=start, address_from=address, address_to=address)["id"]
    )
    assert api.get(f"/transports/{other['id']}.json").json()["transport"]["at_doc_code_id"] is None  # (cached now)
    by_command = ixserver(production, "guides", "code", api.name, str(other["id"]), "XYZ987", process=True)
    assert by_command.returncode == 0, by_command.stderr
    assert api.get(f"/transports/{other['id']}.json").json()["transport"]["at_doc_code_id"] == "XYZ987", (
        "not a stale read"
    )
    with production.db.read() as conn:
        from ixserver.services.verify import verify

        assert verify(conn, production.resources.seal_key, api.name) == [], "the code is sealed"


def test_production_issues_only_with_the_issuers_name_address_and_nif(production: LiveServer) -> None:
    """CIVA art. 36.5 a): an invoice names its issuer, its seat and its NIF. An account with only
    a NIF issues nothing (and takes no number) until they are set; then its documents keep them."""
    api = production.account(fiscal_id=a_nif())
    serie = first_series(api)["serie"]
    assert series_register(production, api.name, serie, "--code", "FT=LLLL1111").returncode == 0
    draft = create(api)
    refused = change(api, "invoice", draft["id"], "finalized")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["error"].startswith(
        "The account's name, address, postal code, city must be set before it issues documents (CIVA art. 36.5 a:"
    )
    assert first_series(api)["current_invoice_number"] == 0
    with production.db.read() as conn:
        from sqlalchemy import text

        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one()
    assert api.put(f"/api/accounts/{account_id}/update.json", json={"account": IDENTITY}).status_code == 200
    issued = change(api, "invoice", draft["id"], "finalized")
    assert issued.status_code == 200, issued.text
    assert "Oficina Exemplo, Lda" in page_of(api, issued.json()["invoice"])
