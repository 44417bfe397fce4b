"""Fuzzing against the official OpenAPI description (issue 10): Schemathesis draws requests for
every operation ixserver implements (chosen as IMPLEMENTATION_COVERAGE.md chooses them, by
`ixserver.coverage`), valid ones and invalid ones, and sends them to the real server on
SQLite and on PostgreSQL. Every answer must be no 5xx, and a status the description documents
for that operation or one of the few that any operation may answer (ALLOWED, with why).
Response bodies are not checked against the description: ixserver answers every error in one
shape on purpose (docs/api.md, "Errors"); the API tests check the bodies.

Every request carries the API key of one account per backend. So that what is generated gets
past the first check and reaches the rules behind it, half of the requests name a real resource
of that account in their path (invoices of each type, draft and final, a client, an item, a
tax, a sequence, the account itself), and half of the bodies are the description's own example
(repaired where it fails on its own, `example_repairs`) with a few fields left out and a few
taken from the generated body.

    make test    IXSERVER_FUZZ_EXAMPLES (default 10) examples per operation, valid and invalid,
                 the same on every run, drawn once and sent to each backend
    make fuzz    the same with 300 (IXSERVER_FUZZ_EXAMPLES=2000 make fuzz for more), new ones
                 on every run and for each backend

IXSERVER_FUZZ_STATS=FILE appends one line per request (operation, mode, status, seconds, the
start of the answer): what the fuzzing reached.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi._hypothesis import _draw_negated_locations

from ixserver import clock, coverage
from ixserver.services.accounts import create_account
from tests.api.invoicing import body, credit_note_for, finalize
from tests.support import Api, LiveServer, write

STATS = os.environ.get("IXSERVER_FUZZ_STATS")
EXAMPLES = int(os.environ.get("IXSERVER_FUZZ_EXAMPLES") or 10)
# `make test` draws the same requests on every run (a red suite means a change, not bad luck);
# `make fuzz` (IXSERVER_FUZZ_EXAMPLES set) new ones on every run.
DERANDOMIZE = not os.environ.get("IXSERVER_FUZZ_EXAMPLES")

# Statuses that any operation may answer although the description does not list them. Each is
# a deliberate, documented answer of ixserver (docs/api.md, "Errors" and "Limits of what a request
# may carry"); a status outside an operation's documented set and this list fails the test.
ALLOWED: dict[int, str] = {
    400: "malformed JSON in the body (the invalid cases send bytes that are not JSON), or a NUL in the "
    "query string: the description lists no 400 for any operation",
    413: "a body over IXSERVER_MAX_BODY_BYTES: a limit of this server, which the description cannot know",
    422: "a refusal where the description lists none: a query parameter of a read that is not valid "
    "(`page=abc`, `date[from]=x`, a missing `client_name`; docs/api.md, 'What is implemented'), or deleting a tax that "
    "cannot go (the default tax, one on issued documents; docs/api.md, Taxes)",
    429: "too many requests (accounts created a day, the rate limit): the description lists no 429",
}

SPEC = coverage.load_openapi()
SCHEMA = schemathesis.openapi.from_dict(SPEC)
SCHEMA.config.output.sanitization.enabled = False  # a failure shows the request as sent: test keys only
_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Target:
    """An implemented operation, and the value of its enum path parameter for each document
    type ixserver serves ({} when it has none)."""

    method: str
    path: str
    operation_id: str
    fixed: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def documented(self) -> set[str]:
        return {str(code) for code in SPEC["paths"][self.path][self.method.lower()].get("responses", {})}


def implemented() -> list[Target]:
    served = set(coverage.endpoints(coverage.app_routes()))
    targets: list[Target] = []
    for op in coverage.operations(SPEC):
        have = op.served(served)
        if not have:
            continue
        if have == [""]:  # no enum path parameter
            fixed: tuple[tuple[tuple[str, str], ...], ...] = ((),)
        else:
            names = _PATH_PARAMETER.findall(op.path)
            variants = dict(op.variants)
            fixed = tuple(
                tuple(
                    (name, value)
                    for name in names
                    if coverage.normalise(op.path.replace("{" + name + "}", value)) == variants[value]
                )
                for value in have
            )
        targets.append(Target(op.method, op.path, op.operation_id, fixed))
    return targets


TARGETS = implemented()


def status_allowed(status: int, documented: set[str]) -> bool:
    if str(status) in documented or "default" in documented or f"{str(status)[0]}XX" in documented:
        return True
    return status in ALLOWED


# The strategies are made once for both backends (making and validating them is much of a run's
# CPU): they carry these names where a request has the account's API key and the ids of its real
# resources, and each request is given the backend's (`Fuzzed.bind`).
KEY = "fuzzkey"
BINDINGS: list[dict[str, str]] = [
    {"account-id": "fuzzaccount"},
    *(
        {"invoices-type": path, "document-id": f"fuzz{name}"}
        for path, name in [
            ("invoices", "draft"),
            ("invoices", "final"),
            ("credit_notes", "credit"),
            ("invoice_receipts", "receipt"),
            ("simplified_invoices", "simplified"),
            ("debit_notes", "debit"),
        ]  # fmt: skip
    ),
    {"client_id": "fuzzclient"},
    {"item_id": "fuzzitem"},
    {"taxes_id": "fuzztax"},
    {"sequence_id": "fuzzsequence"},
    {"sequence_id": "fuzzdefault"},
]


def real_paths(path_parameters: set[str], fixed: dict[str, str]) -> list[dict[str, str]]:
    """Path parameters naming real resources (by their names in BINDINGS), for an operation with
    these parameters."""
    found = []
    for binding in BINDINGS:
        if path_parameters <= set(binding) and all(binding[name] == value for name, value in fixed.items()):
            choice = {name: binding[name] for name in path_parameters}
            if choice not in found:
                found.append(choice)
    return found


@dataclass
class Fuzzed:
    """One account per backend, its real resources' ids by their names in BINDINGS, and a session."""

    api: Api
    ids: dict[str, int]
    repairs: dict[str, Any]  # body field -> the value that makes the description's examples acceptable
    session: requests.Session

    def bind(self, case: Any) -> None:
        """The case's API key and real resources (in its path, and in a body the repairs gave
        them to), this backend's."""
        if case.query and case.query.get("api_key") == KEY:
            case.query = {**case.query, "api_key": self.api.key}
        if case.path_parameters:
            case.path_parameters = {
                name: self.ids.get(value, value) if isinstance(value, str) else value
                for name, value in case.path_parameters.items()
            }
        if isinstance(case.body, dict | list):
            case.body = self.bound(case.body)

    def bound(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: self.bound(inner) for name, inner in value.items()}
        if isinstance(value, list):
            return [self.bound(inner) for inner in value]
        return self.ids.get(value, value) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def fuzzed(server: LiveServer) -> Iterator[Fuzzed]:
    account, key = write(server.db, create_account, f"fuzz{secrets.token_hex(4)}", server.resources)
    api = Api(server.url, key, account.name)

    def made(response: Any, root: str) -> int:
        assert response.status_code == 201, response.text
        return int(response.json()[root]["id"])

    draft = made(api.post("/invoices.json", json={"invoice": body()}), "invoice")
    final = finalize(api, "invoice", made(api.post("/invoices.json", json={"invoice": body()}), "invoice"))
    credit = credit_note_for(api, final, "1")
    receipt = made(api.post("/invoice_receipts.json", json={"invoice_receipt": body()}), "invoice_receipt")
    simplified = made(api.post("/simplified_invoices.json", json={"simplified_invoice": body()}), "simplified_invoice")
    debit = made(api.post("/debit_notes.json", json={"debit_note": body()}), "debit_note")
    client = made(api.post("/clients.json", json={"client": {"name": "Fuzz Lda", "code": "FZ"}}), "client")
    item = made(
        api.post("/items.json", json={"item": {"name": "Pen", "description": "A pen", "unit_price": 1}}), "item"
    )
    tax = made(api.post("/taxes.json", json={"tax": {"name": "FUZZ5", "value": 5, "region": "PT"}}), "tax")
    sequence = made(api.post("/sequences.json", json={"sequence": {"serie": "FUZZ"}}), "sequence")
    default = api.get("/sequences.json").json()["sequences"][0]["id"]
    ids = {"fuzzaccount": account.id, "fuzzdraft": draft, "fuzzfinal": final["id"], "fuzzcredit": credit["id"],
           "fuzzreceipt": receipt, "fuzzsimplified": simplified, "fuzzdebit": debit, "fuzzclient": client,
           "fuzzitem": item, "fuzztax": tax, "fuzzsequence": sequence, "fuzzdefault": default}  # fmt: skip
    assert set(ids) == {value for binding in BINDINGS for value in binding.values() if value.startswith("fuzz")}
    with requests.Session() as session:
        yield Fuzzed(api, ids, example_repairs("fuzzdefault", "fuzzfinal"), session)


