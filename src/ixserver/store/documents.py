"""Documents and their lines: reads, the rows a draft and a state change write, and the
queries the rules need (corrections, related documents, the permalink, a counter's chain).

Services hand the store typed values (`DocumentContent`, `DocumentLine`, `Numbering`); how they map
to columns — the client snapshot as JSON, the global discount as two columns, the cents kept
beside `before_taxes` for range filters, the client's name kept for text search — is decided here
only. Rows become `Document`s by position, without a dict per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.doctypes import RECEIPT_TYPES
from ixserver.domain.documents import CREDIT_NOTES, Document, DocumentContent, DocumentLine, Transport
from ixserver.domain.payments import Settlement
from ixserver.domain.totals import GlobalDiscount
from ixserver.store import document_search
from ixserver.store.prepared import PerLength, Prepared
from ixserver.store.tables import clients, document_lines, documents, sub_sequences

_d = documents.c
_l = document_lines.c
_ss = sub_sequences.c

_LINE_FIELDS = (
    "name", "description", "unit_price", "quantity", "unit", "discount", "tax_id", "tax_name", "tax_value",
    "tax_region", "tax_code", "subtotal", "discount_amount", "tax_amount", "total", "item_id", "tax_exemption",
)  # fmt: skip
_DOC_COLUMNS = [
    c
    for c in documents.c
    if c.name not in ("created_at", "updated_at", "proprietary_uid", "plugin_id", "before_taxes_cents", "client_name")
]
# The series' name is on each counter (sub_sequences.serie), set with the series and never changed.
_DOCS_BASE = select(*_DOC_COLUMNS, _ss.serie).select_from(
    documents.outerjoin(sub_sequences, _ss.id == _d.sub_sequence_id)
)
# By primary key only; the account is checked on the rows (an `account_id = ? AND id IN (…)`
# lets a planner without statistics walk the account's whole date index instead).
_DOCS = PerLength(lambda n: _DOCS_BASE.where(_d.id.in_([bindparam(f"i{k}") for k in range(n)])))
_DOC = Prepared(_DOCS_BASE.where(_d.account_id == bindparam("account_id"), _d.id == bindparam("id")))
# The document with its client as the client is now (finalization freezes that on the document).
# the client as a document keeps it (frozen at issue): language too, the words its PDF and page print in
CLIENT_FIELDS = ("id", "name", "code", "email", "address", "city", "postal_code", "country", "fiscal_id", "language")
_DOC_AND_CLIENT_QUERY = (
    select(*_DOC_COLUMNS, _ss.serie, *(getattr(clients.c, f).label(f"client__{f}") for f in CLIENT_FIELDS))
    .select_from(
        documents.outerjoin(sub_sequences, _ss.id == _d.sub_sequence_id).outerjoin(
            clients, clients.c.id == _d.client_id
        )
    )
    .where(_d.account_id == bindparam("account_id"), _d.id == bindparam("id"))
)
_DOC_AND_CLIENT = Prepared(_DOC_AND_CLIENT_QUERY)
# the same, locking the document's row (PostgreSQL; SQLite renders no FOR UPDATE): one statement
_DOC_AND_CLIENT_LOCKED = Prepared(_DOC_AND_CLIENT_QUERY.with_for_update(of=documents))
_LINES_BASE = select(_l.document_id, *(getattr(_l, f) for f in _LINE_FIELDS)).order_by(_l.document_id, _l.position)
_LINES = PerLength(lambda n: _LINES_BASE.where(_l.document_id.in_([bindparam(f"i{k}") for k in range(n)])))
_LINES_OF_ONE = Prepared(_LINES_BASE.where(_l.document_id == bindparam("id")))


_INSERT_DOCUMENT = Prepared(insert(documents).returning(_d.id))
_INSERT_LINES = Prepared(insert(document_lines))
_UPDATE_DOCUMENT = Prepared(update(documents).where(_d.id == bindparam("document_id")))
_DELETE_LINES = Prepared(delete(document_lines).where(_l.document_id == bindparam("document_id")))


def _ids(ids: Sequence[int]) -> dict[str, int]:
    return {f"i{k}": i for k, i in enumerate(ids)}


# The columns of `_DOCS_BASE` (and the start of `_DOC_AND_CLIENT`), and where each field of a
# Document is among them: rows become documents by position, without a dict per row.
_DOC_KEYS = (*(c.name for c in _DOC_COLUMNS), "serie")
_SOURCE = {"global_discount": "global_discount_type"}  # made of two columns, see below
_PICK = itemgetter(*(_DOC_KEYS.index(_SOURCE.get(f.name, f.name)) for f in fields(Document) if f.name != "lines"))
_ID, _ACCOUNT, _DISCOUNT_VALUE = (_DOC_KEYS.index(k) for k in ("id", "account_id", "global_discount_value"))


def _document(row: Sequence[Any], lines: list[DocumentLine]) -> Document:
    document = Document(*_PICK(row), lines=lines)  # type: ignore[misc]  # _PICK leaves `lines` out
    document.archived = bool(document.archived)
    document.client = orjson.loads(document.client)  # type: ignore[arg-type]
    if document.global_discount is not None:
        document.global_discount = GlobalDiscount(document.global_discount, row[_DISCOUNT_VALUE])  # type: ignore[arg-type]
    if document.transport is not None:
        document.transport = Transport(**orjson.loads(document.transport))  # type: ignore[arg-type]
    if document.issuer is not None:
        document.issuer = orjson.loads(document.issuer)  # type: ignore[arg-type]
    return document


def fetch_documents(conn: Connection, account_id: int, ids: Sequence[int]) -> list[Document]:
    """The account's documents with these ids, with their lines, in the order of `ids`."""
    if not ids:
        return []
    lines: dict[int, list[DocumentLine]] = {}
    params = _ids(ids)
    for row in _LINES(len(ids)).rows(conn, params):
        lines.setdefault(row[0], []).append(DocumentLine(*row[1:]))
    found = {row[_ID]: row for row in _DOCS(len(ids)).rows(conn, params) if row[_ACCOUNT] == account_id}
    return [_document(found[i], lines.get(i, [])) for i in ids if i in found]


