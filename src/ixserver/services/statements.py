"""A client's public statement (its `open_account_link`): the documents it was issued and still
owes on, its payments, and its balance — what the client current account says (api-v2 §12),
shown without a key to whoever holds the unguessable link."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.accounts import issuer_of
from ixserver.domain.clients import Client
from ixserver.domain.doctypes import RECEIPT_TYPES
from ixserver.domain.documents import Document, DocumentFilters
from ixserver.domain.payments import LEDGER_TYPES, balance_due
from ixserver.render.view import Issuer
from ixserver.services import treasury
from ixserver.store import accounts as account_store
from ixserver.store import clients as client_store
from ixserver.store import document_lists
from ixserver.store import documents as document_store

SHOWN = 100  # the latest documents and payments a statement lists


@dataclass(frozen=True)
class Statement:
    issuer: Issuer  # the account as it is now
    client: Client
    documents: list[tuple[Document, Decimal]]  # issued, not canceled, with what each is still due
    receipts: list[Document]  # the payments, live and canceled
    balance: treasury.ClientBalance


def statement(conn: Connection, token: str) -> Statement | None:
    found = client_store.client_by_statement_token(conn, token)
    if found is None:
        return None
    account_id, client = found
    account = account_store.account_by_id(conn, account_id)
    assert account is not None
    issuer = Issuer.of(issuer_of(asdict(account)))

    def latest(types: tuple[str, ...], statuses: tuple[str, ...]) -> list[Document]:
        filters = DocumentFilters(types=types, statuses=statuses, archived=None, client_id=client.id)
        ids, _total = document_lists.list_document_ids(conn, account_id, filters, 1, SHOWN)
        return document_store.fetch_documents(conn, account_id, ids)

    settlements = document_store.live_settlements(conn, account_id, client_id=client.id)
    documents = [
        (d, balance_due(d.doc_type, d.status, d.total, d.retention_amount, settlements.get(d.id, [])))
        for d in latest(LEDGER_TYPES, states.LIVE)
    ]
    receipts = latest(RECEIPT_TYPES, (states.FINAL, states.CANCELED))
    return Statement(issuer, client, documents, receipts, treasury.client_balance(conn, account_id, client.id))
