"""The issuer's identity beyond the accounts API's fields: bank details, share capital,
commercial registry, logo (PUT /_ixserver/account.json, PUT /_ixserver/account/logo). A document
freezes them with the rest of its issuer when it is issued (domain/accounts.issuer_of): its logo
by digest, the logo's bytes kept once (store/logos.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import states
from ixserver.domain.accounts import Account, identity_changes
from ixserver.domain.errors import AccountNotFound, raise_if
from ixserver.store import accounts as store
from ixserver.store import clients as client_store
from ixserver.store import documents as document_store
from ixserver.store import logos as logo_store
from ixserver.store.logos import Logo
from ixserver.writes.use_cases import of_account


def account_of(conn: Connection, account_id: int) -> Account:
    account = store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    return account


@of_account
def update_identity(conn: Connection, account_id: int, given: dict[str, Any]) -> Account:
    """Set the identity fields given (None clears one); all or nothing."""
    changes, problems = identity_changes(given)
    raise_if(problems)
    store.update_account(conn, account_id, **changes)
    return account_of(conn, account_id)


@of_account
def set_logo(conn: Connection, account_id: int, logo: Logo) -> Account:
    """The account's logo is now `logo` (as render/logo.py normalized it)."""
    digest = hashlib.sha256(logo.content).hexdigest()
    logo_store.keep_logo(conn, account_id, digest, logo, clock.now())
    store.update_account(conn, account_id, logo=digest)
    return account_of(conn, account_id)


@of_account
def remove_logo(conn: Connection, account_id: int) -> Account:
    """The account has no logo now (the documents issued with one keep it)."""
    store.update_account(conn, account_id, logo=None)
    return account_of(conn, account_id)


def current_logo(conn: Connection, account_id: int) -> Logo | None:
    account = account_of(conn, account_id)
    return logo_store.logo_of(conn, account_id, account.logo) if account.logo else None


def document_logo(conn: Connection, token: str) -> Logo | None:
    """The logo the issued document behind a permalink prints: the one frozen with its issuer."""
    document = document_store.document_by_token(conn, token)
    if document is None or document.status in (states.DRAFT, states.DELETED) or not document.issuer:
        return None
    digest = document.issuer.get("logo")
    return logo_store.logo_of(conn, document.account_id, digest) if digest else None


def statement_logo(conn: Connection, token: str) -> Logo | None:
    """The logo a client's statement shows: its issuer's, as the account is now."""
    found = client_store.client_by_statement_token(conn, token)
    return current_logo(conn, found[0]) if found is not None else None