def get_document_and_client(
    conn: Connection, account_id: int, document_id: int, *, lock: bool = False
) -> tuple[Document, dict[str, Any] | None] | None:
    """A document, and its client's current fields (None if the client is gone); `lock`: and
    the document's row locked until the transaction ends, as `lock_document` does."""
    return document_and_client_later(conn, account_id, document_id, lock=lock)()


def document_and_client_later(
    conn: Connection, account_id: int, document_id: int, *, lock: bool = False
) -> Callable[[], tuple[Document, dict[str, Any] | None] | None]:
    """`get_document_and_client`, its statements queued (`Prepared.later`): read when called,
    with whatever the caller queued after them in the same round trip."""
    found = (_DOC_AND_CLIENT_LOCKED if lock else _DOC_AND_CLIENT).later(
        conn, {"account_id": account_id, "id": document_id}
    )
    of_one = _LINES_OF_ONE.later(conn, {"id": document_id})  # the same round trip, after the lock

    def read() -> tuple[Document, dict[str, Any] | None] | None:
        row = found.first()
        if row is None:
            return None
        lines = [DocumentLine(*line[1:]) for line in of_one.rows()]
        client_values = row[len(_DOC_KEYS) :]
        client = dict(zip(CLIENT_FIELDS, client_values, strict=True)) if client_values[0] is not None else None
        return _document(row, lines), client

    return read


def get_document(conn: Connection, account_id: int, document_id: int) -> Document | None:
    """One document (plain `=` lookups: cheaper than the expanding IN of `fetch_documents`)."""
    found = _DOC.later(conn, {"account_id": account_id, "id": document_id})
    of_one = _LINES_OF_ONE.later(conn, {"id": document_id})  # the same round trip
    row = found.first()
    if row is None:
        return None
    return _document(row, [DocumentLine(*line[1:]) for line in of_one.rows()])


_LOCK = Prepared(
    select(_d.id).where(_d.account_id == bindparam("account_id"), _d.id == bindparam("document_id")).with_for_update()
)
_BY_UID = Prepared(
    select(_d.id).where(_d.account_id == bindparam("account_id"), _d.proprietary_uid == bindparam("uid"))
)


def lock_document(conn: Connection, account_id: int, document_id: int) -> None:
    """Lock the document's row until the transaction ends (PostgreSQL; SQLite's write
    transaction is exclusive already, so there is nothing to do)."""
    if conn.dialect.name == "postgresql":
        _LOCK.run(conn, {"account_id": account_id, "document_id": document_id})


def document_id_by_uid(conn: Connection, account_id: int, uid: str) -> int | None:
    return _BY_UID.scalar(conn, {"account_id": account_id, "uid": uid})


@dataclass(frozen=True, slots=True)
class Numbering:
    """What finalization writes: the number, its ATCUD and signature, and the client as it is
    now, frozen on the document (None: the client row is gone, the snapshot stays)."""

    sub_sequence_id: int
    number: int
    atcud: str
    gross_total_eur: Decimal
    system_entry_date: str
    signature: str | None  # None: a receipt (not signed)
    key_version: int | None
    client: dict[str, Any] | None
    at_doc_code: str | None = None  # guides: the code AT gave the transport document
    payment_mechanism: str | None = None  # receipts
    issuer: dict[str, Any] | None = None  # the issuer as it is now, frozen on the document


