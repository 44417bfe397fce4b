"""What makes a client valid (api-v2 §10, clients.md §2, pt-compliance §6.7)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stdnum.pt import nif

from ixserver.domain import country_names, exemptions
from ixserver.domain.reference import COUNTRIES, LIST_ONLY_CODES, TAX_COUNTRIES

LANGUAGES = ("pt", "en", "es")
PORTUGAL = "Portugal"
FINAL_CONSUMER_NIF = "999999990"
FINAL_CONSUMER = "Consumidor final"  # what a document says of a client without a NIF (or with that one)
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


def _folded(text: str) -> str:
    """A name as it is looked up: any letter case, any accents, any spacing."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _countries() -> dict[str, str]:
    """What names a country, folded -> the name stored: the country list's names first (the
    spec's appendix: what InvoiceXpress accepts), then the tax-country table's names and codes
    (PT, PT-AC, GB…), then other names of the same countries (Portuguese, ISO 3166-1's English).
    A code names the first country of the list with that code, else the table's name."""
    by_code: dict[str, str] = {}
    for name in COUNTRIES:
        code = LIST_ONLY_CODES.get(name) or TAX_COUNTRIES.get(name, "")[:2]
        if code:
            by_code.setdefault(code, name)
    for name, code in TAX_COUNTRIES.items():
        by_code.setdefault(code[:2], name)
    found = {_folded(name): name for name in COUNTRIES}
    for name, code in TAX_COUNTRIES.items():
        found.setdefault(_folded(name), by_code[code[:2]])
        found.setdefault(_folded(code), by_code[code[:2]])
    for code, name in by_code.items():
        found.setdefault(_folded(code), name)
    for name, code in country_names.NAMES.items():
        found.setdefault(_folded(name), by_code[code])
    return found


_COUNTRIES = _countries()


def canonical_country(name: str) -> str | None:
    """The country list's name of the country `name` names (api-v2 §10, the appendix's list;
    also its code, or its name in Portuguese), or None: a country InvoiceXpress would not take
    ("Country Narnia was not found")."""
    return _COUNTRIES.get(_folded(name))


def is_valid_email(value: str) -> bool:
    return EMAIL.fullmatch(value.strip()) is not None


# What ends a line to Python (str.splitlines), which its email package refuses in a header value:
# CR, LF, VT, FF, the C0 separators, NEL (U+0085), and Unicode's line and paragraph separators.
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def header_problem(field: str, header: str, value: str | None) -> str | None:
    """Why `value` cannot be the e-mail header `header` (an e-mail's subject, its addresses), or
    None. A line break would end the header (an injected one after it: "Bcc: …"); whatever else
    Python's email package refuses to write as that header is refused too, since the message is
    written with it when it is sent, on every attempt."""
    if not value:
        return None
    found = LINE_BREAK.search(value)
    if found is not None:
        return f"{field} can't contain a line break (U+{ord(found.group()):04X})"
    from email import policy
    from email.message import EmailMessage

    mail = EmailMessage()
    try:
        mail[header] = value
        mail.as_bytes(policy=policy.SMTPUTF8)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the header could not be sent
        return f"{field} can't be an e-mail header ({exc})"
    return None


def is_valid_portuguese_nif(value: str) -> bool:
    """A NIF by its check digit; "PT508025338" and "508 025 338" are read as 508025338."""
    return bool(nif.is_valid(value))


def fiscal_id_is_locked(current: str | None, new: str | None) -> bool:
    """Whether changing a client's NIF needs checking against its issued documents: a NIF is
    fixed once the client has any (pt-compliance §7), except a missing one or the final
    consumer's, which may be filled in."""
    return new != current and (current or "").strip() not in ("", FINAL_CONSUMER_NIF)


def name_is_locked(current: str, new: str, fiscal_id: str | None) -> bool:
    """Whether changing a client's name needs checking against its issued documents: the name
    of a client without a NIF (or with the final consumer's) is all that identifies it, so it is
    fixed once the client has any (pt-compliance §7)."""
    return new.strip() != current.strip() and (fiscal_id or "").strip() in ("", FINAL_CONSUMER_NIF)


def validate_client(fields: dict[str, object]) -> list[str]:
    """Problems with a client's fields as they will be stored (country already canonical or
    the raw value the caller sent). Empty optional fields are None by now."""
    problems: list[str] = []
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("Name can't be blank")
    code = fields.get("code")
    if code is not None and (not isinstance(code, str) or not code.strip()):
        problems.append("Code can't be blank")
    email = fields.get("email")
    if isinstance(email, str) and not is_valid_email(email):
        problems.append("Email is invalid")
    contact_email = fields.get("contact_email")
    if isinstance(contact_email, str) and not is_valid_email(contact_email):
        problems.append("Preferred contact: email must be an email")
    language = fields.get("language")
    if language is not None and language not in LANGUAGES:
        problems.append("Language is not included in the list (pt, en, es)")
    country = fields.get("country")
    canonical = canonical_country(country) if isinstance(country, str) else None
    if isinstance(country, str) and canonical is None:
        problems.append(f"Country {country} was not found")
    fiscal_id = fields.get("fiscal_id")
    if isinstance(fiscal_id, str) and canonical == PORTUGAL and not is_valid_portuguese_nif(fiscal_id):
        problems.append("Fiscal ID is not a valid Portuguese NIF (wrong check digit)")
    send_options = fields.get("send_options")
    if isinstance(send_options, int) and not 1 <= send_options <= 3:
        problems.append("Send options must be within 1 and 3")
    payment_days = fields.get("payment_days")
    if isinstance(payment_days, int) and payment_days < 0:
        problems.append("Payment days must be greater than or equal to 0")
    exemption = fields.get("tax_exemption_code")
    if isinstance(exemption, str) and not exemptions.is_known(exemption):
        problems.append(exemptions.should_be_one_of("Tax exemption code"))
    return problems


@dataclass(frozen=True)
class Client:
    """A client of an account, as stored."""

    id: int
    name: str
    code: str
    email: str | None
    language: str
    address: str | None
    city: str | None
    postal_code: str | None
    country: str
    fiscal_id: str | None
    website: str | None
    phone: str | None
    fax: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    contact_mobile: str | None
    observations: str | None
    send_options: int
    payment_days: int
    tax_exemption_code: str | None
    statement_token: str | None = None  # the public statement's (`open_account_link`)
