"""What makes a client valid (api-v2 §10, clients.md §2, pt-compliance §6.7)."""

from __future__ import annotations

import re

from stdnum.pt import nif

from ixserver.domain import exemptions
from ixserver.domain.reference import COUNTRIES

LANGUAGES = ("pt", "en", "es")
PORTUGAL = "Portugal"
FINAL_CONSUMER_NIF = "999999990"
FINAL_CONSUMER = "Consumidor final"  # what a document says of a client without a NIF (or with that one)
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")
_COUNTRY_BY_LOWER = {c.casefold(): c for c in COUNTRIES}


def canonical_country(name: str) -> str | None:
    """The accepted spelling of a country name (case-insensitive), or None if not accepted."""
    return _COUNTRY_BY_LOWER.get(name.strip().casefold())


def is_valid_email(value: str) -> bool:
    return EMAIL.fullmatch(value.strip()) is not None


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
