"""Accounts, their owners and API keys; the accounts API (api-v2 §13)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.at import ATCredentials, Taxpayer
from ixserver.domain.accounts import account_problems, at_credentials, fiscal_identity, training_nif
from ixserver.domain.errors import (
    AccountChangedMeanwhile,
    AccountCreationLimit,
    AccountNameInvalid,
    AccountNameTaken,
    AccountNotFound,
    ValidationFailed,
    raise_if,
)
from ixserver.resources import Resources
from ixserver.services import clocks as clock_service
from ixserver.services import first_free
from ixserver.services import seal as seal_service
from ixserver.services import sequences as sequence_service
from ixserver.services import taxes as tax_service
from ixserver.store import accounts as store
from ixserver.store import clients as client_store
from ixserver.store import document_pdfs as pdf_store
from ixserver.store import documents as document_store
from ixserver.store import items as item_store
from ixserver.store import jobs as job_store
from ixserver.store import saft_exports as export_store
from ixserver.store import seal as seal_store
from ixserver.store import taxes as tax_store
from ixserver.store import treasury as treasury_store
from ixserver.store import users as user_store
from ixserver.writes import Writes
from ixserver.writes.use_cases import of_account, of_no_account

# Account names are subdomains ({name}.app.invoicexpress.com).
ACCOUNT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Keys look like InvoiceXpress's: 40 lowercase hex characters. The first LOOKUP_CHARS find the
# row; the whole key is only ever compared as a SHA-256 digest, in constant time.
KEY_PATTERN = re.compile(r"[0-9a-f]{40}")
LOOKUP_CHARS = 12
# `tax_country` of the accounts API: "1" Portugal, "2" Ireland, "3" United Kingdom.
TAX_COUNTRIES = {"1": "PT", "2": "IE", "3": "GB"}


@dataclass(frozen=True)
class AccountRef:
    """Who a request acts for."""

    id: int
    name: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@of_account
def issue_key(conn: Connection, account_id: int) -> str:
    key = secrets.token_hex(20)
    store.insert_key(
        conn, account_id=account_id, lookup=key[:LOOKUP_CHARS], key_hash=_digest(key), created_at=clock.now()
    )
    return key


@of_no_account
def create_account(
    conn: Connection, name: str, resources: Resources, *, register: bool = True, **attrs: Any
) -> tuple[store.Account, str]:
    """A new account with its default series (named after the current year), the taxes of its
    region, its seal opened, and one API key. With the sandbox's AT simulator, the account is
    fiscal-ready: a test NIF unless one is given, and its first series registered (unless not
    `register`: as an account made before that)."""
    name = name.strip().lower()
    if not ACCOUNT_NAME.fullmatch(name):
        raise AccountNameInvalid()
    if store.account_by_name(conn, name) is not None:
        raise AccountNameTaken()
    account_id = store.insert_account(conn, name=name, created_at=clock.now(), **attrs)
    seal_store.open_chain(conn, account_id)
    if register and resources.at.training and not attrs.get("fiscal_id"):
        store.update_account(conn, account_id, fiscal_id=training_nif(account_id))
    seal_service.open_seal(conn, resources.seal_key, account_id)
    account = store.account_by_id(conn, account_id)
    assert account is not None
    sequence_service.create_default_sequence(conn, account_id, resources if register else None)
    tax_service.seed(conn, account_id, account.tax_region)
    return account, issue_key(conn, account_id)


def authenticate(conn: Connection, key: str) -> AccountRef | None:
    if not KEY_PATTERN.fullmatch(key):
        return None
    row = store.key_by_lookup(conn, key[:LOOKUP_CHARS])
    if row is None or not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    return AccountRef(row.account_id, row.account_name)


def find_account(conn: Connection, name: str) -> store.Account | None:
    return store.account_by_name(conn, name.strip().lower())


@of_no_account
def get_account(conn: Connection, name: str) -> store.Account:
    account = find_account(conn, name)
    if account is None:
        raise AccountNotFound()
    return account


def list_accounts(conn: Connection) -> list[store.Account]:
    return store.list_accounts(conn)


@of_account
def reset_account(conn: Connection, resources: Resources, account_id: int) -> None:
    """Sandbox: wipe everything the account owns except the account and its keys, and give it
    back the state of a new account, on the server's time again (its clock forgotten)."""
    clock_service.forget_clock(conn, account_id)
    with clock.shifted(timedelta(0)):
        _wipe(conn, resources, account_id)


def _wipe(conn: Connection, resources: Resources, account_id: int) -> None:
    account = store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    pdf_store.delete_account_pdfs(conn, account_id)
    document_store.delete_account_documents(conn, account_id)
    seal_store.delete_account_events(conn, account_id)
    seal_service.open_seal(conn, resources.seal_key, account_id)  # the chain starts again
    item_store.delete_account_items(conn, account_id)
    treasury_store.delete_account_treasury(conn, account_id)  # the NR counter restarts too
    job_store.delete_account_jobs(conn, account_id)
    export_store.delete_account_exports(conn, account_id)
    client_store.delete_account_clients(conn, account_id)
    tax_store.delete_account_taxes(conn, account_id)
    sequence_service.delete_all(conn, account_id)
    sequence_service.create_default_sequence(conn, account_id, resources)
    tax_service.seed(conn, account_id, account.tax_region)


