"""Queries on documents and their lines."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, exists, func, insert, literal, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import Document, DocumentFilters, DocumentLine
from ixserver.domain.totals import GlobalDiscount
from ixserver.store.prepared import PerLength, Prepared
from ixserver.store.tables import (
    clients,
    document_count_changes,
    document_counts,
    document_lines,
    documents,
    sequences,
    sub_sequences,
)

_d = documents.c
_l = document_lines.c
_ss = sub_sequences.c
_s = sequences.c

_LINE_FIELDS = (
    "name", "description", "unit_price", "quantity", "unit", "discount", "tax_id", "tax_name", "tax_value",
    "tax_region", "tax_code", "subtotal", "discount_amount", "tax_amount", "total", "item_id",
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
CLIENT_FIELDS = ("id", "name", "code", "email", "address", "city", "postal_code", "country", "fiscal_id")
_DOC_AND_CLIENT = Prepared(
    select(*_DOC_COLUMNS, _ss.serie, *(getattr(clients.c, f).label(f"client__{f}") for f in CLIENT_FIELDS))
    .select_from(
        documents.outerjoin(sub_sequences, _ss.id == _d.sub_sequence_id).outerjoin(
            clients, clients.c.id == _d.client_id
        )
    )
    .where(_d.account_id == bindparam("account_id"), _d.id == bindparam("id"))
)
_LINES_BASE = select(_l.document_id, *(getattr(_l, f) for f in _LINE_FIELDS)).order_by(_l.document_id, _l.position)
_LINES = PerLength(lambda n: _LINES_BASE.where(_l.document_id.in_([bindparam(f"i{k}") for k in range(n)])))
_LINES_OF_ONE = Prepared(_LINES_BASE.where(_l.document_id == bindparam("id")))
_NUMBER_SEARCH = re.compile(
    r"(?:(?P<code>[A-Z]{2,4}) )?(?:(?P<serie>[^\s/]+)/(?P<number>\d+)|(?P<number2>\d+)/(?P<serie2>[^\s/]+))"
)


# Column values a document has before anything sets them (for documents built in memory).
_DEFAULTS = {c.name: None for c in _DOC_COLUMNS} | {"archived": False, "serie": None}
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
    document = Document(*_PICK(row), lines=lines)
    document.archived = bool(document.archived)
    document.client = orjson.loads(document.client)  # type: ignore[arg-type]
    if document.global_discount is not None:
        document.global_discount = GlobalDiscount(document.global_discount, row[_DISCOUNT_VALUE])  # type: ignore[arg-type]
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
    conn: Connection, account_id: int, document_id: int
) -> tuple[Document, dict[str, Any] | None] | None:
    """A document, and its client's current fields (None if the client is gone)."""
    row = _DOC_AND_CLIENT.first(conn, {"account_id": account_id, "id": document_id})
    if row is None:
        return None
    lines = [DocumentLine(*line[1:]) for line in _LINES_OF_ONE.rows(conn, {"id": document_id})]
    client_values = row[len(_DOC_KEYS) :]
    client = dict(zip(CLIENT_FIELDS, client_values, strict=True)) if client_values[0] is not None else None
    return _document(row, lines), client


def get_document(conn: Connection, account_id: int, document_id: int) -> Document | None:
    """One document (plain `=` lookups: cheaper than the expanding IN of `fetch_documents`)."""
    row = _DOC.first(conn, {"account_id": account_id, "id": document_id})
    if row is None:
        return None
    lines = [DocumentLine(*line[1:]) for line in _LINES_OF_ONE.rows(conn, {"id": document_id})]
    return _document(row, lines)


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


def _with_cents(values: dict[str, Any]) -> dict[str, Any]:
    """The values with what is kept beside `before_taxes` for range filters: its cents as an
    integer (SQLite keeps Money as text, which does not compare as numbers)."""
    if "before_taxes" not in values:
        return values
    return {**values, "before_taxes_cents": _cents(values["before_taxes"])}


def _cents(amount: Decimal) -> int:
    return int(amount * 100)  # totals are to the cent already: exact


