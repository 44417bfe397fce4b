"""ixserver's seal (domain/seal.py): what it keeps of a document, and its MAC chain."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from ixserver.domain import seal
from tests.unit.test_finalization_rules import INVOICED, OWNER

KEY = b"k" * 32
DOCUMENT = replace(OWNER, lines=[replace(line, item_id=5, tax_id=3) for line in INVOICED])


def test_the_canonical_form_does_not_depend_on_how_numbers_are_stored() -> None:
    """SQLite gives amounts back as stored, PostgreSQL's NUMERIC(24,10) with trailing zeros."""
    padded = replace(DOCUMENT, total=D("100.0000000000"), lines=[replace(INVOICED[0], quantity=D("2.5000000000"))])
    plain = replace(DOCUMENT, total=D("100"), lines=[replace(INVOICED[0], quantity=D("2.5"))])
    assert seal.canonical(padded) == seal.canonical(plain)


def test_links_that_change_on_their_own_are_not_sealed() -> None:
    unlinked = replace(DOCUMENT, client_id=None, lines=[replace(line, item_id=None, tax_id=None) for line in INVOICED])
    assert seal.canonical(unlinked) == seal.canonical(replace(DOCUMENT, client_id=99))


def test_every_other_field_is_sealed() -> None:
    sealed = seal.canonical(DOCUMENT)
    assert seal.differences(sealed, seal.canonical(replace(DOCUMENT, status="draft"))) == ["status"]
    assert seal.differences(sealed, seal.canonical(replace(DOCUMENT, archived=True))) == ["archived"]
    changed_line = [replace(INVOICED[0], description="other"), *INVOICED[1:]]
    assert seal.differences(sealed, seal.canonical(replace(DOCUMENT, lines=changed_line))) == ["lines"]
    assert seal.differences(sealed, seal.canonical(replace(DOCUMENT, client={"name": "X"}))) == ["client"]


def test_each_mac_depends_on_the_key_the_place_and_the_previous_one() -> None:
    text = seal.canonical(DOCUMENT)
    first = seal.mac(KEY, "", 1, 100, "finalized", text)
    assert first == seal.mac(KEY, "", 1, 100, "finalized", text)
    assert len(first) == 64
    others = {
        seal.mac(b"j" * 32, "", 1, 100, "finalized", text),
        seal.mac(KEY, "x", 1, 100, "finalized", text),
        seal.mac(KEY, "", 2, 100, "finalized", text),
        seal.mac(KEY, "", 1, 101, "finalized", text),
        seal.mac(KEY, "", 1, 100, "canceled", text),
        seal.mac(KEY, "", 1, 100, "finalized", text + " "),
    }
    assert first not in others and len(others) == 6


def test_the_canonical_text_is_the_same_bytes_as_before() -> None:
    """Events sealed before the text was made by orjson verify against the same documents: the
    canonical text is still what `json.dumps` with sorted keys, no spaces and no ASCII escapes
    gives, for every kind of text a document holds."""
    import json

    texts = ["Açúcar & Peça", "tab\tand\nnewline", "\x1f\x00\x7f", 'quote " and \\', "😀 U+2028 \u2028", "€ ½"]
    for text in texts:
        document = replace(DOCUMENT, observations=text, client={"name": text, "code": "C1", "address": ""},
                           lines=[replace(INVOICED[0], description=text)])  # fmt: skip
        fields = seal.sealed_fields(document)
        assert seal.canonical(document) == json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    payload = {"identity": {"name": "Açúcar", "fiscal_id": "503504564"}, "predates": {"10": 3, "2": 1}}
    assert seal.account_text(payload) == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_each_kind_of_value_is_sealed_as_plain_json() -> None:
    """Texts as they are (empty ones left out, as absent ones), amounts normalized, dates in ISO
    form, the client's and the transport's fields without their empty ones, flags and numbers
    as they are."""
    from ixserver.domain.documents import Transport
    from ixserver.domain.totals import GlobalDiscount

    transport = Transport("2026-01-05T10:00:00", None, {"city": "Porto", "detail": ""}, {"city": "Lisboa"})
    document = replace(DOCUMENT, observations="", reference=None, archived=True, transport=transport,
                       global_discount=GlobalDiscount("percentage", D("10.500")),
                       client={"name": "Açúcar Lda", "code": "", "email": None})  # fmt: skip
    fields = seal.sealed_fields(document)
    assert "observations" not in fields and "reference" not in fields
    assert fields["archived"] is True and fields["date"] == DOCUMENT.date.isoformat()
    assert fields["transport"] == {"loaded_at": "2026-01-05T10:00:00", "address_from": {"city": "Porto"},
                                   "address_to": {"city": "Lisboa"}}  # fmt: skip
    assert fields["global_discount"] == {"kind": "percentage", "value": "10.5"}
    assert fields["client"] == {"name": "Açúcar Lda"}
    assert fields["lines"][0]["quantity"] == format(INVOICED[0].quantity.normalize(), "f")
