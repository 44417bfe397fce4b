"""The words documents and their pages print, in the client's language: one message catalogue
per language, gettext .po files (render/locale/, package data) read with Babel once per process —
nothing to compile at install. The message ids are the English words (`en.po` leaves them as
they are); `tests/unit/test_catalogue.py` checks that every id the code asks for is in every
catalogue, translated. The legal mentions are not translated: they are Portuguese whatever the
language (render/pdf.py says where each is written)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources as package

from babel.messages.pofile import read_po

LANGUAGES = ("pt", "en", "es")  # the clients' languages (api-v2 §10: a client's `language`)
LOCALES = {"pt": "pt_PT", "en": "en_GB", "es": "es_ES"}


@cache
def _messages(language: str) -> dict[tuple[str | None, str], str]:
    with package.files("ixserver.render").joinpath(f"locale/{language}.po").open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    return {(m.context, str(m.id)): str(m.string) for m in catalog if m.id and m.string}


def language_of(language: str | None) -> str:
    """One of LANGUAGES: the given one, else Portuguese."""
    return language if language in LANGUAGES else "pt"


def gettext(language: str) -> Callable[[str], str]:
    """`_(message)` in `language`: its translation, else the message itself (English)."""
    messages = _messages(language_of(language))
    return lambda message: messages.get((None, message), message)


def pgettext(language: str) -> Callable[[str, str], str]:
    """`_p(context, message)`: a word that depends on what it names (a unit, a status)."""
    messages = _messages(language_of(language))
    return lambda context, message: messages.get((context, message), message)