def insert_document(conn: Connection, lines: list[dict[str, Any]], **values: Any) -> Document:
    """Store a new document with its lines; the document as stored."""
    document_id = int(_INSERT_DOCUMENT.scalar(conn, _with_cents(values)))
    _insert_lines(conn, document_id, lines)
    return document_from(document_id, values, lines)


def document_from(document_id: int, values: dict[str, Any], lines: list[dict[str, Any]]) -> Document:
    """A document from the values just written (no need to read it back)."""
    stored = {**_DEFAULTS, **values, "id": document_id}
    return _document(tuple(stored[k] for k in _DOC_KEYS), [_line(line) for line in lines])


def _line(values: dict[str, Any]) -> DocumentLine:
    return DocumentLine(**{name: values.get(name) for name in _LINE_FIELDS})


def _insert_lines(conn: Connection, document_id: int, lines: list[dict[str, Any]]) -> None:
    if lines:
        _INSERT_LINES.run_many(
            conn, [{"document_id": document_id, "position": n, **line} for n, line in enumerate(lines, start=1)]
        )


def update_document(conn: Connection, document_id: int, **values: Any) -> None:
    _UPDATE_DOCUMENT.run(conn, {"document_id": document_id, **_with_cents(values)})


def replace_lines(conn: Connection, document_id: int, lines: list[dict[str, Any]]) -> None:
    _DELETE_LINES.run(conn, {"document_id": document_id})
    _insert_lines(conn, document_id, lines)


# List statements are built once per *shape* of filters (which filters are present), with the
# values as bound parameters: building and cache-keying a statement per request costs more than
# running it.
_LIST_STATEMENTS: dict[tuple[Any, ...], tuple[Prepared, Prepared]] = {}


def _shape(filters: DocumentFilters) -> tuple[Any, ...]:
    return (
        len(filters.types),
        None if filters.statuses is None else len(filters.statuses),
        filters.archived,
        filters.client_id is not None,
        filters.date_from is not None,
        filters.date_to is not None,
        filters.due_date_from is not None,
        filters.due_date_to is not None,
        filters.before_taxes_from is not None,
        filters.before_taxes_to is not None,
        filters.reference is not None,
        _text_shape(filters.text),
        filters.newest_first,
    )


def _text_shape(text: str | None) -> Any:
    if not text:
        return None
    match = _NUMBER_SEARCH.fullmatch(text.strip())
    return ("number", match.group("code")) if match else "text"


def _statements(shape: tuple[Any, ...]) -> tuple[Prepared, Prepared]:
    found = _LIST_STATEMENTS.get(shape)
    if found is None:
        found = _LIST_STATEMENTS[shape] = _build(*shape)
    return found


def _build(
    types: int, statuses: int | None, archived: bool | None, client: bool, date_from: bool, date_to: bool,
    due_from: bool, due_to: bool, taxes_from: bool, taxes_to: bool, reference: bool, text: Any, newest_first: bool,
) -> tuple[Prepared, Prepared]:  # fmt: skip
    def kept(table: Any) -> list[Any]:
        """The conditions on what the document counts keep apart: account, type, status, archived."""
        c = table.c
        found = [c.account_id == bindparam("account_id"), c.doc_type.in_([bindparam(f"t{k}") for k in range(types)])]
        if statuses is None:
            found.append(c.status != "deleted")
        else:
            found.append(c.status.in_([bindparam(f"s{k}") for k in range(statuses)]))
        if archived is not None:
            found.append(c.archived == archived)
        return found

    conditions = kept(documents)
    others = len(conditions)
    if client:
        conditions.append(_d.client_id == bindparam("client_id"))
    for present, condition in (
        (date_from, _d.date >= bindparam("date_from")),
        (date_to, _d.date <= bindparam("date_to")),
        (due_from, _d.due_date >= bindparam("due_from")),
        (due_to, _d.due_date <= bindparam("due_to")),
        (taxes_from, _d.before_taxes_cents >= bindparam("cents_from")),
        (taxes_to, _d.before_taxes_cents <= bindparam("cents_to")),
        (reference, _d.reference.contains(bindparam("reference"), escape="/")),
    ):
        if present:
            conditions.append(condition)
    if text is not None:
        conditions.append(_text_condition(text))
    query = select(_d.id).where(and_(*conditions))
    order = (_d.date.desc(), _d.id.desc()) if newest_first else (_d.date, _d.id)
    page = query.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
    if len(conditions) == others:  # nothing the counts do not keep apart: add them up
        counted = select(document_counts.c.n.label("n")).where(and_(*kept(document_counts)))
        changed = select(document_count_changes.c.delta.label("n")).where(and_(*kept(document_count_changes)))
        both = union_all(counted, changed).subquery()
        count = select(func.coalesce(func.sum(both.c.n), 0))
    else:
        count = select(func.count()).select_from(query.subquery())
    return Prepared(page), Prepared(count)


