"""The words documents print (render/catalogue.py: one gettext catalogue per language) and how
each language writes numbers, amounts and dates (render/formats.py: Babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources as package
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from ixserver.domain import states
from ixserver.domain.items import UNITS
from ixserver.render.catalogue import LANGUAGES, LOCALES
from ixserver.render.formats import Formats
from ixserver.render.view import TITLES

RENDER = Path(str(package.files("ixserver.render")))
SHOWN_STATES = (states.FINAL, states.SETTLED, states.CANCELED, states.ACCEPTED, states.REFUSED)


def catalogue(language: str) -> dict[tuple[str | None, str], str]:
    with (RENDER / "locale" / f"{language}.po").open("rb") as po:
        return {(m.context, str(m.id)): str(m.string) for m in read_po(po, locale=LOCALES[language]) if m.id}


def asked_for() -> set[tuple[str | None, str]]:
    """Every message the code asks for: `_("…")` in render/ and its templates, the types' names,
    the units and the states a page shows (asked for by value)."""
    found = {(None, str(message)) for path in RENDER.glob("*.py")
             for _l, message, _c, _x in extract_from_file("python", str(path), keywords={"_": None})}  # fmt: skip
    for path in (RENDER / "templates" / "pages").glob("*.html"):
        found |= {(None, str(m)) for _l, m, _c, _x in extract_from_file("jinja2", str(path), keywords={"_": None})}
    found |= {(None, name) for name in TITLES.values()}
    found |= {("unit", unit) for unit in UNITS} | {("status", state) for state in SHOWN_STATES}
    return found


def test_every_catalogue_has_every_message_the_code_asks_for_and_no_other() -> None:
    asked = asked_for()
    for language in LANGUAGES:
        kept = catalogue(language)
        assert set(kept) == asked, (language, set(kept) ^ asked)
        if language != "en":  # English is the messages themselves
            assert [key for key, text in kept.items() if not text] == [], language


@pytest.mark.parametrize(
    ("language", "money", "negative", "quantity", "rate", "day"),
    [
        ("pt", "1\xa0234,56\xa0€", "-3,75\xa0€", "2,5", "13,5%", "05-01-2026"),
        ("en", "€1,234.56", "-€3.75", "2.5", "13.5%", "05-01-2026"),
        ("es", "1.234,56\xa0€", "-3,75\xa0€", "2,5", "13,5\xa0%", "05-01-2026"),
    ],
)
def test_each_language_writes_amounts_as_babel_does(
    language: str, money: str, negative: str, quantity: str, rate: str, day: str
) -> None:
    """Portuguese as Babel's pt_PT gives it: a no-break space groups the thousands and parts the
    amount from the euro sign. Dates are DD-MM-AAAA in every language (pt-compliance §3.2)."""
    formats = Formats(language)
    assert formats.money(Decimal("1234.555"), "EUR") == money  # to the cent, half up
    assert formats.money(Decimal("-3.75"), "EUR") == negative
    assert formats.quantity(Decimal("2.500000")) == quantity and formats.percent(Decimal("13.5")) == rate
    assert formats.price(Decimal("2.0244")) == ("2.0244" if language == "en" else "2,0244")
    assert formats.date(date(2026, 1, 5)) == day
    parts = formats.money_parts("EUR")
    assert parts["before"] + "1" + parts["group"] + "234" + parts["decimal"] + "56" + parts["after"] == money
