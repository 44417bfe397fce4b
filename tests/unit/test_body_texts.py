"""A body's texts are checked for what XML 1.0 cannot carry, however the JSON spells them; the
bytes' pre-check only ever skips bodies that hold none (web/wire.py MAYBE_FORBIDDEN)."""

from __future__ import annotations

import json

import pytest

from ixserver.domain.errors import MalformedRequest, ValidationFailed
from ixserver.web.wire import _as_is, _parsed

FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF, 0xD800, 0xDFFF)]


def _spellable(char: str, spelling: str) -> bool:
    """A lone surrogate has no UTF-8 or UTF-16 spelling, and a raw control character is no JSON
    (see the test after): those are spelled escaped only."""
    return spelling == "escaped" or not ("\ud800" <= char <= "\udfff" or char < " ")


CASES = [
    pytest.param(char, where, spelling, id=f"{spelling}-{where}-U+{ord(char):04X}")
    for char in FORBIDDEN
    for where in ("value", "key", "list")
    for spelling in ("escaped", "raw", "utf-16")
    if _spellable(char, spelling)
]


@pytest.mark.parametrize(("char", "where", "spelling"), CASES)
def test_every_forbidden_character_is_refused_however_spelled(char: str, where: str, spelling: str) -> None:
    text = f"a{char}b"
    body = {"value": {"invoice": {"x": text}}, "key": {"invoice": {text: 1}}, "list": {"invoice": {"x": [1, text]}}}[
        where
    ]
    if spelling == "escaped":
        raw = json.dumps(body).encode()
    else:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8" if spelling == "raw" else "utf-16")
    with pytest.raises(ValidationFailed):
        _parsed(raw, "application/json", _as_is)


@pytest.mark.parametrize("char", [c for c in FORBIDDEN if c < " "], ids=lambda c: f"U+{ord(c):04X}")
def test_a_raw_control_character_in_a_text_is_malformed_json(char: str) -> None:
    with pytest.raises(MalformedRequest):
        _parsed(f'{{"invoice": {{"x": "a{char}b"}}}}'.encode(), "application/json", _as_is)


def test_allowed_escapes_and_texts_pass() -> None:
    body = {"invoice": {"x": "tab\tnew\nline\r ção € \u2028", "\\u0000": "not an escape: a backslash"}}
    assert _parsed(json.dumps(body).encode(), "application/json", _as_is) == body