DROP = object()


def example_repairs(sequence_id: str, invoice_id: str) -> dict[str, Any]:
    """What makes the description's example bodies acceptable: each fails in ixserver as it
    would at InvoiceXpress, and a request refused for its example's fault tests nothing."""
    return {
        "sequence_id": sequence_id,  # 123456: one of InvoiceXpress's series
        "owner_invoice_id": invoice_id,  # 1049: ditto, an invoice
        "fiscal_id": "508025338",  # 500100200, 500999888: wrong check digit
        "at_subuser": "508025338/1",  # 500100200/1: ditto
        "mb_reference": "0",  # "1": a Multibanco reference needs a payment provider
        # "02/12/2017 19:00:00": a guide's transport starts later than now
        "loaded_at": (clock.local_now() + timedelta(days=1)).strftime("%d/%m/%Y %H:%M:%S"),
        "proprietary_uid": DROP,  # "uuid-123": every creation would be a replay of the first
    }


def repaired(value: Any, repairs: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {
            name: repairs.get(name, repaired(inner, repairs))
            for name, inner in value.items()
            if repairs.get(name) is not DROP
        }
    if isinstance(value, list):
        return [repaired(inner, repairs) for inner in value]
    return value


@dataclass
class Strategies:
    cases: st.SearchStrategy[Any]
    examples: st.SearchStrategy[Any] | None  # the description's example requests, when it has some with a body


@functools.cache
def strategies(target: Target, mode: GenerationMode, every: bool = False) -> Strategies | None:
    """Cases of every served variant, half of them with the path naming a real resource; of the
    variants that have something to make invalid when the mode is negative (`every`: all of them),
    None when none has."""
    operation = SCHEMA[target.path][target.method]
    names = set(_PATH_PARAMETER.findall(target.path))
    query = {"api_key": KEY}
    generated, real = [], []
    for fixed in map(dict, target.fixed):
        if every or negatable(operation, mode, fixed or None, query):
            generated.append(operation.as_strategy(generation_mode=mode, query=query, path_parameters=fixed or None))
        for path_parameters in real_paths(names, fixed) if names else []:
            if every or negatable(operation, mode, path_parameters, query):
                real.append(operation.as_strategy(generation_mode=mode, query=query, path_parameters=path_parameters))
    if not generated and not real:
        return None
    cases = st.one_of(st.one_of(generated), st.one_of(real)) if generated and real else st.one_of(generated or real)
    examples = operation.get_strategies_from_examples(query=query) if operation.body else []
    return Strategies(cases, st.one_of(examples) if examples else None)


def negatable(operation: Any, mode: GenerationMode, path_parameters: Any, query: dict[str, str]) -> bool:
    """Whether a case of this mode can be drawn with these parameters fixed: always for a valid
    one; for an invalid one, when some location has something to make invalid (Schemathesis's
    own choice of the locations a negative case breaks; with none, it rejects every case it
    draws, a thousand before Hypothesis gives up)."""
    if mode is not GenerationMode.NEGATIVE:
        return True
    explicit = {ParameterLocation.PATH: path_parameters, ParameterLocation.HEADER: None,
                ParameterLocation.COOKIE: None, ParameterLocation.QUERY: query}  # fmt: skip
    # With every draw True, the locations are all the candidates, or None when there are none.
    return (
        _draw_negated_locations(lambda _: True, operation, mode, explicit=explicit, body_is_generated=True) is not None
    )


def blend(draw: Any, example: Any, generated: Any, repairs: dict[str, Any]) -> Any:
    """The description's example body (repaired), a few of its fields left out and a few taken
    from the generated body: requests that pass most checks, so that what was generated reaches
    the rules behind them."""
    if not isinstance(example, dict):
        return generated
    blended: dict[str, Any] = {}
    for root, fields in repaired(example, repairs).items():
        if not isinstance(fields, dict):
            blended[root] = fields
            continue
        for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)) if fields else ():
            del fields[name]
        other = generated.get(root)
        if isinstance(other, dict) and other:
            for name in draw(st.sets(st.sampled_from(sorted(other)), max_size=3)):
                fields[name] = other[name]
        blended[root] = fields
    return blended


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("target", TARGETS, ids=[f"{t.operation_id}" for t in TARGETS])
def test_no_server_error_and_a_documented_status(fuzzed: Fuzzed, target: Target, mode: GenerationMode) -> None:
    drawn = strategies(target, mode)
    if drawn is None:
        if not DERANDOMIZE:  # `make fuzz`: Schemathesis agrees, rejecting every case it draws
            every = strategies(target, mode, every=True)
            assert every is not None
            with pytest.raises(Unsatisfiable):
                fuzz(fuzzed, target, mode, every)
        pytest.skip("nothing of this request can be made invalid: its parameters are fixed or any string")
    fuzz(fuzzed, target, mode, drawn)