# -- the accounts API ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccountInput:
    """The `account` object of create / create_already_user / update; None = not given."""

    organization_name: str | None = None
    email: str | None = None
    password: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    fiscal_id: str | None = None
    tax_country: str | None = None
    language: str | None = None
    terms: bool | None = None
    marketing: bool | None = None
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    website: str | None = None
    fax: str | None = None
    at_subuser: str | None = None
    at_password_base64: str | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    _scheme, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


def _slug(organization_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", organization_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())[:55] or "account"


def _tax_country(value: str | None) -> str:
    if value is None:
        return "PT"
    code = TAX_COUNTRIES.get(value) or {"PT": "PT", "IE": "IE", "GB": "GB", "UK": "GB"}.get(value.upper())
    if code is None:
        raise ValidationFailed("Tax country is not valid (1 Portugal, 2 Ireland, 3 United Kingdom)")
    return code


def _account_problems(data: AccountInput, *, tax_country: str, creating: bool) -> list[str]:
    return account_problems(
        organization_name=data.organization_name,
        email=data.email,
        password=data.password,
        language=data.language,
        fiscal_id=data.fiscal_id,
        postal_code=data.postal_code,
        tax_country=tax_country,
        creating=creating,
    )


def _details(data: AccountInput) -> dict[str, Any]:
    fields = ("organization_name", "email", "phone", "address", "city", "postal_code", "website", "fax")
    values: dict[str, Any] = {f: getattr(data, f) for f in fields if getattr(data, f) is not None}
    if data.marketing is not None:
        values["marketing"] = data.marketing
    return values


@of_account(parameter="creator_id")
def open_account(
    conn: Connection,
    resources: Resources,
    data: AccountInput,
    creator_id: int,
    per_day: int | None,
    for_the_callers_user: bool,
) -> tuple[store.Account, str]:
    """POST /api/accounts/create.json (a new user and account) or create_already_user.json
    (another account for the user behind the calling key). The calling account (`creator_id`)
    may create at most `per_day` accounts in 24 hours (None: no cap, the sandbox)."""
    owner_account_id = creator_id if for_the_callers_user else None
    if (
        per_day is not None
        and store.accounts_created_by(conn, creator_id, clock.real_now() - timedelta(days=1)) >= per_day
    ):
        raise AccountCreationLimit(per_day)
    tax_country = _tax_country(data.tax_country)
    problems = _account_problems(data, tax_country=tax_country, creating=owner_account_id is None)
    if owner_account_id is not None and not (data.organization_name or "").strip():
        problems.insert(0, "Organization name can't be blank")
    if data.terms is not True:
        problems.append(
            "Terms and Conditions must be accepted"
            if owner_account_id is None
            else "Terms and Conditions should be accepted"
        )
    raise_if(problems)
    assert data.organization_name is not None
    now = clock.now()
    if owner_account_id is None:
        assert data.email is not None and data.password is not None
        if user_store.user_by_email(conn, data.email.strip().lower()) is not None:
            raise ValidationFailed("Email has already been taken")
        user_id = user_store.insert_user(
            conn,
            created_at=now,
            email=data.email.strip().lower(),
            password_hash=hash_password(data.password),
            first_name=data.first_name,
            last_name=data.last_name,
        )
    else:
        user_id = _owner_of(conn, owner_account_id, data)
    account, key = create_account(
        conn,
        first_free(_slug(data.organization_name), lambda name: store.account_by_name(conn, name) is not None),
        resources,
        user_id=user_id,
        fiscal_id=data.fiscal_id,
        tax_country=tax_country,
        language=data.language or "pt",
        created_by=creator_id,
        **_details(data),
    )
    return account, key


def _owner_of(conn: Connection, account_id: int, data: AccountInput) -> int:
    """The user behind an account; an account made by `ixserver accounts create` has none
    yet, so the user is made from the request's email and password."""
    account = store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    if account.user_id is not None:
        return account.user_id
    if not data.email or not data.password:
        raise ValidationFailed("Owner is invalid: this account has no user yet; send its email and password")
    existing = user_store.user_by_email(conn, data.email.strip().lower())
    if existing is not None:
        if not check_password(data.password, existing.password_hash):
            raise ValidationFailed("Owner is invalid")
        user_id = existing.id
    else:
        user_id = user_store.insert_user(
            conn,
            created_at=clock.now(),
            email=data.email.strip().lower(),
            password_hash=hash_password(data.password),
            first_name=data.first_name,
            last_name=data.last_name,
        )
    store.update_account(conn, account_id, user_id=user_id)
    return user_id


def visible_account(conn: Connection, caller_id: int, account_id: int) -> store.Account:
    """An account the caller may see: its own, or another account of the same user."""
    caller = store.account_by_id(conn, caller_id)
    target = store.account_by_id(conn, account_id)
    if caller is None or target is None:
        raise AccountNotFound()
    if target.id != caller.id and (caller.user_id is None or caller.user_id != target.user_id):
        raise AccountNotFound()
    return target


@dataclass(frozen=True)
class CheckedCredentials:
    """AT credentials that AT accepted for the taxpayer with `fiscal_id`, ready to store."""

    fiscal_id: str | None
    subuser: str
    password_encrypted: str
    communication_type: str | None


async def update_account(
    writes: Writes, resources: Resources, caller_id: int, account_id: int, data: AccountInput
) -> store.Account:
    """PUT /api/accounts/{id}/update.json. New AT credentials are checked with AT first, while
    no transaction is open, then stored with the rest in one write."""
    checked = None
    if data.at_subuser is not None or data.at_password_base64 is not None:
        password, problems = at_credentials(data.at_subuser, data.at_password_base64, None)
        raise_if(problems)
        assert data.at_subuser is not None
        taxpayer = await writes.run(_taxpayer_after_update, caller_id, account_id, data)
        checked = await _check_with_at(resources, taxpayer, data.at_subuser, password, None)
    return await writes.run_with_resources(_update_account, account_id, caller_id, data, checked)


def _update_problems(conn: Connection, caller_id: int, account_id: int, data: AccountInput) -> store.Account:
    """The account an update may change; raises what is wrong with the update."""
    account = visible_account(conn, caller_id, account_id)
    problems = _account_problems(data, tax_country=account.tax_country, creating=False)
    if data.fiscal_id and account.fiscal_id and data.fiscal_id != account.fiscal_id:
        problems.append("Vat Number can't be changed")
    if data.terms is False:
        problems.append("Terms and Conditions must be accepted")
    raise_if(problems)
    return account


@of_account
def _taxpayer_after_update(conn: Connection, caller_id: int, account_id: int, data: AccountInput) -> Taxpayer:
    """Who AT will know the account as once updated (a fiscal id is set only when missing)."""
    account = _update_problems(conn, caller_id, account_id, data)
    return Taxpayer(account.fiscal_id or data.fiscal_id or None, account.tax_country)


@of_account
def _update_account(
    conn: Connection,
    resources: Resources,
    account_id: int,
    caller_id: int,
    data: AccountInput,
    checked: CheckedCredentials | None,
) -> store.Account:
    """The update's write; a change of the account's fiscal identity is sealed."""
    account = _update_problems(conn, caller_id, account_id, data)
    changes = _details(data)
    if data.fiscal_id and not account.fiscal_id:
        changes["fiscal_id"] = data.fiscal_id
    if data.language:
        changes["language"] = data.language
    store.update_account(conn, account.id, **changes)
    if account.user_id is not None:
        user_changes = {k: getattr(data, k) for k in ("first_name", "last_name") if getattr(data, k) is not None}
        if data.password:
            user_changes["password_hash"] = hash_password(data.password)
        user_store.update_user(conn, account.user_id, **user_changes)
    if checked is not None:
        _store_credentials(conn, account.id, checked)
    updated = store.account_by_id(conn, account.id)
    assert updated is not None
    seal_service.record_identity(
        conn, resources.seal_key, account.id, fiscal_identity(asdict(account)), fiscal_identity(asdict(updated))
    )
    return updated


async def set_at_credentials(
    writes: Writes,
    resources: Resources,
    account_id: int,
    subuser: str | None,
    password_base64: str | None,
    communication_type: str | None,
) -> None:
    """POST /api/v3/accounts/at_communication.json: check the credentials with AT (through the
    adapter, while no transaction is open) and keep them encrypted."""
    password, problems = at_credentials(subuser, password_base64, communication_type)
    raise_if(problems)
    assert subuser is not None
    taxpayer = await writes.run(_taxpayer, account_id)
    checked = await _check_with_at(resources, taxpayer, subuser, password, communication_type)
    await writes.run(_store_credentials, account_id, checked)


@of_account
def _taxpayer(conn: Connection, account_id: int) -> Taxpayer:
    account = store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    return Taxpayer(account.fiscal_id, account.tax_country)


async def _check_with_at(
    resources: Resources, taxpayer: Taxpayer, subuser: str, password: str, communication_type: str | None
) -> CheckedCredentials:
    credentials = ATCredentials(subuser=subuser, password=password)
    await asyncio.to_thread(resources.at.check_credentials, replace(taxpayer, credentials=credentials))
    return CheckedCredentials(taxpayer.fiscal_id, subuser, resources.vault.encrypt(password), communication_type)


@of_account
def _store_credentials(conn: Connection, account_id: int, checked: CheckedCredentials) -> None:
    account = store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    if account.fiscal_id != checked.fiscal_id:
        raise AccountChangedMeanwhile()
    store.update_account(
        conn,
        account_id,
        at_subuser=checked.subuser,
        at_password_encrypted=checked.password_encrypted,
        at_communication_type=checked.communication_type or account.at_communication_type or "auto",
    )
