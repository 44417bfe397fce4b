"""What makes an account's fields and its AT credentials acceptable (api-v2 §13)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from stdnum import bic, iban
from stdnum.pt import nif

from ixserver.domain import limits
from ixserver.domain.clients import LANGUAGES, is_valid_email, is_valid_portuguese_nif
from ixserver.domain.money import to_cents

POSTAL_CODE_PT = re.compile(r"\d{4}-\d{3}")
AT_SUBUSER = re.compile(r"\d{9}/\d{1,4}")  # "NIF/N"
AT_COMMUNICATION_TYPES = ("auto", "manual", "guides", "portal_at")
MIN_PASSWORD = 6

# What a document keeps of its issuer, frozen when it is issued (Despacho 8632/2014 §2.2.15: a
# reprint shows the data of the issue, whatever changed since): its PDFs, pages and SAF-T use it.
ISSUER_FIELDS = ("name", "fiscal_id", "address", "postal_code", "city", "country", "email", "phone", "website",
                 "iban", "swift", "share_capital", "registry_office", "registry_number", "logo")  # fmt: skip
# The account's fiscal identity, which the seal keeps (domain/seal.py: its changes are events).
FISCAL_IDENTITY = ("organization_name", "fiscal_id", "address", "postal_code", "city", "tax_country")
# What an invoice must say of its issuer (CIVA art. 36.5 a): name, seat and NIF; the account
# fields they are made of, and how a message names them.
ISSUER_REQUIRED = (("organization_name", "name"), ("address", "address"), ("postal_code", "postal code"),
                   ("city", "city"), ("fiscal_id", "NIF"))  # fmt: skip


def account_problems(
    *,
    organization_name: str | None,
    email: str | None,
    password: str | None,
    language: str | None,
    fiscal_id: str | None,
    postal_code: str | None,
    tax_country: str,
    creating: bool,
) -> list[str]:
    """None = not given; creating an account requires the name, e-mail and password."""
    problems: list[str] = []
    if creating and not (organization_name or "").strip():
        problems.append("Organization name can't be blank")
    if creating and not email:
        problems.append("Email can't be blank")
    if email and not is_valid_email(email):
        problems.append("Email is invalid")
    if creating and not password:
        problems.append("Password can't be blank")
    if password and len(password) < MIN_PASSWORD:
        problems.append(f"Password is too short (minimum is {MIN_PASSWORD} characters)")
    if language is not None and language not in LANGUAGES:
        problems.append("Language is not included in the list (pt, en, es)")
    if fiscal_id and tax_country == "PT" and not is_valid_portuguese_nif(fiscal_id):
        problems.append("Fiscal ID is invalid")
    if postal_code and tax_country == "PT" and not POSTAL_CODE_PT.fullmatch(postal_code):
        problems.append("Postal Code must have the following format DDDD-DDD")
    return problems


def at_credentials(
    subuser: str | None, password_base64: str | None, communication_type: str | None
) -> tuple[str, list[str]]:
    """The decoded AT password and what is wrong with the fields (at_communication.json)."""
    problems: list[str] = []
    if not subuser or not AT_SUBUSER.fullmatch(subuser):
        problems.append("The field at_subuser has an incorrect size")
    password = ""
    try:
        password = base64.b64decode(password_base64 or "", validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and text that is not ASCII at all
        problems.append("The field at_password must be encoded in Base64")
    if not password and not problems:
        problems.append("The field at_password can't be blank")
    if communication_type is not None and communication_type not in AT_COMMUNICATION_TYPES:
        problems.append(f"The field communication_type must be one of: {', '.join(AT_COMMUNICATION_TYPES)}")
    return password, problems


# The issuer's identity beyond the accounts API's fields (PUT /_ixserver/account.json), each with
# the longest text it takes: bank details, share capital and commercial registry (CSC art. 171:
# a company's documents name the registry office, its number there and its share capital).
IDENTITY_TEXT = {"iban": 42, "swift": 16, "registry_office": limits.TEXT, "registry_number": 32}
IDENTITY_FIELDS = (*IDENTITY_TEXT, "share_capital")


def identity_changes(given: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The account's identity fields as stored, from those given (text, and the share capital
    a Decimal; None or "" clears a field), and what is wrong with them: an IBAN whose check
    digits fail, a SWIFT/BIC that is not one, a negative or too large share capital."""
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in given.items():
        if isinstance(value, str):
            value = value.strip() or None
        changes[name] = value
    if changes.get("iban"):
        compact = iban.compact(changes["iban"])
        if not iban.is_valid(compact):
            problems.append("IBAN is invalid (its check digits do not match)")
        changes["iban"] = compact
    if changes.get("swift"):
        compact = bic.compact(changes["swift"])
        if not bic.is_valid(compact):
            problems.append("SWIFT/BIC is invalid (8 or 11 letters and digits: bank, country, place, branch)")
        changes["swift"] = compact
    capital = changes.get("share_capital")
    if capital is not None and not (0 < capital <= limits.MAX_AMOUNT and capital == round(capital, 2)):
        problems.append(f"Share capital must be a positive amount of at most {limits.MAX_AMOUNT} with 2 decimals")
    return changes, problems


