"""The document list filters (api-v2 §4.1, §4.2, §10.6; issue 9), property-based.

One account holds a small fixed set of documents: every type of the invoice family, every
status (draft, final, settled, canceled, deleted), two clients, two dates, references,
observations, line texts, and a few archived documents. Hypothesis draws any combination of
the filters (`type[]` names from the OpenAPI enum too, empty intersections, numbers in every
spelling, pagination) on `GET /invoices.json`, on the per-type lists and on the client's
documents (`POST` with a `filter` body, `GET` with the query), and a plain-Python oracle over
the documents as the API shows them says which ids the page must hold, in which order, and
what the `pagination` block must read. An invalid value is a 422 in the errors shape, never a
500, wherever it comes and whatever comes with it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from ixserver import clock
from ixserver.domain.doctypes import BY_TYPE_NAME
from ixserver.store import document_lists
from ixserver.store.tables import documents
from ixserver.writes.use_cases import of_no_account
from tests.api.invoicing import change, create, credit_note_for, finalize, issue, vat_moss
from tests.support import Answer, Api, LiveServer, Wire, write

TODAY = clock.today()
YESTERDAY = TODAY - timedelta(days=1)

# -- the documents ---------------------------------------------------------------------------

CLIENT_A = {"name": "Zeta Lda", "code": "Z"}
CLIENT_B = {"name": "Beta_Loja 50% Lda", "code": "B5"}
REFERENCES = ["PO-77", "PO_7%", "po-77 lower", "REF/2026", "Encomenda 12"]
OBSERVATIONS = ["Entrega urgente", "Ver FT {serie}/1", "Rascunho", "100% pago"]
LINES = [("Chair", "Oak chair"), ("Bench", "Cadeira de pinho"), ("Pencil", "The best pencil"), ("Refund", "Refund")]

# The invoice family: type name -> (singular key, list path).
FAMILY = {
    "Invoice": ("invoice", "invoices"),
    "InvoiceReceipt": ("invoice_receipt", "invoice_receipts"),
    "SimplifiedInvoice": ("simplified_invoice", "simplified_invoices"),
    "CreditNote": ("credit_note", "credit_notes"),
    "DebitNote": ("debit_note", "debit_notes"),
    "VatMossInvoice": ("vat_moss_invoice", "vat_moss_invoices"),
    "VatMossCreditNote": ("vat_moss_credit_note", "vat_moss_credit_notes"),
}
# Listed types with no documents in the family: accepted, they match nothing (OpenAPI enum, api-v2 §4.1).
OTHER_TYPES = ["Receipt", "CashInvoice", "VatMossReceipt"]
# `status[]` words -> the document status they select ("sent" is what the lists call final).
STATUS_WORDS = {"draft": "draft", "sent": "final", "final": "final", "settled": "settled", "canceled": "canceled",
                "deleted": "deleted", "second_copy": "second_copy"}  # fmt: skip


def _items(name: str, description: str, price: str, quantity: str = "1") -> list[dict[str, Any]]:
    return [
        {"name": name, "description": description, "unit_price": price, "quantity": quantity, "tax": {"name": "IVA23"}}
    ]


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@dataclass
class World:
    api: Api = field(repr=False)
    wire: Wire = field(repr=False)  # the api's account, for the thousands of list requests
    serie: str
    clients: dict[str, int]  # "A"/"B" -> client id
    docs: list[dict[str, Any]] = field(repr=False)  # every document as the API shows it, deleted too

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis' reports: not every document
        printer.text(f"World(serie={self.serie!r}, clients={self.clients}, {len(self.docs)} documents)")


@pytest.fixture(scope="module")
def world(server: LiveServer) -> Iterator[World]:
    api = server.account()
    serie = api.get("/sequences.json").json()["sequences"][0]["serie"]
    y, t = _dmy(YESTERDAY), _dmy(TODAY)
    made: list[dict[str, Any]] = []
    # Yesterday first: a series' documents are issued in date order.
    invoice = issue(api, date=y, due_date=_dmy(YESTERDAY + timedelta(days=30)), client=CLIENT_A, reference="PO-77",
                    observations="Entrega urgente")  # fmt: skip
    made.append(invoice)
    made.append(issue(api, "invoice_receipt", date=y, due_date=y, client=CLIENT_B, reference="PO_7%",
                      items=_items("Chair", "Oak chair", "500")))  # fmt: skip
    moss_fields = vat_moss(api, **CLIENT_A)  # a consumer in France, at French VAT
    made.append(moss := issue(api, "vat_moss_invoice", date=y, due_date=y, **moss_fields))
    simplified = issue(
        api, "simplified_invoice", date=y, due_date=y, client=CLIENT_B, items=_items("Bench", "Bench", "10")
    )
    made.append(_moved(api, "simplified_invoice", simplified["id"], "settled"))
    made.append(create(api, date=y, due_date=y, client=CLIENT_B, reference="po-77 lower"))  # a draft
    # Today.
    canceled = issue(api, date=t, due_date=_dmy(TODAY + timedelta(days=1)), client=CLIENT_B, reference="REF/2026",
                     observations=f"Ver FT {serie}/1")  # fmt: skip
    made.append(_moved(api, "invoice", canceled["id"], "canceled"))
    hundred = issue(api, date=t, due_date=t, client=CLIENT_A, items=_items("Bench", "Cadeira de pinho", "50", "2"))
    made.append(_moved(api, "invoice", hundred["id"], "settled"))
    made.append(finalize(api, "credit_note", credit_note_for(api, invoice, "1", date=t, due_date=t)["id"]))
    made.append(issue(api, "debit_note", owner_invoice_id=invoice["id"], date=t, due_date=t, client=CLIENT_A,
                      reference="Encomenda 12"))  # fmt: skip
    made.append(draft := create(api, date=t, due_date=t, client=CLIENT_A, observations="Rascunho",
                                items=_items("Bench", "Cadeira de pinho", "7.5")))  # fmt: skip
    made.append(create(api, "simplified_invoice", date=t, due_date=t, client=CLIENT_B, observations="100% pago"))
    gone = create(api, date=t, due_date=t, client=CLIENT_A, reference="PO-77")
    made.append(_moved(api, "invoice", gone["id"], "deleted"))
    gone_receipt = create(api, "invoice_receipt", date=t, due_date=t, client=CLIENT_B)
    made.append(_moved(api, "invoice_receipt", gone_receipt["id"], "deleted"))
    made.append(archived := issue(api, "invoice_receipt", date=t, due_date=t, client=CLIENT_A,
                                  items=_items("Chair", "Oak chair", "2.5")))  # fmt: skip
    moss_note = {"owner_invoice_id": moss["id"], "items": _items("Refund", "Refund", "1"), "client": CLIENT_A}
    made.append(create(api, "vat_moss_credit_note", date=t, due_date=t, **moss_note))
    # No endpoint archives a document: the flag is set in the database (its triggers keep the counts).
    to_archive = [archived["id"], draft["id"], gone["id"]]
    server.tampered.add(api.name)  # behind the seal: verify finds it
    write(
        server.db,
        of_no_account(
            lambda conn: conn.execute(update(documents).where(documents.c.id.in_(to_archive)).values(archived=True))
        ),
    )
    other = server.account()  # another tenant's documents never show
    issue(other, client=CLIENT_A, reference="PO-77")
    docs = [_fetch(api, d) for d in made]
    assert sorted({d["status"] for d in docs}) == ["canceled", "deleted", "draft", "final", "settled"]
    assert {d["type"] for d in docs} == set(FAMILY)
    clients = {"A": docs[0]["client"]["id"], "B": docs[1]["client"]["id"]}
    assert {d["client"]["id"] for d in docs} == set(clients.values())
    wire = Wire(api)
    yield World(api=api, wire=wire, serie=serie, clients=clients, docs=docs)
    wire.close()


def _moved(api: Api, doc_type: str, document_id: int, state: str) -> dict[str, Any]:
    response = change(api, doc_type, document_id, state, "list filters")
    assert response.status_code == 200, response.text
    return response.json()[doc_type]


def _fetch(api: Api, document: dict[str, Any]) -> dict[str, Any]:
    key, path = FAMILY[document["type"]]
    response = api.get(f"/{path}/{document['id']}.json")
    assert response.status_code == 200, response.text
    return response.json()[key]


# -- the queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A list request: the query string's filters, a client `filter` body, and where it goes."""

    endpoint: str  # "invoices", a per-type path, "client_get" or "client_post"
    client: str = "A"
    params: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    body: dict[str, Any] | None = None

    def send(self, world: World) -> tuple[str, str, dict[str, Any], Answer]:
        params = {
            k: [_serie(x, world) for x in v] if isinstance(v, tuple) else _serie(v, world) for k, v in self.params
        }
        if self.endpoint in ("client_get", "client_post"):
            method, path = (
                ("GET" if self.endpoint == "client_get" else "POST"),
                f"/clients/{world.clients[self.client]}/invoices.json",
            )
        else:
            method, path = "GET", f"/{self.endpoint}.json"
        kwargs: dict[str, Any] = {"params": params}
        if self.body is not None:
            kwargs["json"] = self.body
        return method, path, params, _request(world.wire, method, path, **kwargs)


