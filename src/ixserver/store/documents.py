"""Queries on documents and their lines."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Select, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import Document, DocumentFilters, DocumentLine
from ixserver.domain.totals import GlobalDiscount
from ixserver.store.tables import document_lines, documents, sequences, sub_sequences

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
_DOCS = (
    select(*_DOC_COLUMNS, _s.serie)
    .select_from(documents.outerjoin(sub_sequences, _ss.id == _d.sub_sequence_id).outerjoin(sequences, _s.id == _ss.sequence_id))
    .where(_d.account_id == bindparam("account_id"), _d.id.in_(bindparam("ids", expanding=True)))
)
_LINES = (
    select(_l.document_id, *(getattr(_l, f) for f in _LINE_FIELDS))
    .where(_l.document_id.in_(bindparam("ids", expanding=True)))
    .order_by(_l.document_id, _l.position)
)
_NUMBER_SEARCH = re.compile(
    r"(?:(?P<code>[A-Z]{2,4}) )?(?:(?P<serie>[^\s/]+)/(?P<number>\d+)|(?P<number2>\d+)/(?P<serie2>[^\s/]+))"
)


def _document(row: Any, lines: list[DocumentLine]) -> Document:
    m = row._mapping
    discount = None
    if m["global_discount_type"]:
        discount = GlobalDiscount(m["global_discount_type"], m["global_discount_value"])
    return Document(
        id=m["id"],
        account_id=m["account_id"],
        doc_type=m["doc_type"],
        status=m["status"],
        archived=bool(m["archived"]),
        date=m["date"],
        due_date=m["due_date"],
        reference=m["reference"],
        observations=m["observations"],
        retention=m["retention"],
        tax_exemption=m["tax_exemption"],
        client_id=m["client_id"],
        client=orjson.loads(m["client"]),
        currency_code=m["currency_code"],
        exchange_rate=m["exchange_rate"],
        global_discount=discount,
        sum=m["sum"],
        discount=m["discount"],
        before_taxes=m["before_taxes"],
        taxes=m["taxes"],
        total=m["total"],
        retention_amount=m["retention_amount"],
        owner_document_id=m["owner_document_id"],
        owner_reference=m["owner_reference"],
        permalink_token=m["permalink_token"],
        sub_sequence_id=m["sub_sequence_id"],
        number=m["number"],
        serie=m["serie"],
        atcud=m["atcud"],
        gross_total_eur=m["gross_total_eur"],
        system_entry_date=m["system_entry_date"],
        signature=m["signature"],
        key_version=m["key_version"],
        status_reason=m["status_reason"],
        lines=lines,
    )


def fetch_documents(conn: Connection, account_id: int, ids: Sequence[int]) -> list[Document]:
    """The account's documents with these ids, with their lines, in the order of `ids`."""
    if not ids:
        return []
    lines: dict[int, list[DocumentLine]] = {}
    for row in conn.execute(_LINES, {"ids": list(ids)}).all():
        lines.setdefault(row[0], []).append(DocumentLine(*row[1:]))
    found = {row.id: row for row in conn.execute(_DOCS, {"account_id": account_id, "ids": list(ids)}).all()}
    return [_document(found[i], lines.get(i, [])) for i in ids if i in found]


def get_document(conn: Connection, account_id: int, document_id: int) -> Document | None:
    found = fetch_documents(conn, account_id, [document_id])
    return found[0] if found else None


def lock_document(conn: Connection, account_id: int, document_id: int) -> bool:
    """Lock the document's row until the transaction ends (PostgreSQL; SQLite's write
    transaction is exclusive already). False when the account has no such document."""
    query = select(_d.id).where(_d.account_id == account_id, _d.id == document_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first() is not None


def document_id_by_uid(conn: Connection, account_id: int, uid: str) -> int | None:
    return conn.execute(select(_d.id).where(_d.account_id == account_id, _d.proprietary_uid == uid)).scalar()


def insert_document(conn: Connection, lines: list[dict[str, Any]], **values: Any) -> int:
    document_id = int(conn.execute(insert(documents).values(**values).returning(_d.id)).scalar_one())
    _insert_lines(conn, document_id, lines)
    return document_id


def _insert_lines(conn: Connection, document_id: int, lines: list[dict[str, Any]]) -> None:
    if lines:
        conn.execute(
            insert(document_lines),
            [{"document_id": document_id, "position": n, **line} for n, line in enumerate(lines, start=1)],
        )


def update_document(conn: Connection, document_id: int, **values: Any) -> None:
    conn.execute(update(documents).where(_d.id == document_id).values(**values))


def replace_lines(conn: Connection, document_id: int, lines: list[dict[str, Any]]) -> None:
    conn.execute(delete(document_lines).where(_l.document_id == document_id))
    _insert_lines(conn, document_id, lines)


def _filtered(account_id: int, filters: DocumentFilters) -> Select[Any]:
    conditions = [_d.account_id == account_id, _d.doc_type.in_(filters.types)]
    if filters.statuses is None:
        conditions.append(_d.status != "deleted")
    else:
        conditions.append(_d.status.in_(filters.statuses))
    if filters.archived is not None:
        conditions.append(_d.archived == filters.archived)
    if filters.client_id is not None:
        conditions.append(_d.client_id == filters.client_id)
    for column, low, high in (
        (_d.date, filters.date_from, filters.date_to),
        (_d.due_date, filters.due_date_from, filters.due_date_to),
    ):
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    if filters.before_taxes_from is not None:
        conditions.append(_d.before_taxes_cents >= math.ceil(filters.before_taxes_from * 100))
    if filters.before_taxes_to is not None:
        conditions.append(_d.before_taxes_cents <= math.floor(filters.before_taxes_to * 100))
    if filters.reference:
        conditions.append(_d.reference.contains(filters.reference, autoescape=True))
    if filters.text:
        conditions.append(_text_condition(filters.text.strip()))
    query = select(_d.id).where(and_(*conditions))
    order = (_d.date.desc(), _d.id.desc()) if filters.newest_first else (_d.date, _d.id)
    return query.order_by(*order)


def _text_condition(text: str) -> Any:
    """Free text over the client's name, the reference, the observations, the lines, and the
    number ("A/12", "12/A" or "FT A/12")."""
    like = [
        _d.client_name.contains(text, autoescape=True),
        _d.reference.contains(text, autoescape=True),
        _d.observations.contains(text, autoescape=True),
        exists().where(
            _l.document_id == _d.id,
            or_(_l.name.contains(text, autoescape=True), _l.description.contains(text, autoescape=True)),
        ),
    ]
    match = _NUMBER_SEARCH.fullmatch(text)
    if match:
        serie = match.group("serie") or match.group("serie2")
        number = int(match.group("number") or match.group("number2"))
        same_number = [
            _d.number == number,
            exists().where(_ss.id == _d.sub_sequence_id, _s.id == _ss.sequence_id, _s.serie == serie),
        ]
        if match.group("code"):
            same_number.append(_d.doc_type.in_([t.key for t in DOC_TYPES if t.internal_code == match.group("code")]))
        like.append(and_(*same_number))
    return or_(*like)


def list_document_ids(
    conn: Connection, account_id: int, filters: DocumentFilters, page: int, per_page: int
) -> tuple[list[int], int]:
    query = _filtered(account_id, filters)
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    ids = conn.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(ids), int(total)


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
        select(_d.id, _d.account_id).where(_d.sub_sequence_id == sub_sequence_id, _d.number.is_not(None)).order_by(_d.number)
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