def _client_columns(client: dict[str, Any]) -> dict[str, Any]:
    return {"client": orjson.dumps(client).decode(), "client_name": client["name"]}


def _content_columns(content: DocumentContent) -> dict[str, Any]:
    columns = {name: getattr(content, name) for name in _CONTENT_COLUMNS}
    discount = content.global_discount
    columns["global_discount_type"] = discount.kind if discount else None
    columns["global_discount_value"] = discount.value if discount else None
    # SQLite keeps Money as text, which does not compare as numbers: range filters use the cents.
    columns["before_taxes_cents"] = int(content.before_taxes * 100)  # to the cent already: exact
    columns.update(_client_columns(content.client))
    columns["transport"] = orjson.dumps(asdict(content.transport)).decode() if content.transport else None
    columns["loaded_at"] = content.transport.loaded_at or None if content.transport else None
    return columns


_CONTENT_FIELDS = tuple(f.name for f in fields(DocumentContent))
_CONTENT_COLUMNS = tuple(name for name in _CONTENT_FIELDS if name not in ("global_discount", "client", "transport"))


def insert_document(
    conn: Connection,
    *,
    account_id: int,
    doc_type: str,
    permalink_token: str,
    proprietary_uid: str | None,
    plugin_id: str | None,
    now: datetime,
    content: DocumentContent,
    lines: list[DocumentLine],
) -> Document:
    """Store a new draft with its lines; the document as stored (not read back)."""
    row = {
        "account_id": account_id,
        "doc_type": doc_type,
        "status": states.DRAFT,
        "permalink_token": permalink_token,
        "proprietary_uid": proprietary_uid,
        "plugin_id": plugin_id,
        "created_at": now,
        "updated_at": now,
        **_content_columns(content),
    }
    document_id = int(_INSERT_DOCUMENT.scalar(conn, row))
    _insert_lines(conn, document_id, lines)
    document_search.index(conn, document_id, new=True)
    return Document(
        **{name: getattr(content, name) for name in _CONTENT_FIELDS},
        id=document_id, account_id=account_id, doc_type=doc_type, status=states.DRAFT, archived=False,
        permalink_token=permalink_token, number=None, serie=None, atcud=None, gross_total_eur=None,
        system_entry_date=None, signature=None, key_version=None, status_reason=None, at_doc_code=None, lines=lines,
    )  # fmt: skip


def update_draft(
    conn: Connection, document_id: int, content: DocumentContent, lines: list[DocumentLine], now: datetime
) -> None:
    """Replace a draft's content and lines."""
    _UPDATE_DOCUMENT.run(conn, {"document_id": document_id, "updated_at": now, **_content_columns(content)})
    _DELETE_LINES.run(conn, {"document_id": document_id})
    _insert_lines(conn, document_id, lines)
    document_search.index(conn, document_id, new=False)


def set_at_doc_code(conn: Connection, document_id: int, code: str, now: datetime) -> None:
    """The code AT gave a guide's transport, entered after its issue (production)."""
    _UPDATE_DOCUMENT.run(conn, {"document_id": document_id, "at_doc_code": code, "updated_at": now})


_AS_JSON = ("client", "issuer")


def set_status(
    conn: Connection,
    document_id: int,
    status: str,
    reason: str | None,
    now: datetime,
    numbering: Numbering | None,
    *,
    client_name: str | None = None,
) -> None:
    """A change of state; with `numbering`, the finalization that issues the document.
    `client_name`: the client's name the document had, which its text row holds: the row is
    written again only when the issue froze another."""
    values: dict[str, Any] = {
        "document_id": document_id,
        "status": status,
        "status_reason": reason,
        "status_changed_at": now,
        "updated_at": now,
    }
    if numbering is not None:
        values.update({f.name: getattr(numbering, f.name) for f in fields(Numbering) if f.name not in _AS_JSON})
        if numbering.client is not None:
            values.update(_client_columns(numbering.client))
        if numbering.issuer is not None:
            values["issuer"] = orjson.dumps(numbering.issuer).decode()
    _UPDATE_DOCUMENT.send(conn, values)
    if numbering is not None and numbering.client is not None and numbering.client["name"] != client_name:
        document_search.index(conn, document_id, new=False)  # the client's name as issued is searched