def _request(wire: Wire, method: str, path: str, **kwargs: Any) -> Answer:
    response = wire.request(method, path, **kwargs)  # after a 500, on a new connection
    if response.status_code == 500:
        # The server thread logs the traceback after answering; Python 3.11 formats it with
        # `ast`, whose recursion guard is not thread-safe: pytest formatting this failure at the
        # same moment can die with "AST constructor recursion depth mismatch". Let it finish.
        time.sleep(0.3)
    return response


def _serie(text: str, world: World) -> str:
    return text.replace("{serie}", world.serie)


def _substrings(texts: list[str]) -> st.SearchStrategy[str]:
    def cut(text: str) -> st.SearchStrategy[str]:
        return st.tuples(st.integers(0, len(text)), st.integers(0, len(text))).map(lambda ab: text[min(ab) : max(ab)])

    def whole_serie(text: str) -> bool:  # "{serie}" is replaced at request time: never cut in it
        return ("{" in text) == ("}" in text) and ("{" not in text or "{serie}" in text)

    cases = st.sampled_from([str, str.lower, lambda text: text.upper().replace("{SERIE}", "{serie}")])
    cuts = {text: cut(text) for text in texts}  # made once, not for every draw
    pieces = st.sampled_from(texts).flatmap(cuts.__getitem__).filter(lambda text: bool(text) and whole_serie(text))
    return st.tuples(pieces, cases).map(lambda piece_case: piece_case[1](piece_case[0]))


