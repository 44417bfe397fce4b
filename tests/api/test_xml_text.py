"""Text that XML 1.0 cannot carry is refused where every request's text is read (web/wire.py),
so no endpoint stores what would then stop the month's SAF-T file (issue 22 item 5): C0 controls
but tab, line feed and carriage return, U+FFFE, U+FFFF, lone surrogates. 422 naming the field by
its path in the body; nothing changes; the same on SQLite and PostgreSQL. Tab, line feed and
carriage return, DEL and C1 controls (which XML 1.0 allows) are kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ixserver import clock
from tests.api.invoicing import body, change, create, issue
from tests.support import Api

XML = "a character XML 1.0 (the SAF-T file) cannot carry"
LINE = {"name": "Pencil", "description": "A pencil", "unit_price": "2", "quantity": "1"}
FROM = {"detail": "Rua 5", "city": "Lisboa", "postal_code": "1000-555", "country": "Portugal"}


def guide(**address_to: str) -> dict[str, Any]:
    start = (clock.local_now() + timedelta(hours=1)).strftime("%d/%m/%Y %H:%M:%S")
    return body(loaded_at=start, address_from=FROM, address_to={**FROM, **address_to})


# What the account holds that a request could change: every list, whole.
LISTS = ["/clients.json", "/items.json", "/taxes.json", "/sequences.json", "/invoices.json", "/estimates.json",
         "/guides.json", "/receipts.json"]  # fmt: skip


def _held(api: Api) -> list[Any]:
    return [api.get(path, params={"per_page": 100}).json() for path in LISTS]


# (id, method, path (with {draft}, {issued}, {client}), body, the message); the body is sent as
# JSON with every non-ASCII character escaped (`\u0001`), as clients send it, unless `raw` says.
Case = tuple[str, str, str, Callable[[], dict[str, Any]], str]
CASES: list[Case] = [
    ("client-name-SOH", "POST", "/clients.json", lambda: {"client": {"name": "A\u0001B", "code": "X1"}},
     f"client.name contains U+0001, {XML}"),
    ("client-address-ESC", "PUT", "/clients/{client}.json",
     lambda: {"client": {"name": "Cliente Exemplo", "address": "Rua\u001b[1m"}},
     f"client.address contains U+001B, {XML}"),
    ("item-description-BEL", "POST", "/items.json",
     lambda: {"item": {"name": "BELL", "description": "ring\u0007", "unit_price": "1"}},
     f"item.description contains U+0007, {XML}"),
    ("tax-name-STX", "POST", "/taxes.json", lambda: {"tax": {"name": "IVA\u0002", "value": "5", "region": "PT"}},
     f"tax.name contains U+0002, {XML}"),
    ("sequence-serie-VT", "POST", "/sequences.json", lambda: {"sequence": {"serie": "S\u000b"}},
     f"sequence.serie contains U+000B, {XML}"),
    ("document-client-name", "POST", "/invoices.json",
     lambda: {"invoice": body(client={"name": "\u0001", "code": "C9"})},
     f"invoice.client.name contains U+0001, {XML}"),
    ("document-line-ESC", "POST", "/invoices.json",
     lambda: {"invoice": body(items=[LINE, {**LINE, "description": "\u001b"}])},
     f"invoice.items[1].description contains U+001B, {XML}"),
    ("document-observations-FFFF", "POST", "/invoice_receipts.json",
     lambda: {"invoice_receipt": body(observations="x\uffff")},
     f"invoice_receipt.observations contains U+FFFF, {XML}"),
    ("draft-update-reference-FF", "PUT", "/invoices/{draft}.json", lambda: {"invoice": body(reference="PO\u000c1")},
     f"invoice.reference contains U+000C, {XML}"),
    ("quote-item-name", "POST", "/quotes.json", lambda: {"quote": body(items=[{**LINE, "name": "P\u0010"}])},
     f"quote.items[0].name contains U+0010, {XML}"),
    ("guide-city-FFFE", "POST", "/shippings.json", lambda: {"shipping": guide(city="Porto\ufffe")},
     f"shipping.address_to.city contains U+FFFE, {XML}"),
    ("guide-detail-lone-surrogate", "POST", "/transports.json", lambda: {"transport": guide(detail="Rua \ud800")},
     "transport.address_to.detail is not valid Unicode (a lone surrogate)"),
    ("email-subject-US", "PUT", "/invoices/{issued}/email-document.json",
     lambda: {"message": {"client": {"email": "a@example.com", "save": "0"}, "subject": "Fatura\u001f"}},
     f"message.subject contains U+001F, {XML}"),
    ("payment-note-SUB", "POST", "/documents/{issued}/partial_payments.json",
     lambda: {"partial_payment": {"amount": "1", "note": "\u001a"}},
     f"partial_payment.note contains U+001A, {XML}"),
    ("cancel-message-at-root-BS", "PUT", "/invoices/{issued}/change-state.json",
     lambda: {"invoice": {"state": "canceled"}, "message": "wrong\u0008"}, f"message contains U+0008, {XML}"),
    ("unknown-key-holding-one", "POST", "/clients.json",
     lambda: {"client": {"name": "A", "code": "X2", "extra": ["ok", "\u0003"]}},
     f"client.extra[1] contains U+0003, {XML}"),
    ("a-key", "POST", "/clients.json", lambda: {"client": {"name": "A", "code": "X3", "na\u0001me": "B"}},
     f"A key of client contains U+0001, {XML}"),
    ("treasury-observation", "POST", "/api/v3/clients/{client}/regularization.json",
     lambda: {"regularization": {"value": "10", "date": clock.today().isoformat(), "observation": "\u0004"}},
     f"regularization.observation contains U+0004, {XML}"),
]  # fmt: skip


@pytest.fixture
def targets(api: Api) -> dict[str, int]:
    draft = create(api)
    issued = issue(api)
    return {"draft": draft["id"], "issued": issued["id"], "client": issued["client"]["id"]}


@pytest.mark.parametrize(("method", "path", "make", "message"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_text_xml_cannot_carry_is_refused_naming_the_field(
    api: Api, targets: dict[str, int], method: str, path: str, make: Callable[[], dict[str, Any]], message: str
) -> None:
    held = _held(api)
    response = api.request(method, path.format(**targets), content=json.dumps(make()).encode(),
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert (response.status_code, response.json()) == (422, {"errors": [{"error": message}]})
    assert _held(api) == held, "nothing changed"


def test_a_raw_u_fffe_in_utf8_is_refused_too(api: Api) -> None:
    """Not only escaped: the character itself, as UTF-8 bytes."""
    payload = json.dumps({"client": {"name": "A\ufffe", "code": "X4"}}, ensure_ascii=False).encode("utf-8")
    response = api.post("/clients.json", content=payload, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (
        422,
        {"errors": [{"error": f"client.name contains U+FFFE, {XML}"}]},
    )
    assert api.get("/clients.json").json()["clients"] == []


def test_tab_line_feed_carriage_return_del_and_c1_are_kept(api: Api) -> None:
    """XML 1.0 carries them (DEL and C1 are discouraged, not forbidden)."""
    text = "Linha 1\r\nLinha 2\tfim \u007f\u0085 ok"
    document = issue(api, observations=text, items=[{**LINE, "description": text}])
    assert (document["observations"], document["items"][0]["description"]) == (text, text)
    assert change(api, "invoice", document["id"], "canceled", "errado\tduas vezes").status_code == 200
