"""The document lists (GET /invoices.json and the per-type and client lists, api-v2 §4.1):
their filters as SQL, a page of ids, and the exact total.

List statements are built once per *shape* of filters (which filters are present), with the
values as bound parameters: building and cache-keying a statement per request costs more than
running it. When only type, status and archived filter a list, its total comes from the kept
counts (store/document_counts.py), so it costs the same with 100 or 100,000 documents; other
filters count the matching rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection

from ixserver.domain import states
from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import DocumentFilters
from ixserver.store.common import page_offset
from ixserver.store.prepared import Prepared
from ixserver.store.tables import (
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
# A document number as clients type it: "2026/1" (series/number), "1/2026" (number/series, as
# `sequence_number` shows it), optionally after its type's code ("FT 2026/1").
_NUMBER_SEARCH = re.compile(r"(?:(?P<code>[A-Z]{2,4}) )?(?P<left>[^\s/]+)/(?P<right>[^\s/]+)")
_BIGINT = 2**63 - 1  # the largest value the databases' BIGINT columns hold
_DIGITS = re.compile(r"\d{1,18}")


def _numbers(text: str) -> tuple[tuple[str, ...], list[tuple[str, int]]]:
    """For a text that reads as a document number: the types its code names (all when it has
    none), and each (series, number) it can mean; ((), []) when it reads as none."""
    match = _NUMBER_SEARCH.fullmatch(text)
    if match is None:
        return (), []
    left, right, code = match.group("left"), match.group("right"), match.group("code")
    types = tuple(t.key for t in DOC_TYPES if code is None or t.internal_code == code)
    readings = [(serie, int(number)) for serie, number in ((left, right), (right, left)) if _DIGITS.fullmatch(number)]
    return (types, readings) if types and readings else ((), [])


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
        filters.loaded_from is not None,
        filters.loaded_to is not None,
        filters.reference is not None,
        _text_shape(filters.text),
        filters.newest_first,
    )


def _text_shape(text: str | None) -> Any:
    if not text:
        return None
    types, readings = _numbers(text.strip())
    return (types, len(readings))


def _statements(shape: tuple[Any, ...]) -> tuple[Prepared, Prepared]:
    found = _LIST_STATEMENTS.get(shape)
    if found is None:
        found = _LIST_STATEMENTS[shape] = _build(*shape)
    return found


def _build(
    types: int, statuses: int | None, archived: bool | None, client: bool, date_from: bool, date_to: bool,
    due_from: bool, due_to: bool, taxes_from: bool, taxes_to: bool, loaded_from: bool, loaded_to: bool, reference: bool,
    text: Any, newest_first: bool,
) -> tuple[Prepared, Prepared]:  # fmt: skip
    def kept(table: Any) -> list[Any]:
        """The conditions on what the document counts keep apart: account, type, status, archived."""
        c = table.c
        found = [c.account_id == bindparam("account_id"), c.doc_type.in_([bindparam(f"t{k}") for k in range(types)])]
        if statuses is None:
            found.append(c.status != states.DELETED)
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
        # local "YYYY-MM-DDTHH:MM:SS" (a purchase order's: "YYYY-MM-DD"): compared as text
        (loaded_from, _d.loaded_at >= bindparam("loaded_from")),
        (loaded_to, _d.loaded_at <= bindparam("loaded_to")),
        (reference, _d.reference.icontains(bindparam("reference"), escape="/")),
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


def _text_condition(text: tuple[tuple[str, ...], int]) -> Any:
    """Free text, whatever its letter case, over the client's name, the reference, the
    observations, the lines, and the number ("2026/12", "12/2026" or "FT 2026/12")."""
    needle = bindparam("text")
    like = [
        _d.client_name.icontains(needle, escape="/"),
        _d.reference.icontains(needle, escape="/"),
        _d.observations.icontains(needle, escape="/"),
        exists().where(
            _l.document_id == _d.id,
            or_(_l.name.icontains(needle, escape="/"), _l.description.icontains(needle, escape="/")),
        ),
    ]
    types, readings = text
    for k in range(readings):
        same_number = [
            _d.number == bindparam(f"number{k}"),
            exists().where(_ss.id == _d.sub_sequence_id, _s.id == _ss.sequence_id, _s.serie == bindparam(f"serie{k}")),
        ]
        if len(types) < len(DOC_TYPES):
            same_number.append(_d.doc_type.in_([literal(t) for t in types]))
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
        cents_from=_cents(filters.before_taxes_from, math.ceil),
        cents_to=_cents(filters.before_taxes_to, math.floor),
        loaded_from=filters.loaded_from.isoformat() if filters.loaded_from else None,
        loaded_to=f"{filters.loaded_to.isoformat()}T99" if filters.loaded_to else None,  # the whole day
        reference=_escaped(filters.reference) if filters.reference else None,
    )
    if filters.text:
        text = filters.text.strip()
        params["text"] = _escaped(text)
        for k, (serie, number) in enumerate(_numbers(text)[1]):
            params[f"serie{k}"], params[f"number{k}"] = serie, number
    return params


def _cents(amount: Decimal | None, rounding: Callable[[Decimal], int]) -> int | None:
    """An amount bound as the cents kept beside `before_taxes`; beyond what a BIGINT holds, the
    bound that no document passes (compared first: 1e999999999 is never expanded)."""
    if amount is None:
        return None
    if abs(amount) >= _BIGINT // 100:
        return _BIGINT if amount > 0 else -_BIGINT
    return rounding(amount * 100)


def _escaped(text: str) -> str:
    """A LIKE operand that matches itself literally (escape character "/")."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def list_document_ids(
    conn: Connection, account_id: int, filters: DocumentFilters, page: int, per_page: int
) -> tuple[list[int], int]:
    if not filters.types or filters.statuses == ():
        return [], 0  # a filter that selects no type (e.g. type[]=Receipt here) selects nothing
    page_statement, count_statement = _statements(_shape(filters))
    params = _params(account_id, filters)
    total = int(count_statement.scalar(conn, params))
    offset = page_offset(page, per_page, total)
    if offset is None:
        return [], total
    return [row[0] for row in page_statement.rows(conn, {**params, "limit": per_page, "offset": offset})], total