CLIENT_NAMES = [CLIENT_A["name"], CLIENT_B["name"]]
TEXTS = CLIENT_NAMES + REFERENCES + OBSERVATIONS + [t for pair in LINES for t in pair]
CODES = ["FT", "FR", "FS", "NC", "ND", "FVM", "NCVM", "RG", "XX"]

numbers = st.builds(
    lambda code, n, inverted: (f"{code} " if code else "") + (f"{{serie}}/{n}" if inverted else f"{n}/{{serie}}"),
    st.sampled_from([None, *CODES]),
    st.integers(1, 3),
    st.booleans(),
)
days = st.integers(-2, 2).map(lambda k: TODAY + timedelta(days=k))
spelled_days = st.tuples(days, st.sampled_from(["%d/%m/%Y", "dmy", "%Y-%m-%d"])).map(
    lambda df: f"{df[0].day}/{df[0].month}/{df[0].year}" if df[1] == "dmy" else df[0].strftime(df[1])
)
amounts = st.one_of(
    st.sampled_from(
        ["0", "1", "1.0", "2.02", "2.025", "2.03", "100", "100.00", "100.001", "99.999", "500", "1e2", "-1"]
    ),
    st.decimals(min_value=-5, max_value=600, places=3, allow_nan=False, allow_infinity=False).map(str),
)
pages = st.sampled_from(["0", "-1", "1", "2", "3", "4", "1.0", "100"])
per_pages = st.sampled_from(["0", "-3", "1", "2", "3", "5", "10", "100", "150", "1e2"])  # over 100: clamped
family_names = st.sampled_from(list(FAMILY) + OTHER_TYPES)
status_words = st.sampled_from(list(STATUS_WORDS))
flags = st.sampled_from([None, "true", "false"])


