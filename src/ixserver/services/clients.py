"""Clients: list, get, create, update, find by name or code (api-v2 §10)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.clients import (
    PORTUGAL,
    Client,
    canonical_country,
    fiscal_id_is_locked,
    name_is_locked,
    validate_client,
)
from ixserver.domain.errors import ClientNotFound, ClientTaken, ValidationFailed, raise_if
from ixserver.services import first_free
from ixserver.store import accounts as account_store
from ixserver.store import clients as store
from ixserver.writes.use_cases import of_account

# Fields a request may set; anything else it sends is ignored.
WRITABLE = tuple(f for f in store.FIELDS if f != "id")


def get_client(conn: Connection, account_id: int, client_id: int) -> Client:
    client = store.get_client(conn, account_id, client_id)
    if client is None:
        raise ClientNotFound()
    return client


def find_by_name(conn: Connection, account_id: int, name: str) -> Client:
    client = store.client_by_name(conn, account_id, name)
    if client is None:
        raise ClientNotFound()
    return client


def find_by_code(conn: Connection, account_id: int, code: str) -> Client:
    client = store.client_by_code(conn, account_id, code)
    if client is None:
        raise ClientNotFound()
    return client


def list_clients(
    conn: Connection, account_id: int, page: int, per_page: int, fiscal_id: str | None = None
) -> tuple[list[Client], int]:
    return store.list_clients(conn, account_id, page, per_page, fiscal_id=fiscal_id)


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    raise_if(validate_client(fields))
    if fields.get("country"):
        fields["country"] = canonical_country(fields["country"])
    if fields.get("name"):
        fields["name"] = fields["name"].strip()
    if fields.get("code"):
        fields["code"] = fields["code"].strip()
    return fields


def _unique(conn: Connection, account_id: int, fields: dict[str, Any], client_id: int | None) -> None:
    problems = []
    same_name = store.client_by_name(conn, account_id, fields["name"]) if fields.get("name") else None
    if same_name is not None and same_name.id != client_id:
        problems.append("Name has already been taken")
    same_code = store.client_by_code(conn, account_id, fields["code"]) if fields.get("code") else None
    if same_code is not None and same_code.id != client_id:
        problems.append("Code has already been taken")
    if problems:
        raise ClientTaken(*problems)


@of_account
def create_client(conn: Connection, account_id: int, sent: dict[str, Any]) -> Client:
    account = account_store.account_by_id(conn, account_id)
    fields = {
        "language": account.language if account else "pt",
        "country": PORTUGAL,
        **{k: v for k, v in sent.items() if k in WRITABLE},
    }
    fields = _checked(fields)
    _unique(conn, account_id, fields, None)
    code = fields.pop("code", None)
    client_id = store.insert_client(
        conn,
        account_id=account_id,
        created_at=clock.now(),
        code=code or f"pending-{uuid.uuid4().hex}",
        statement_token=secrets.token_hex(20),
        **fields,
    )
    if not code:
        # created without a code: its id is its code (with a suffix if a client already uses it)
        code = first_free(str(client_id), lambda c: store.client_by_code(conn, account_id, c) is not None, "-")
        store.update_client(conn, client_id, code=code)
    return get_client(conn, account_id, client_id)


@of_account
def update_client(conn: Connection, account_id: int, client_id: int, sent: dict[str, Any]) -> Client:
    current = get_client(conn, account_id, client_id)
    if "name" not in sent:
        raise ValidationFailed("Name can't be blank")
    changes = {k: v for k, v in sent.items() if k in WRITABLE}
    _nif_lock(conn, current, changes)
    merged = _checked({**current.__dict__, **changes})
    if name_is_locked(current.name, str(merged["name"]), merged.get("fiscal_id")) and store.has_issued_documents(
        conn, current.id
    ):
        raise ValidationFailed("Name can't be changed: the client has no NIF and has issued documents")
    _unique(conn, account_id, merged, client_id)
    store.update_client(conn, client_id, **{k: merged[k] for k in changes})
    return get_client(conn, account_id, client_id)


def _nif_lock(conn: Connection, current: Client, changes: dict[str, Any]) -> None:
    if not fiscal_id_is_locked(current.fiscal_id, changes.get("fiscal_id", current.fiscal_id)):
        return
    if store.has_issued_documents(conn, current.id):
        raise ValidationFailed("Fiscal ID can't be changed: the client has issued documents")


def _named(conn: Connection, account_id: int, sent: dict[str, Any]) -> Client | None:
    """The client a document names: by code, else by exact name."""
    found = None
    if sent.get("code"):
        found = store.client_by_code(conn, account_id, str(sent["code"]).strip())
    if found is None and sent.get("name"):
        found = store.client_by_name(conn, account_id, str(sent["name"]).strip())
    return found


def resolve_for_document(conn: Connection, account_id: int, sent: dict[str, Any]) -> Client:
    """The client a document names (api-v2 §4.3.1): found by code, else by exact name, else
    created. A client found is updated with the non-empty attributes the document carries."""
    try:
        found = _named(conn, account_id, sent)
        if found is None:
            try:
                return create_client(conn, account_id, sent)
            except ClientTaken:
                # another writer (on PostgreSQL, another instance) committed it since we looked
                found = _named(conn, account_id, sent)
                if found is None:
                    raise
        changes = {
            k: v
            for k, v in sent.items()
            if k in WRITABLE and k not in ("name", "code") and v not in (None, "") and v != getattr(found, k)
        }
        if "country" in changes and canonical_country(changes["country"]) == found.country:
            del changes["country"]
        if not changes:
            return found
        return update_client(conn, account_id, found.id, {"name": found.name, **changes})
    except ValidationFailed as problem:
        raise ValidationFailed(*(f"Client: {message}" for message in problem.messages)) from None