def _insert_lines(conn: Connection, document_id: int, lines: list[DocumentLine]) -> None:
    if lines:
        _INSERT_LINES.send_many(
            conn,
            [
                {"document_id": document_id, "position": n, **{name: getattr(line, name) for name in _LINE_FIELDS}}
                for n, line in enumerate(lines, start=1)
            ],
        )


def numbered_ids(conn: Connection, account_id: int) -> list[int]:
    """The account's issued documents (numbered), in id order."""
    query = select(_d.id).where(_d.account_id == account_id, _d.number.is_not(None)).order_by(_d.id)
    return [int(i) for i in conn.scalars(query)]


def corrected_ids(conn: Connection, account_id: int) -> list[int]:
    """Documents of the account that issued notes correct (for `ixserver verify`)."""
    query = select(_d.owner_document_id).where(
        _d.account_id == account_id, _d.owner_document_id.is_not(None), _d.status.in_(states.ISSUED)
    )
    return sorted({int(i) for i in conn.scalars(query.distinct())})


def live_correction_ids(conn: Connection, owner_id: int, types: Sequence[str]) -> list[int]:
    """Issued, not canceled documents of `types` (credit notes) that correct the owner."""
    query = select(_d.id).where(_d.owner_document_id == owner_id, _d.doc_type.in_(types), _d.status.in_(states.LIVE))
    return list(conn.scalars(query.order_by(_d.id)))


_SETTLEMENT_TYPES = (*RECEIPT_TYPES, *CREDIT_NOTES)  # what counts against the document it pays or corrects


def live_settlements(
    conn: Connection, account_id: int, *, owner_id: int | None = None, client_id: int | None = None
) -> dict[int, list[Settlement]]:
    """The live receipts and credit notes of one document (`owner_id`) or of all a client's
    documents, by the document they pay or correct, in number order. Amounts are summed by the
    caller, in Decimal (SQLite keeps money as text)."""
    query = select(_d.owner_document_id, _d.doc_type, _d.before_taxes, _d.total, _d.retention_amount).where(
        _d.account_id == account_id, _d.doc_type.in_(_SETTLEMENT_TYPES), _d.status.in_(states.LIVE)
    )
    if owner_id is not None:
        query = query.where(_d.owner_document_id == owner_id)
    if client_id is not None:
        query = query.where(_d.client_id == client_id, _d.owner_document_id.is_not(None))
    found: dict[int, list[Settlement]] = {}
    for owner, doc_type, before_taxes, total, retention in conn.execute(query.order_by(_d.id)):
        found.setdefault(owner, []).append(Settlement(doc_type, before_taxes, total, retention))
    return found


def live_dependent_types(conn: Connection, owner_id: int) -> set[str]:
    """The types of the issued, not canceled documents that correct or pay this one (credit and
    debit notes, receipts)."""
    query = select(_d.doc_type).where(_d.owner_document_id == owner_id, _d.status.in_(states.LIVE))
    return set(conn.scalars(query.distinct()))


def related_ids(conn: Connection, account_id: int, document_id: int, owner_id: int | None) -> list[int]:
    """Documents linked to this one: those it corrects and those that correct it."""
    condition = _d.owner_document_id == document_id
    if owner_id is not None:
        condition = or_(condition, _d.id == owner_id)
    query = select(_d.id).where(_d.account_id == account_id, condition, _d.status != states.DELETED).order_by(_d.id)
    return list(conn.scalars(query).all())


def issued_between(conn: Connection, account_id: int, first: date, last: date, doc_types: Sequence[str]) -> list[int]:
    """The account's numbered documents of `doc_types` dated in [first, last], by type, series
    and number (the SAF-T file's order)."""
    query = (
        select(_d.id)
        .select_from(documents.join(sub_sequences, _ss.id == _d.sub_sequence_id))
        .where(
            _d.account_id == account_id,
            _d.number.is_not(None),
            _d.date >= first,
            _d.date <= last,
            _d.doc_type.in_(list(doc_types)),
        )  # fmt: skip
        .order_by(_d.doc_type, _ss.serie, _d.number)
    )
    return [int(i) for i in conn.scalars(query)]


def delete_account_documents(conn: Connection, account_id: int) -> None:
    owned = select(_d.id).where(_d.account_id == account_id)
    document_search.forget_account(conn, account_id)
    conn.execute(delete(document_lines).where(_l.document_id.in_(owned)))
    conn.execute(update(documents).where(_d.account_id == account_id).values(owner_document_id=None))
    conn.execute(delete(documents).where(_d.account_id == account_id))


def document_by_token(conn: Connection, token: str) -> Document | None:
    row = conn.execute(select(_d.id, _d.account_id).where(_d.permalink_token == token)).first()
    return get_document(conn, row[1], row[0]) if row else None