# Each filter's value or none, built once: a strategy made inside a draw is made, validated and
# (for a filter's lambda) read back from its source on every example, most of the CPU of a run.
_TYPES = st.none() | st.lists(family_names, min_size=1, max_size=3).map(tuple)
_STATUSES = st.none() | st.lists(status_words, min_size=1, max_size=3).map(tuple)
_FILTERS: list[tuple[str, st.SearchStrategy[Any]]] = [
    (name, st.none() | strategy)
    for name, strategy in [
        ("archived", flags),
        ("non_archived", flags),
        ("date[from]", spelled_days),
        ("date[to]", spelled_days),
        ("due_date[from]", spelled_days),
        ("due_date[to]", spelled_days),
        ("total_before_taxes[from]", amounts),
        ("total_before_taxes[to]", amounts),
        ("reference", _substrings(REFERENCES) | st.text("PO-7_%/ ol", min_size=1, max_size=4)),
        ("text", _substrings(TEXTS) | numbers | st.text("ab %_/12", min_size=1, max_size=3)),
        ("order_by", st.sampled_from(["date_desc", "date_asc"])),
        ("page", pages),
        ("per_page", per_pages),
    ]
]


@st.composite
def query_filters(draw: st.DrawFn) -> tuple[tuple[str, Any], ...]:
    """Any subset of the §4.1 query filters, with page and per_page."""
    brackets = draw(st.booleans())  # `type[]`/`status[]`, or `type`/`status` (also read)
    drawn = [("type[]" if brackets else "type", draw(_TYPES)), ("status[]" if brackets else "status", draw(_STATUSES))]
    drawn += [(name, draw(strategy)) for name, strategy in _FILTERS]
    return tuple(draw(st.permutations([(name, value) for name, value in drawn if value is not None])))


