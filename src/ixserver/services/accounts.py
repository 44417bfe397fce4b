"""Accounts and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.errors import AccountNameInvalid, AccountNameTaken, AccountNotFound
from ixserver.services import sequences as sequence_service
from ixserver.store import accounts as store

# Account names are subdomains ({name}.app.invoicexpress.com).
ACCOUNT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Keys look like InvoiceXpress's: 40 lowercase hex characters. The first LOOKUP_CHARS find the
# row; the whole key is only ever compared as a SHA-256 digest, in constant time.
KEY_PATTERN = re.compile(r"[0-9a-f]{40}")
LOOKUP_CHARS = 12


@dataclass(frozen=True)
class AccountRef:
    """Who a request acts for."""

    id: int
    name: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(conn: Connection, account_id: int) -> str:
    key = secrets.token_hex(20)
    store.insert_key(
        conn, account_id=account_id, lookup=key[:LOOKUP_CHARS], key_hash=_digest(key), created_at=clock.now()
    )
    return key


def create_account(conn: Connection, name: str, **attrs: Any) -> tuple[store.AccountRow, str]:
    """A new account with its default series (named after the current year) and one API key."""
    name = name.strip().lower()
    if not ACCOUNT_NAME.fullmatch(name):
        raise AccountNameInvalid()
    if store.account_by_name(conn, name) is not None:
        raise AccountNameTaken()
    now = clock.now()
    account_id = store.insert_account(conn, name=name, created_at=now, **attrs)
    sequence_service.create_default_sequence(conn, account_id)
    key = issue_key(conn, account_id)
    account = store.account_by_id(conn, account_id)
    assert account is not None
    return account, key


def authenticate(conn: Connection, key: str) -> AccountRef | None:
    if not KEY_PATTERN.fullmatch(key):
        return None
    row = store.key_by_lookup(conn, key[:LOOKUP_CHARS])
    if row is None or not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    return AccountRef(row.account_id, row.account_name)


def find_account(conn: Connection, name: str) -> store.AccountRow | None:
    return store.account_by_name(conn, name.strip().lower())


def get_account(conn: Connection, name: str) -> store.AccountRow:
    account = find_account(conn, name)
    if account is None:
        raise AccountNotFound()
    return account


def list_accounts(conn: Connection) -> list[store.AccountRow]:
    return store.list_accounts(conn)


def reset_account(conn: Connection, account_id: int) -> None:
    """Sandbox: wipe everything the account owns except the account and its keys, and give it
    back the state of a new account."""
    sequence_service.delete_all(conn, account_id)
    sequence_service.create_default_sequence(conn, account_id)
