"""The gapless counter that numbers every fiscal document.

`take_number` runs inside the caller's write transaction, so the number and the document that
carries it are committed (or rolled back) together: a rolled-back finalization consumes
nothing, and no database SEQUENCE (which is not transactional) is ever involved.

The increment is a single UPDATE … RETURNING, which also returns where the counter's signature
chain stands and the account's latest SystemEntryDate (one round trip on PostgreSQL):
- SQLite: the transaction began with BEGIN IMMEDIATE (store/db.py), so this connection already
  holds the database's only write lock;
- PostgreSQL: the UPDATE locks the counter row until commit; a concurrent finalization on the
  same sub-sequence waits for that commit, then increments the committed value. The account's
  latest entry is read in the statement's snapshot, taken after the account's lock
  (writes/use_cases.py: a statement of its own, which the server runs before the use case's even
  when store/deferred.py sends them in one pipeline): every earlier write of the account is in it.

The unique index on (sub-sequence, number) of the numbered rows is the backstop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, bindparam, func, literal_column, select, update
from sqlalchemy.engine import Connection

from ixserver.store.db import at_commit, remembered
from ixserver.store.prepared import Prepared
from ixserver.store.sequences import SERIES_TYPE
from ixserver.store.tables import accounts, documents, sequences, sub_sequences

_c = sub_sequences.c


@dataclass(frozen=True)
class ChainHead:
    """Where a counter's signature chain stands."""

    validation_code: str | None
    last_date: date | None
    last_entry: str | None
    last_hash: str | None
    series_type: str | None = None  # as AT registered the series: N normal, F training


@dataclass(frozen=True)
class Numbered:
    sub_sequence_id: int
    serie: str
    number: int
    head: ChainHead
    latest_entry: str | None  # the last SystemEntryDate of any series of the account
    account: dict[str, Any]  # the account's fields a document freezes of its issuer (ISSUING_FIELDS)
    account_id: int


# The default series' counter for a type, when a document does not name one.
_DEFAULT_ID = (
    select(_c.id)
    .join(sequences, sequences.c.id == _c.sequence_id)
    .where(
        sequences.c.account_id == bindparam("b_account_id"),
        sequences.c.is_default,
        _c.doc_type == bindparam("b_doc_type"),
    )
    .scalar_subquery()
)
# The account's last SystemEntryDate, of any series (the counter's own is not changed by the increment).
# (Written out: in RETURNING, SQLAlchemy leaves the table off every column, which would make the
# correlation `account_id = account_id`.)
_LATEST = literal_column(
    "(SELECT max(others.last_entry) FROM sub_sequences AS others WHERE others.account_id = sub_sequences.account_id)",
    String,
)
# The account's fields a document keeps of its issuer when it is issued (domain/accounts.py), read
# in the same statement: a finalization makes no round trip for them.
ISSUING_FIELDS = ("name", "organization_name", "fiscal_id", "address", "postal_code", "city", "tax_country", "email",
                  "phone", "website", "iban", "swift", "share_capital", "registry_office", "registry_number",
                  "logo")  # fmt: skip
_ACCOUNT = tuple(
    literal_column(f"(SELECT a.{name} FROM accounts AS a WHERE a.id = sub_sequences.account_id)", accounts.c[name].type)
    for name in ISSUING_FIELDS
)
_HEAD = (_c.id, _c.serie, _c.current_number, _c.validation_code, _c.last_date, _c.last_entry, _c.last_hash, _LATEST,
         SERIES_TYPE, _c.account_id, *_ACCOUNT)  # fmt: skip


def _next(where: Any) -> Prepared:
    return Prepared(update(sub_sequences).where(where).values(current_number=_c.current_number + 1).returning(*_HEAD))


_NEXT = _next(_c.id == bindparam("sub_id"))
_NEXT_DEFAULT = _next(_c.id == _DEFAULT_ID)
# A draft's counter, read from the draft in the same statement: its series', else the default
# series' for its type (`take_number_later`).
_OF_DRAFT = func.coalesce(
    select(documents.c.sub_sequence_id)
    .where(documents.c.id == bindparam("b_document_id"), documents.c.account_id == bindparam("b_account_id"))
    .scalar_subquery(),
    _DEFAULT_ID,
)
_NEXT_OF_DRAFT = _next(_c.id == _OF_DRAFT)


def take_number(
    conn: Connection, sub_sequence_id: int | None, *, account_id: int | None = None, doc_type: str | None = None
) -> Numbered:
    """The next number of a counter — given, or the default series' counter for `doc_type` —
    with where its signature chain stands and the account's latest entry, all in one statement
    under the counter's lock; the chain as the transaction advanced it (`advance_chain`)."""
    if not conn.in_transaction():
        raise RuntimeError("take_number must run inside the caller's write transaction")
    params = {"sub_id": sub_sequence_id, "b_account_id": account_id, "b_doc_type": doc_type}
    row = (_NEXT if sub_sequence_id is not None else _NEXT_DEFAULT).first(conn, params)
    return _numbered(conn, row, sub_sequence_id or doc_type)