def _words(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A body filter value: a list of words, or one word alone."""
    return st.lists(strategy, max_size=3) | strategy


client_bodies = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "status": _words(st.sampled_from([*STATUS_WORDS, "final"])),
            "by_type": _words(family_names),
            "archived": _words(st.sampled_from(["archived", "non_archived"])),
        },
    ).map(lambda f: {"filter": f}),
)


_ENDPOINTS = st.sampled_from(
    ["invoices", *[p for _, p in FAMILY.values() if p != "invoices"], "client_get", "client_post"]
)
_CLIENTS = st.sampled_from("AB")


@st.composite
def queries(draw: st.DrawFn) -> Query:
    endpoint = draw(_ENDPOINTS)
    params = draw(query_filters())
    if endpoint == "client_post":
        return Query(endpoint, draw(_CLIENTS), params, draw(client_bodies))
    return Query(endpoint, draw(_CLIENTS), params)


# -- the oracle ------------------------------------------------------------------------------


def _day(text: str) -> date:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise AssertionError(f"not a date: {text}")


NUMBER = re.compile(r"(?:(?P<code>[A-Z]{2,4}) )?(?P<number>[^\s/]+/[^\s/]+)")


def _contains(haystack: str | None, needle: str) -> bool:
    """Text search ignores case (ASCII letters: the documents here have no others)."""
    return haystack is not None and needle.lower() in haystack.lower()


def _text_matches(doc: dict[str, Any], text: str) -> bool:
    """Client name, reference, observations or a line contain the text; or the text is the
    document's number as printed, either way round ("1/2026", "2026/1", "FT 2026/1")."""
    needle = text.strip()
    fields = [doc["client"]["name"], doc["reference"], doc["observations"]]
    fields += [t for line in doc["items"] for t in (line["name"], line["description"])]
    if any(_contains(f, needle) for f in fields):
        return True
    number = NUMBER.fullmatch(needle)
    if number is None or "inverted_sequence_number" not in doc:
        return False
    code = number.group("code")
    if code is not None and BY_TYPE_NAME[doc["type"]].internal_code != code:
        return False
    return number.group("number") in (doc["sequence_number"], doc["inverted_sequence_number"])


def _positive(value: str | None, default: int) -> int:
    number = Decimal(value) if value is not None else None
    return int(number) if number is not None and number > 0 else default


def expected(world: World, query: Query) -> tuple[str, list[int], dict[str, int]]:
    """The list's root key, the ids of the page, and its pagination block."""
    params = {k: list(v) if isinstance(v, tuple) else _serie(v, world) for k, v in query.params}
    if query.endpoint in ("invoices", "client_get", "client_post"):
        key, types = "invoices", set(FAMILY)
    else:
        key, types = query.endpoint, {name for name, (_, path) in FAMILY.items() if path == query.endpoint}
    wanted = params.get("type[]", params.get("type"))
    if wanted is not None:
        types &= set(wanted)
    words = params.get("status[]", params.get("status"))
    statuses = None if words is None else {STATUS_WORDS[w] for w in words}
    archived_flag, non_archived_flag = params.get("archived") == "true", params.get("non_archived") == "true"
    archived: bool | None = None if archived_flag and non_archived_flag else archived_flag
    client_id = world.clients[query.client] if query.endpoint.startswith("client") else None
    wanted_filter = (query.body or {}).get("filter") or {}
    if wanted_filter.get("status"):
        statuses = {STATUS_WORDS.get(w, w) for w in _listed(wanted_filter["status"])}
    if wanted_filter.get("by_type"):
        types = set(_listed(wanted_filter["by_type"])) & set(FAMILY)
    if wanted_filter.get("archived"):
        chosen = set(_listed(wanted_filter["archived"]))
        archived = None if chosen >= {"archived", "non_archived"} else "archived" in chosen

    def keep(doc: dict[str, Any]) -> bool:
        checks = [
            doc["type"] in types,
            doc["status"] != "deleted" if statuses is None else doc["status"] in statuses,
            archived is None or doc["archived"] == archived,
            client_id is None or doc["client"]["id"] == client_id,
        ]
        day, due, before_taxes = _day(doc["date"]), _day(doc["due_date"]), Decimal(str(doc["before_taxes"]))
        for name, ok in (
            ("date[from]", lambda v: day >= _day(v)),
            ("date[to]", lambda v: day <= _day(v)),
            ("due_date[from]", lambda v: due >= _day(v)),
            ("due_date[to]", lambda v: due <= _day(v)),
            ("total_before_taxes[from]", lambda v: before_taxes >= Decimal(v)),
            ("total_before_taxes[to]", lambda v: before_taxes <= Decimal(v)),
            ("reference", lambda v: _contains(doc["reference"], v)),
            ("text", lambda v: _text_matches(doc, v)),
        ):
            if params.get(name):
                checks.append(ok(params[name]))
        return all(checks)

    found = [d for d in world.docs if keep(d)]
    found.sort(key=lambda d: (_day(d["date"]), d["id"]), reverse=params.get("order_by", "date_desc") == "date_desc")
    page, per_page = _positive(params.get("page"), 1), min(_positive(params.get("per_page"), 10), 100)
    ids = [d["id"] for d in found][(page - 1) * per_page : page * per_page]
    block = {
        "total_entries": len(found),
        "current_page": page,
        "total_pages": math.ceil(len(found) / per_page),
        "per_page": per_page,
    }
    return key, ids, block


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# -- the properties --------------------------------------------------------------------------

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(SETTINGS, max_examples=500)
@given(query=queries())
def test_every_filter_combination_lists_what_the_oracle_says(world: World, query: Query) -> None:
    _lists_what_the_oracle_says(world, query)


@pytest.mark.parametrize("endpoint", ["invoices", "invoice_receipts", "credit_notes"])
def test_pages_started_from_the_counts_per_date_list_the_same(server: LiveServer, world: World, endpoint: str) -> None:
    """Every page of the lists that the counts per date describe (type, status, archived, dates),
    started where those counts place it (in service only from `DEEP_OFFSET`, 10,000 rows, on):
    the same ids, in the same order, as the oracle's, to the last page and past it. (The read
    cache is off: it holds the other tests' answers.)"""
    dates = [(), (("date[from]", _dmy(TODAY)),), (("date[to]", _dmy(YESTERDAY)),)]
    statuses = [
        (),
        (("status[]", ("final", "settled", "canceled")),),
        (("archived", "true"),),
        (("non_archived", "true"),),
    ]
    with patch.object(document_lists, "DEEP_OFFSET", 1), patch.object(server.ctx.cache, "enabled", False):
        for filters in (d + s for d in dates for s in statuses):
            for order in ("date_desc", "date_asc"):
                for per_page in (1, 2, 3):
                    for page in range(1, 14 // per_page + 2):
                        params = (*filters, ("order_by", order), ("per_page", str(per_page)), ("page", str(page)))
                        _lists_what_the_oracle_says(world, Query(endpoint, "A", params))


def _lists_what_the_oracle_says(world: World, query: Query) -> None:
    method, path, params, response = query.send(world)
    request = f"{method} {path} params={params} body={query.body}"
    assert response.status_code == 200, f"{request} -> {response.status_code} {response.text}"
    key, ids, block = expected(world, query)
    listed = response.json()
    assert list(listed) == [key, "pagination"], f"{request} -> {list(listed)}"
    assert list(listed["pagination"]) == ["total_entries", "current_page", "total_pages", "per_page"]
    assert ([d["id"] for d in listed[key]], listed["pagination"]) == (ids, block), request
    shown = {d["id"]: d for d in world.docs}
    assert listed[key] == [shown[i] for i in ids], f"{request}: a listed document differs from its GET"


INVALID = [
    ("type[]", "Nope"), ("type[]", "invoice"), ("type[]", "INVOICE"), ("type", "Invoices"),
    ("status[]", "paid"), ("status[]", "Sent"), ("status", "open"),
    ("date[from]", "yesterday"), ("date[to]", "32/01/2026"), ("date[from]", "31/02/2026"), ("date[to]", "2026-13-01"),
    ("date[from]", "1/1/26"), ("due_date[from]", "tomorrow"), ("due_date[to]", "2026/01/01"),
    ("total_before_taxes[from]", "abc"), ("total_before_taxes[to]", "NaN"), ("total_before_taxes[from]", "1,5"),
    ("total_before_taxes[to]", "Infinity"), ("order_by", "id"), ("order_by", "date"),
    ("page", "abc"), ("page", "1.5"), ("per_page", "x"), ("per_page", "2.5"),
]  # fmt: skip


@settings(SETTINGS, max_examples=200)
@given(query=queries(), invalid=st.sampled_from(INVALID), mixed=st.booleans())
def test_an_invalid_value_is_a_422_wherever_it_comes(
    world: World, query: Query, invalid: tuple[str, str], mixed: bool
) -> None:
    name, value = invalid
    others = tuple((k, v) for k, v in query.params if k != name and k.rstrip("[]") != name.rstrip("[]"))
    bad: str | tuple[str, ...] = value
    if mixed and name.startswith(("type", "status")):  # the bad word beside good ones
        bad = ("Invoice", value) if name.startswith("type") else ("draft", value)
    method, path, params, response = Query(query.endpoint, query.client, (*others, (name, bad)), query.body).send(world)
    request = f"{method} {path} params={params} body={query.body}"
    assert response.status_code == 422, f"{request} -> {response.status_code} {response.text}"
    errors = response.json()
    assert list(errors) == ["errors"] and len(errors["errors"]) == 1, f"{request} -> {response.text}"
    assert (
        list(errors["errors"][0]) == ["error"]
        and isinstance(errors["errors"][0]["error"], str)
        and errors["errors"][0]["error"]
    )


# -- examples the issue names --------------------------------------------------------------


@pytest.mark.parametrize("type_name", OTHER_TYPES)
def test_issue_9_types_without_documents_list_nothing(world: World, type_name: str) -> None:
    empty = {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10}
    for path, key in (("/invoices.json", "invoices"), ("/credit_notes.json", "credit_notes")):
        response = _request(world.wire, "GET", path, params={"type[]": type_name})
        assert response.status_code == 200, f"GET {path}?type[]={type_name} -> {response.status_code} {response.text}"
        assert response.json() == {key: [], "pagination": empty}
    body = {"filter": {"by_type": [type_name]}}
    response = _request(world.wire, "POST", f"/clients/{world.clients['A']}/invoices.json", json=body)
    assert response.status_code == 200, f"POST by_type={type_name} -> {response.status_code} {response.text}"
    assert response.json() == {"invoices": [], "pagination": empty}


def test_issue_9_a_per_type_list_asked_for_another_type_is_empty(world: World) -> None:
    response = _request(world.wire, "GET", "/credit_notes.json", params={"type[]": "Invoice"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "credit_notes": [],
        "pagination": {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10},
    }


@pytest.mark.parametrize("path", ["/receipts.json", "/vat_moss_receipts.json"])
def test_receipt_lists_of_an_account_without_payments_are_empty(world: World, path: str) -> None:
    key = path.strip("/").removesuffix(".json")
    empty = {"total_entries": 0, "current_page": 1, "total_pages": 0, "per_page": 10}
    assert _request(world.wire, "GET", path).json() == {key: [], "pagination": empty}
    assert _request(world.wire, "GET", path, params={"type[]": "Invoice"}).json() == {key: [], "pagination": empty}


def test_cash_invoices_have_no_list(world: World) -> None:
    assert _request(world.wire, "GET", "/cash_invoices.json").status_code == 404


def test_the_documents_cover_what_the_filters_tell_apart(world: World) -> None:
    """The fixed set is worth filtering: each filter keeps some documents and leaves others."""
    docs = world.docs
    assert {d["date"] for d in docs} == {_dmy(YESTERDAY), _dmy(TODAY)}
    assert {d["archived"] for d in docs} == {True, False}
    assert sum(d["status"] == "deleted" and d["archived"] for d in docs) == 1
    assert len({Decimal(str(d["before_taxes"])) for d in docs}) >= 5
    assert sum(_text_matches(d, f"{world.serie}/1") for d in docs) >= 5, (
        "number 1 of several types, and the observations"
    )


# -- the text search, one case at a time ----------------------------------------------------


def _listed_ids(world: World, path: str, **params: Any) -> list[int]:
    response = _request(world.wire, "GET", path, params=params)
    assert response.status_code == 200, f"GET {path} params={params} -> {response.status_code} {response.text}"
    return [d["id"] for d in response.json()[path.strip("/").removesuffix(".json")]]


def _first_of(world: World, type_name: str) -> int:
    return next(
        d["id"] for d in world.docs if d["type"] == type_name and d.get("sequence_number") == f"1/{world.serie}"
    )


@pytest.mark.parametrize("spelling", ["{serie}/1", "1/{serie}", "FT {serie}/1", "FT 1/{serie}"])
def test_a_number_is_found_either_way_round(world: World, spelling: str) -> None:
    """docs/api.md: `text` takes a number "such as `2026/1`, `1/2026` or `FT 2026/1`"; the
    documents print it as `sequence_number` "1/2026" and `inverted_sequence_number` "2026/1"."""
    text = _serie(spelling, world)
    found = _listed_ids(world, "/invoices.json", text=text, **{"type[]": "Invoice"})
    assert _first_of(world, "Invoice") in found, f"GET /invoices.json?text={text}&type[]=Invoice -> ids {found}"


@pytest.mark.parametrize("code", ["XX", "AB", "ZZZZ"])
def test_a_number_with_a_code_of_no_type_finds_nothing(world: World, code: str) -> None:
    assert _listed_ids(world, "/invoices.json", text=f"{code} {world.serie}/1") == []


@pytest.mark.parametrize(("name", "value"), [("text", "zeta lda"), ("text", "OAK CHAIR"), ("reference", "po-77")])
def test_text_and_reference_ignore_case_on_every_backend(world: World, name: str, value: str) -> None:
    """One answer whatever the database: SQLite's LIKE ignores (ASCII) case, PostgreSQL's does
    not. The contract taken here is SQLite's, a search box's: case does not matter."""
    found = _listed_ids(world, "/invoices.json", **{name: value, "status[]": list(STATUS_WORDS)})
    wanted = [d["id"] for d in _ordered(world.docs) if not d["archived"] and _matches_param(d, name, value)]
    assert wanted, "some document matches ignoring case"
    assert found == wanted, f"GET /invoices.json?{name}={value}&status[]=<every word> -> ids {found}, not {wanted}"


def _ordered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: (_day(d["date"]), d["id"]), reverse=True)


def _matches_param(doc: dict[str, Any], name: str, value: str) -> bool:
    return _text_matches(doc, value) if name == "text" else _contains(doc["reference"], value)


# -- extremes and junk -----------------------------------------------------------------------

ENDPOINTS = ["invoices", "credit_notes", "client_get", "client_post"]
EXTREMES = [
    ("page", str(2**31)), ("page", str(2**62)), ("page", str(2**63)), ("page", "99999999999999999999"),
    ("page", "1e400"), ("per_page", "99999999999999999999"),
    ("total_before_taxes[from]", "1e17"), ("total_before_taxes[to]", "-1e17"),
    ("total_before_taxes[from]", "-1e30"), ("total_before_taxes[to]", "1e30"), ("total_before_taxes[to]", "1e-30"),
    ("date[from]", "01/01/0001"), ("date[to]", "31/12/9999"),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("name", "value"), EXTREMES)
def test_extreme_values_list_right_or_are_refused_never_a_500(
    world: World, endpoint: str, name: str, value: str
) -> None:
    """A huge page or amount is a valid number: the right (empty or full) page, or a 422 if
    the server will not take it; never a 500."""
    query = Query(endpoint, params=((name, value),))
    method, path, params, response = query.send(world)
    request = f"{method} {path} params={params}"
    assert response.status_code in (200, 422), f"{request} -> {response.status_code} {response.text}"
    if response.status_code == 422:
        assert list(response.json()) == ["errors"], f"{request} -> {response.text}"
        return
    key, ids, block = expected(world, query)
    listed = response.json()
    assert ([d["id"] for d in listed[key]], listed["pagination"]) == (ids, block), request


junk_words = st.one_of(
    st.sampled_from(["Nope", "invoice", "paid", "maybe", "", "Sent"]), st.integers().map(str), st.none(), st.booleans()
)
junk_bodies = st.fixed_dictionaries(
    {},
    optional={
        "status": st.lists(junk_words | status_words, min_size=1, max_size=3) | junk_words,
        "by_type": st.lists(junk_words | family_names, min_size=1, max_size=3) | junk_words,
        "archived": st.lists(junk_words, min_size=1, max_size=3) | junk_words,
    },
).map(lambda f: {"filter": f}) | st.sampled_from(
    [{"filter": None}, {"filter": ["x"]}, {"filter": "draft"}, {"filter": 1}]
)


@settings(SETTINGS, max_examples=60)
@given(body=junk_bodies, client=st.sampled_from("AB"))
def test_a_client_filter_body_with_unknown_words_is_never_a_500(
    world: World, body: dict[str, Any], client: str
) -> None:
    """What §10.6 leaves open (unknown words in the body's filter) is answered, 200 or 422, never 500."""
    method, path, params, response = Query("client_post", client, (), body).send(world)
    request = f"{method} {path} body={body}"
    assert response.status_code in (200, 422), f"{request} -> {response.status_code} {response.text}"
    assert list(response.json()) == (["invoices", "pagination"] if response.status_code == 200 else ["errors"]), request


# -- long texts (issue 23) --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reference", "text"])
def test_a_filter_as_long_as_the_longest_reference_finds_it_and_a_longer_one_is_a_422(api: Api, name: str) -> None:
    """`reference` and `text` are at most 10,000 characters (domain/limits.FILTER_TEXT): the
    longest reference a document can carry is found by the whole of it, wildcards of LIKE (`_`,
    `%`) included; a longer filter is a 422 naming it, on both databases (SQLite's LIKE refused
    a pattern over 50,000 bytes with a 500, PostgreSQL searched)."""
    longest = ("_%" * 5_000)[:10_000]
    document = create(api, reference=longest)
    create(api, reference="_" * 9_999 + "x")  # what `_` as a wildcard would also match
    found = api.get("/invoices.json", params={name: longest})
    assert found.status_code == 200, found.text
    assert [d["id"] for d in found.json()["invoices"]] == [document["id"]]
    for value in ("_" * 10_001, "_" * 25_001, "a" * 50_000, "%" * 10_001):
        refused = api.get("/invoices.json", params={name: value})
        assert (refused.status_code, refused.json()) == (
            422,
            {"errors": [{"error": f"{name} is too long (at most 10000 characters)"}]},
        ), value[:3]
