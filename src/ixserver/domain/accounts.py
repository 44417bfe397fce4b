"""What makes an account's fields and its AT credentials acceptable (api-v2 §13)."""

from __future__ import annotations

import base64
import re

from stdnum.pt import nif

from ixserver.domain.clients import LANGUAGES, is_valid_email, is_valid_portuguese_nif

POSTAL_CODE_PT = re.compile(r"\d{4}-\d{3}")
AT_SUBUSER = re.compile(r"\d{9}/\d{1,4}")  # "NIF/N"
AT_COMMUNICATION_TYPES = ("auto", "manual", "guides", "portal_at")
MIN_PASSWORD = 6


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


def training_nif(account_id: int) -> str:
    """A valid NIF of its own for a sandbox account: 5, seven digits of the id, check digit."""
    base = f"5{account_id % 10**7:07d}"
    return base + nif.calc_check_digit(base)