def _text_condition(text: Any) -> Any:
    """Free text over the client's name, the reference, the observations, the lines, and the
    number ("A/12", "12/A" or "FT A/12")."""
    needle = bindparam("text")
    like = [
        _d.client_name.contains(needle, escape="/"),
        _d.reference.contains(needle, escape="/"),
        _d.observations.contains(needle, escape="/"),
        exists().where(
            _l.document_id == _d.id,
            or_(_l.name.contains(needle, escape="/"), _l.description.contains(needle, escape="/")),
        ),
    ]
    if isinstance(text, tuple):
        same_number = [
            _d.number == bindparam("number"),
            exists().where(_ss.id == _d.sub_sequence_id, _s.id == _ss.sequence_id, _s.serie == bindparam("serie")),
        ]
        code = text[1]
        if code:
            same_number.append(_d.doc_type.in_([literal(t.key) for t in DOC_TYPES if t.internal_code == code]))
        like.append(and_(*same_number))
    return or_(*like)


def _params(account_id: int, filters: DocumentFilters) -> dict[str, Any]:
    params: dict[str, Any] = {"account_id": account_id}
    params.update({f"t{k}": t for k, t in enumerate(filters.types)})
    params.update({f"s{k}": s for k, s in enumerate(filters.statuses or ())})
    params.update(
        client_id=filters.client_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
        due_from=filters.due_date_from,
        due_to=filters.due_date_to,
        cents_from=math.ceil(filters.before_taxes_from * 100) if filters.before_taxes_from is not None else None,
        cents_to=math.floor(filters.before_taxes_to * 100) if filters.before_taxes_to is not None else None,
        reference=_escaped(filters.reference) if filters.reference else None,
    )
    if filters.text:
        text = filters.text.strip()
        params["text"] = _escaped(text)
        match = _NUMBER_SEARCH.fullmatch(text)
        if match:
            params["serie"] = match.group("serie") or match.group("serie2")
            params["number"] = int(match.group("number") or match.group("number2"))
    return params


