"""The document lists (GET /invoices.json and the per-type and client lists, api-v2 §4.1):
their filters as SQL, a page of ids, and the exact total.

List statements are built once per *shape* of filters (which filters are present), with the
values as bound parameters: building and cache-keying a statement per request costs more than
running it. What a list costs does not grow with the account where its filters allow:
- its total: when only type, status and archived filter it, from the kept counts
  (store/document_counts.py); with a date range besides, from the kept counts per date; other
  filters count the matching rows (through their indexes: the client's documents, the text index);
- a page: found in `ix_documents_account_date` alone; a deep page of a list that the kept counts
  describe (type, status, archived, dates) starts at the month, then the date, that the counts per
  month and per date place it on, rather than after walking every row before it;
- the text: through the text index (store/document_search.py), and a number through the
  counters' unique index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter

from ixserver.domain import states
from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import DocumentFilters
from ixserver.store import document_search
from ixserver.store.common import page_offset
from ixserver.store.document_counts import month_of
from ixserver.store.prepared import Prepared
from ixserver.store.tables import (
    document_count_changes,
    document_counts,
    document_day_counts,
    document_lines,
    document_month_counts,
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


# From this offset on, a page of a list that the day counts describe starts at the date they place
# it on (summing the account's counts per date costs about what walking this many index rows does).
DEEP_OFFSET = 10_000


@dataclass(frozen=True)
class _Statements:
    page: Prepared  # a page of ids: limit, offset
    count: Prepared  # the total
    # when the counts per date describe the list: the month the row at `offset` is in, and how
    # many rows are in the months before it (lists without dates); the date, and how many rows are
    # on the dates before it (within `month_first`..`month_next`, without dates); and a page from
    # that date on (`start`; limit, offset)
    start_month: Prepared | None = None
    start: Prepared | None = None
    page_from: Prepared | None = None


_LIST_STATEMENTS: dict[tuple[Any, ...], _Statements] = {}


def _shape(dialect: str, filters: DocumentFilters) -> tuple[Any, ...]:
    return (
        dialect,
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
        _text_shape(dialect, filters.text),
        filters.newest_first,
    )


def _text_shape(dialect: str, text: str | None) -> Any:
    if not text:
        return None
    needle = text.strip()
    types, readings = _numbers(needle)
    return (types, len(readings), document_search.indexed(dialect, needle))


def _statements(shape: tuple[Any, ...]) -> _Statements:
    found = _LIST_STATEMENTS.get(shape)
    if found is None:
        found = _LIST_STATEMENTS[shape] = _build(*shape)
    return found


def _build(
    dialect: str, types: int, statuses: int | None, archived: bool | None, client: bool, date_from: bool,
    date_to: bool, due_from: bool, due_to: bool, taxes_from: bool, taxes_to: bool, loaded_from: bool,
    loaded_to: bool, reference: bool, text: Any, newest_first: bool,
) -> _Statements:  # fmt: skip
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

    def dated(table: Any) -> list[Any]:
        """The date range, on a table with a `date`."""
        c = table.c
        return [
            condition
            for present, condition in (
                (date_from, c.date >= bindparam("date_from")),
                (date_to, c.date <= bindparam("date_to")),
            )
            if present
        ]

    conditions = kept(documents) + dated(documents)
    by_day = len(conditions)  # up to here, what the counts per date describe
    if client:
        conditions.append(_d.client_id == bindparam("client_id"))
    for present, condition in (
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
        conditions.append(_text_condition(dialect, text))
    order = (_d.date.desc(), _d.id.desc()) if newest_first else (_d.date, _d.id)
    searched = text is not None  # planned for the text searched: the index or not (store/prepared.py)

    def page_of(*more: Any) -> Prepared:
        query = select(_d.id).where(and_(*conditions, *more))
        return Prepared(
            query.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset")), planned_per_values=searched
        )

    page = page_of()
    if len(conditions) > by_day:
        count = select(func.count()).select_from(select(_d.id).where(and_(*conditions)).subquery())
        return _Statements(page, Prepared(count, planned_per_values=searched))
    # nothing the counts do not keep apart: add them up (over the dates of the range, if any)
    if date_from or date_to:
        count = select(func.coalesce(func.sum(_per(document_day_counts, "date", kept, dated).c.n), 0))
    else:
        counted = select(document_counts.c.n.label("n")).where(and_(*kept(document_counts)))
        changed = select(document_count_changes.c.delta.label("n")).where(and_(*kept(document_count_changes)))
        count = select(func.coalesce(func.sum(union_all(counted, changed).subquery().c.n), 0))

    def walk(per: Any) -> Prepared:
        """The first key (date or month), in the list's order, whose documents and those of the
        keys before it are more than `offset`; and how many those before it are."""
        grouped = select(per.c.key, func.sum(per.c.n).label("n")).group_by(per.c.key).subquery()
        running = select(
            grouped.c.key, grouped.c.n, func.sum(grouped.c.n).over(order_by=ordered(grouped.c.key)).label("through")
        ).subquery()
        return Prepared(
            select(running.c.key, running.c.through - running.c.n)
            .where(running.c.through > bindparam("offset"))
            .order_by(ordered(running.c.key))
            .limit(1)
        )

    def ordered(key: Any) -> Any:
        return key.desc() if newest_first else key

    from_start = _d.date <= bindparam("start") if newest_first else _d.date >= bindparam("start")
    if date_from or date_to:  # few dates, or few before the deep pages: walk the days
        return _Statements(
            page, Prepared(count), None, walk(_per(document_day_counts, "date", kept, dated)), page_of(from_start)
        )

    def in_month(table: Any) -> list[Any]:
        return [table.c.date >= bindparam("month_first"), table.c.date < bindparam("month_next")]

    months = walk(_per(document_month_counts, "month", kept, None, month_of(dialect, document_count_changes.c.date)))
    days = walk(_per(document_day_counts, "date", kept, in_month))
    return _Statements(page, Prepared(count), months, days, page_of(from_start))


def _per(table: Any, key: str, kept: Callable[[Any], list[Any]], more: Callable[[Any], list[Any]] | None,
         change_key: Any = None) -> Any:  # fmt: skip
    """(key, n) rows of a kept count per date or month, and of the changes not folded into it yet."""
    changes = document_count_changes
    return union_all(
        select(table.c[key].label("key"), table.c.n.label("n")).where(
            and_(*kept(table), *(more(table) if more else ()))
        ),
        select((changes.c.date if change_key is None else change_key).label("key"), changes.c.delta.label("n")).where(
            and_(*kept(changes), *(more(changes) if more else ()))
        ),
    ).subquery()


def _text_condition(dialect: str, text: tuple[tuple[str, ...], int, bool]) -> Any:
    """Free text, whatever its letter case, over the client's name, the reference, the
    observations, the lines, and the number ("2026/12", "12/2026" or "FT 2026/12"): the ids the
    text index finds, and those of the documents with that number."""
    types, readings, indexed = text
    found: list[Any] = []
    if indexed:
        found.append(document_search.matching_ids(dialect))
    numbered = documents.alias("numbered").c  # apart from the list's own documents
    for k in range(readings):
        same_number = [
            _s.account_id == bindparam("account_id"),
            _s.serie == bindparam(f"serie{k}"),
            _ss.sequence_id == _s.id,
            numbered.sub_sequence_id == _ss.id,
            numbered.number == bindparam(f"number{k}"),
        ]
        if len(types) < len(DOC_TYPES):
            same_number.append(numbered.doc_type.in_([literal(t) for t in types]))
        found.append(select(numbered.id).where(*same_number))
    condition = _d.id.in_(union_all(*found) if len(found) > 1 else found[0]) if found else None
    if indexed:
        return condition
    # too short for the index: the account's documents, row by row
    needle: BindParameter[str] = bindparam("text")
    like = [
        _d.client_name.icontains(needle, escape="/"),
        _d.reference.icontains(needle, escape="/"),
        _d.observations.icontains(needle, escape="/"),
        exists().where(
            _l.document_id == _d.id,
            or_(_l.name.icontains(needle, escape="/"), _l.description.icontains(needle, escape="/")),
        ),
    ]
    return or_(*like, *([condition] if condition is not None else []))


def _params(dialect: str, account_id: int, filters: DocumentFilters) -> dict[str, Any]:
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
        params.update(document_search.params(dialect, text))
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
    dialect = conn.dialect.name
    statements = _statements(_shape(dialect, filters))
    params = _params(dialect, account_id, filters)
    total = int(statements.count.scalar(conn, params))
    offset = page_offset(page, per_page, total)
    if offset is None:
        return [], total
    if statements.start is not None and statements.page_from is not None and offset >= DEEP_OFFSET:
        ids = _deep_page(conn, statements, params, offset, per_page)
        if ids is not None:
            return ids, total
    return [row[0] for row in statements.page.rows(conn, {**params, "limit": per_page, "offset": offset})], total


def _deep_page(
    conn: Connection, statements: _Statements, params: dict[str, Any], offset: int, per_page: int
) -> list[int] | None:
    """The page at `offset`, started at the month and then the day the counts place it on; None if
    they end before it (never: they are read in one snapshot with the total)."""
    assert statements.start is not None and statements.page_from is not None
    within: dict[str, Any] = {}
    if statements.start_month is not None:
        found = statements.start_month.first(conn, {**params, "offset": offset})
        if found is None:
            return None
        month, before = found
        offset -= int(before)
        within = {"month_first": month, "month_next": (month + timedelta(days=32)).replace(day=1)}
    found = statements.start.first(conn, {**params, **within, "offset": offset})
    if found is None:
        return None
    day, before = found
    rows = statements.page_from.rows(conn, {**params, "start": day, "limit": per_page, "offset": offset - int(before)})
    return [row[0] for row in rows]