def take_number_later(conn: Connection, document_id: int, *, account_id: int, doc_type: str) -> Callable[[], Numbered]:
    """`take_number` of the counter the draft `document_id` is to be numbered in (its series', else
    the default series' for `doc_type`), queued on the connection (`Prepared.later`): sent with
    its next waited statement (the draft's own read, after its lock), read when called. Taken
    before the draft's checks, as `take_number` is: a use case that refuses gives it back."""
    if not conn.in_transaction():
        raise RuntimeError("take_number must run inside the caller's write transaction")
    params = {"b_document_id": document_id, "b_account_id": account_id, "b_doc_type": doc_type}
    pending = _NEXT_OF_DRAFT.later(conn, params)
    return lambda: _numbered(conn, pending.first(), f"of document {document_id}")


def _numbered(conn: Connection, row: Any, what: object) -> Numbered:
    """The number `row` took (of `_next`), with the chain as the transaction advanced it."""
    if row is None:
        raise LookupError(f"no counter {what}")
    counter, owner = int(row[0]), int(row[9])
    last_date, last_entry, last_hash, latest = row[4], row[5], row[6], row[7]
    memo = remembered(conn)
    if memo:
        advanced = memo.get((_CHAIN, counter))
        if advanced is not None:
            _owner, last_date, last_entry, last_hash = advanced
        latest = _later(latest, memo, owner)
    head = ChainHead(row[3], last_date, last_entry, last_hash, row[8])
    issuer = dict(zip(ISSUING_FIELDS, row[10:], strict=True))
    return Numbered(counter, row[1], int(row[2]), head, latest, issuer, owner)


_ADVANCE = Prepared(
    update(sub_sequences)
    .where(_c.id == bindparam("sub_id"))
    .values(last_date=bindparam("last_date"), last_entry=bindparam("last_entry"), last_hash=bindparam("last_hash"))
)
# In what a write transaction remembers (store/db.remembered), one entry per counter it advanced:
# (_CHAIN, counter) -> (its account, last date, last entry, last hash). A savepoint undone restores
# the entries as they were when it began.
_CHAIN = "chain"


def advance_chain(conn: Connection, taken: Numbered, doc_date: date, entry: str, signature: str | None) -> None:
    """The counter's last document is now this one (`signature` None: an unsigned receipt). In a
    write transaction, remembered and written once per counter before the commit, whatever the
    number of its documents in the transaction (`take_number` reads it back); at once outside one."""
    memo = remembered(conn)
    if memo is None or at_commit(conn, _CHAIN, lambda: _write_chains) is None:
        _ADVANCE.send(conn, {"sub_id": taken.sub_sequence_id, "last_date": doc_date, "last_entry": entry,
                             "last_hash": signature})  # fmt: skip
        return
    memo[(_CHAIN, taken.sub_sequence_id)] = (taken.account_id, doc_date, entry, signature)


def _chains(memo: dict[Any, Any]) -> list[tuple[int, tuple[int, date, str, str | None]]]:
    """The counters the transaction advanced, by id, and where it left each."""
    return sorted((key[1], value) for key, value in memo.items() if type(key) is tuple and key[0] == _CHAIN)


def _write_chains(conn: Connection) -> None:
    for counter, (_owner, last_date, entry, signature) in _chains(remembered(conn) or {}):
        _ADVANCE.send(conn, {"sub_id": counter, "last_date": last_date, "last_entry": entry, "last_hash": signature})


def _later(latest: str | None, memo: dict[Any, Any], account_id: int) -> str | None:
    """The account's latest SystemEntryDate: `latest` as stored, or one the transaction entered."""
    entries = [entry for _counter, (owner, _date, entry, _hash) in _chains(memo) if owner == account_id]
    if latest is not None:
        entries.append(latest)
    return max(entries, default=None)


def forget_chains(conn: Connection, account_id: int) -> None:
    """The account's counters are gone (a sandbox reset): what the write transaction remembers of
    their chains goes with them."""
    memo = remembered(conn)
    if memo:
        for key in [key for key, counter in _chains(memo) if counter[0] == account_id]:
            del memo[(_CHAIN, key)]


_LATEST_ENTRY = Prepared(select(func.max(_c.last_entry)).where(_c.account_id == bindparam("account_id")))


def latest_entry(conn: Connection, account_id: int) -> str | None:
    """The account's last SystemEntryDate, of any series (local time, `YYYY-MM-DDTHH:MM:SS`), as
    the write transaction on `conn` left it."""
    latest = _LATEST_ENTRY.scalar(conn, {"account_id": account_id})
    memo = remembered(conn)
    return _later(latest, memo, account_id) if memo else latest


@dataclass(frozen=True)
class Counter:
    id: int
    doc_type: str
    serie: str
    current_number: int
    validation_code: str | None
    last_hash: str | None


def account_counters(conn: Connection, account_id: int) -> list[Counter]:
    rows = conn.execute(
        select(_c.id, _c.doc_type, sequences.c.serie, _c.current_number, _c.validation_code, _c.last_hash)
        .join(sequences, sequences.c.id == _c.sequence_id)
        .where(_c.account_id == account_id)
        .order_by(_c.id)
    ).all()
    return [Counter(*row) for row in rows]