# `make test`'s cases of each operation and mode, as drawn for the first backend: the same
# requests go to the other (Hypothesis, derandomized, would draw them again at the same cost).
DRAWN: dict[tuple[Target, GenerationMode], list[Any]] = {}


def fuzz(fuzzed: Fuzzed, target: Target, mode: GenerationMode, drawn: Strategies) -> None:
    """EXAMPLES cases drawn and sent: no 5xx, and a status documented or ALLOWED."""
    if DERANDOMIZE and (target, mode) in DRAWN:
        for case in DRAWN[target, mode]:
            send(fuzzed, target, mode, case.derive())
        return
    cases: list[Any] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=drawn.cases, data=st.data())
    def check(case: Any, data: st.DataObject) -> None:
        if drawn.examples is not None and isinstance(case.body, dict) and data.draw(st.booleans(), label="blend"):
            case.body = blend(data.draw, data.draw(drawn.examples, label="example").body, case.body, fuzzed.repairs)
        cases.append(case.derive())
        send(fuzzed, target, mode, case)

    check()
    DRAWN[target, mode] = cases


def send(fuzzed: Fuzzed, target: Target, mode: GenerationMode, case: Any) -> None:
    """The case, with this backend's key and ids: no 5xx, and a status documented or ALLOWED."""
    fuzzed.bind(case)
    response = case.call(base_url=fuzzed.api.base_url, session=fuzzed.session, timeout=30)
    status = response.status_code
    if STATS:
        with open(STATS, "a") as log:
            log.write(f"{target.operation_id} {mode.value} {status} {response.elapsed:.3f} {response.text[:120]!r}\n")
    where = f"{case.method} {case.formatted_path} -> {status} {response.text[:500]!r}\n{case.as_curl_command()}"
    assert status < 500, f"server error: {where}"
    documented = target.documented
    assert status_allowed(status, documented), (
        f"{status} is not documented for {target.operation_id} ({sorted(documented)}): {where}"
    )