def printed_iban(value: str) -> str:
    """An IBAN as printed: groups of four (PT50 0002 0123 …)."""
    return str(iban.format(value))


def training_nif(account_id: int) -> str:
    """A valid NIF of its own for a sandbox account: 5, seven digits of the id, check digit."""
    base = f"5{account_id % 10**7:07d}"
    return base + nif.calc_check_digit(base)


def issuer_problems(fields: dict[str, str | None]) -> list[str]:
    """What keeps an account from issuing documents that AT receives (a series registered as a
    normal one, not for training): its name, address and NIF, which every document prints."""
    missing = [label for field, label in ISSUER_REQUIRED if not (fields.get(field) or "").strip()]
    if not missing:
        return []
    return [
        f"The account's {', '.join(missing)} must be set before it issues documents (CIVA art. 36.5 a: an"
        " invoice names its issuer's name, address and NIF): PUT /api/accounts/{id}/update.json"
    ]


def issuer_of(account: dict[str, Any]) -> dict[str, str]:
    """What a document freezes of its issuer, from the account's fields as they are (its name:
    the organization's, else the account's own name; its logo: the digest of the logo it prints);
    empty fields left out."""
    capital = account.get("share_capital")
    found = {
        "name": account.get("organization_name") or account.get("name"),
        "fiscal_id": account.get("fiscal_id"),
        "address": account.get("address"),
        "postal_code": account.get("postal_code"),
        "city": account.get("city"),
        "country": account.get("tax_country"),
        "email": account.get("email"),
        "phone": account.get("phone"),
        "website": account.get("website"),
        "iban": account.get("iban"),
        "swift": account.get("swift"),
        "share_capital": None if capital is None else format(to_cents(capital), "f"),
        "registry_office": account.get("registry_office"),
        "registry_number": account.get("registry_number"),
        "logo": account.get("logo"),
    }
    return {key: value for key, value in found.items() if value}


def fiscal_identity(fields: dict[str, Any]) -> dict[str, str]:
    """The account's fiscal identity (FISCAL_IDENTITY), empty fields left out."""
    return {name: str(fields[name]) for name in FISCAL_IDENTITY if fields.get(name)}


@dataclass(frozen=True)
class Account:
    """An account (a tenant) as stored: its fields, its AT credentials (encrypted)."""

    id: int
    name: str
    user_id: int | None
    organization_name: str | None
    email: str | None
    fiscal_id: str | None
    tax_country: str
    tax_region: str
    language: str
    state: str
    phone: str | None
    address: str | None
    city: str | None
    postal_code: str | None
    website: str | None
    fax: str | None
    marketing: bool
    at_subuser: str | None
    at_password_encrypted: str | None
    at_communication_type: str | None
    created_at: datetime
    created_by: int | None = None
    iban: str | None = None
    swift: str | None = None
    share_capital: Decimal | None = None
    registry_office: str | None = None  # the Conservatória do Registo Comercial
    registry_number: str | None = None
    logo: str | None = None  # the SHA-256 of its current logo (store/logos.py)