def _escaped(text: str) -> str:
    """A LIKE operand that matches itself literally (escape character "/")."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def list_document_ids(
    conn: Connection, account_id: int, filters: DocumentFilters, page: int, per_page: int
) -> tuple[list[int], int]:
    page_statement, count_statement = _statements(_shape(filters))
    params = _params(account_id, filters)
    total = count_statement.scalar(conn, params)
    ids = [row[0] for row in page_statement.rows(conn, {**params, "limit": per_page, "offset": (page - 1) * per_page})]
    return ids, int(total)


def credited_total(conn: Connection, owner_id: int, credit_types: Sequence[str]) -> Decimal:
    """What issued, not canceled credit notes already take off the owner invoice."""
    rows = conn.scalars(
        select(_d.total).where(
            _d.owner_document_id == owner_id, _d.doc_type.in_(credit_types), _d.status.in_(("final", "settled"))
        )
    ).all()
    return sum(rows, Decimal(0))


def has_live_corrections(conn: Connection, owner_id: int) -> bool:
    """Whether issued, not canceled credit or debit notes correct this document."""
    query = select(_d.id).where(_d.owner_document_id == owner_id, _d.status.in_(("final", "settled")))
    return conn.execute(query.limit(1)).first() is not None


def related_ids(conn: Connection, account_id: int, document_id: int, owner_id: int | None) -> list[int]:
    """Documents linked to this one: those it corrects and those that correct it."""
    condition = _d.owner_document_id == document_id
    if owner_id is not None:
        condition = or_(condition, _d.id == owner_id)
    query = select(_d.id).where(_d.account_id == account_id, condition, _d.status != "deleted").order_by(_d.id)
    return list(conn.scalars(query).all())


def _issued_line_uses(column: Any, value: int) -> Any:
    return exists().where(column == value, _d.id == _l.document_id, _d.status.in_(("final", "settled", "canceled")))


def tax_is_on_issued_documents(conn: Connection, tax_id: int) -> bool:
    return bool(conn.execute(select(_issued_line_uses(_l.tax_id, tax_id))).scalar())


def item_is_on_documents(conn: Connection, item_id: int) -> bool:
    return bool(conn.execute(select(exists().where(_l.item_id == item_id))).scalar())


def client_has_issued_documents(conn: Connection, client_id: int) -> bool:
    query = select(exists().where(_d.client_id == client_id, _d.status.in_(("final", "settled", "canceled"))))
    return bool(conn.execute(query).scalar())


def chain(conn: Connection, sub_sequence_id: int) -> list[Document]:
    """Every numbered document of one counter, in number order (for `ixserver verify`)."""
    rows = conn.execute(
        select(_d.id, _d.account_id)
        .where(_d.sub_sequence_id == sub_sequence_id, _d.number.is_not(None))
        .order_by(_d.number)
    ).all()
    if not rows:
        return []
    return fetch_documents(conn, rows[0][1], [r[0] for r in rows])


def delete_account_documents(conn: Connection, account_id: int) -> None:
    owned = select(_d.id).where(_d.account_id == account_id)
    conn.execute(delete(document_lines).where(_l.document_id.in_(owned)))
    conn.execute(update(documents).where(_d.account_id == account_id).values(owner_document_id=None))
    conn.execute(delete(documents).where(_d.account_id == account_id))


def document_by_token(conn: Connection, token: str) -> Document | None:
    row = conn.execute(select(_d.id, _d.account_id).where(_d.permalink_token == token)).first()
    return get_document(conn, row[1], row[0]) if row else None


_COUNT_KEY = ("account_id", "doc_type", "status", "archived")


def fold_count_changes(conn: Connection) -> int:
    """Fold the recorded count changes into `document_counts`; how many were folded. Safe to
    run in several processes at once: each change row is deleted, so added, once."""
    c = document_count_changes.c
    rows = conn.execute(
        delete(document_count_changes).returning(c.account_id, c.doc_type, c.status, c.archived, c.delta)
    )
    totals: dict[tuple[int, str, str, bool], int] = {}
    folded = 0
    for account_id, doc_type, status, archived, delta in rows:
        key = (account_id, doc_type, status, bool(archived))
        totals[key] = totals.get(key, 0) + delta
        folded += 1
    upsert = _dialect_insert(conn)(document_counts)
    upsert = upsert.on_conflict_do_update(
        index_elements=list(_COUNT_KEY), set_={"n": document_counts.c.n + upsert.excluded.n}
    )
    for key in sorted(totals):  # one order in every process: no deadlock between two folds
        if totals[key]:
            conn.execute(upsert, {**dict(zip(_COUNT_KEY, key, strict=True)), "n": totals[key]})
    return folded


def _dialect_insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def count_disagreements(conn: Connection, account_id: int) -> list[tuple[str, str, bool, int, int]]:
    """(type, status, archived, kept count, actual count) wherever the kept counts are wrong.
    One statement, so one state of the database: a fold or a write committed meanwhile cannot
    make counts that agree look as if they did not."""
    c, ch = document_counts.c, document_count_changes.c
    key = ("doc_type", "status", "archived")
    zero, one = literal(0), literal(1)
    rows = union_all(
        select(c.doc_type, c.status, c.archived, c.n.label("kept"), zero.label("actual")).where(c.account_id == account_id),
        select(ch.doc_type, ch.status, ch.archived, ch.delta, zero).where(ch.account_id == account_id),
        select(_d.doc_type, _d.status, _d.archived, zero, one).where(_d.account_id == account_id),
    ).subquery()
    kept, actual = func.sum(rows.c.kept), func.sum(rows.c.actual)
    query = (
        select(*(rows.c[k] for k in key), kept, actual)
        .group_by(*(rows.c[k] for k in key))
        .having(kept != actual)
        .order_by(*(rows.c[k] for k in key))
    )
    return [(r[0], r[1], bool(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]
