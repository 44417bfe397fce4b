"""Queries on series (sequences) and their per-type sub-sequences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.engine import Connection

from ixserver.domain.doctypes import ID_ALLOCATION_ORDER
from ixserver.domain.sequences import NORMAL, TRAINING, Sequence, SubSequence
from ixserver.store.common import make_default as _make_default
from ixserver.store.tables import accounts, sequences, sub_sequences

_s = sequences.c
_ss = sub_sequences.c


def insert_sequence(conn: Connection, *, account_id: int, serie: str, is_default: bool, now: datetime) -> int:
    """Create a series with one sub-sequence per document type. Ids are handed out in
    InvoiceXpress's order; the invoice sub-sequence id doubles as the series id."""
    first, *others = ID_ALLOCATION_ORDER
    invoice_sub_id = int(
        conn.execute(
            insert(sub_sequences).values(account_id=account_id, doc_type=first, serie=serie).returning(_ss.id)
        ).scalar_one()
    )
    conn.execute(
        insert(sequences).values(
            id=invoice_sub_id, account_id=account_id, serie=serie, is_default=is_default, created_at=now
        )
    )
    conn.execute(update(sub_sequences).where(_ss.id == invoice_sub_id).values(sequence_id=invoice_sub_id))
    for doc_type in others:  # one by one, so that ids follow the allocation order on every backend
        conn.execute(
            insert(sub_sequences).values(
                account_id=account_id, sequence_id=invoice_sub_id, doc_type=doc_type, serie=serie
            )
        )
    return invoice_sub_id


_SEQUENCE_ROWS = (
    select(
        _s.id, _s.serie, _s.is_default, _ss.id, _ss.doc_type, _ss.current_number, _ss.validation_code, _ss.series_type
    )
    .join(sub_sequences, _ss.sequence_id == _s.id)
    .where(_s.account_id == bindparam("account_id"))
    .order_by(_s.id, _ss.id)
)
_ONE_SEQUENCE_ROWS = _SEQUENCE_ROWS.where(_s.id == bindparam("sequence_id"))


def fetch_sequences(conn: Connection, account_id: int, sequence_id: int | None = None) -> list[Sequence]:
    if sequence_id is None:
        rows = conn.execute(_SEQUENCE_ROWS, {"account_id": account_id}).all()
    else:
        rows = conn.execute(_ONE_SEQUENCE_ROWS, {"account_id": account_id, "sequence_id": sequence_id}).all()
    result: list[Sequence] = []
    current: Sequence | None = None
    for seq_id, serie, is_default, sub_id, doc_type, number, code, series_type in rows:
        if current is None or current.id != seq_id:
            current = Sequence(id=seq_id, serie=serie, is_default=bool(is_default), subs={})
            result.append(current)
        current.subs[doc_type] = SubSequence(sub_id, doc_type, int(number), code, series_type)
    return result


def serie_exists(conn: Connection, account_id: int, serie: str) -> bool:
    return sequence_id_by_serie(conn, account_id, serie) is not None


def sequence_id_by_serie(conn: Connection, account_id: int, serie: str) -> int | None:
    found = conn.execute(select(_s.id).where(_s.account_id == account_id, _s.serie == serie)).scalar()
    return int(found) if found is not None else None


def make_default(conn: Connection, account_id: int, sequence_id: int) -> None:
    _make_default(conn, sequences, account_id, sequence_id)


def registering_since(conn: Connection, sequence_id: int) -> datetime | None:
    return conn.execute(select(_s.registering_since).where(_s.id == sequence_id)).scalar_one()


def set_registering(conn: Connection, sequence_id: int, since: datetime | None) -> None:
    conn.execute(update(sequences).where(_s.id == sequence_id).values(registering_since=since))


def store_validation_codes(conn: Connection, codes: dict[int, str], series_type: str, now: datetime) -> None:
    for sub_id, code in codes.items():
        conn.execute(
            update(sub_sequences)
            .where(_ss.id == sub_id, _ss.validation_code.is_(None))
            .values(validation_code=code, series_type=series_type, registered_at=now)
        )


def registered_elsewhere(conn: Connection, account_id: int, fiscal_id: str, serie: str, doc_types: list[str]) -> bool:
    """Whether another account of the same taxpayer holds `serie`, registered with AT (not as a
    training series), for one of `doc_types` (a series is unique per taxpayer and type)."""
    query = (
        select(_ss.id)
        .join(accounts, accounts.c.id == _ss.account_id)
        .where(
            accounts.c.fiscal_id == fiscal_id,
            _ss.account_id != account_id,
            _ss.serie == serie,
            _ss.doc_type.in_(doc_types),
            _ss.validation_code.is_not(None),
            func.coalesce(_ss.series_type, NORMAL) != TRAINING,  # training series are not AT's
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def delete_account_sequences(conn: Connection, account_id: int) -> None:
    conn.execute(delete(sub_sequences).where(_ss.account_id == account_id))
    conn.execute(delete(sequences).where(_s.account_id == account_id))


_COUNTER_OF = select(_ss.id).where(
    _ss.sequence_id
    == select(_ss.sequence_id)
    .where(_ss.id == bindparam("any_id"), _ss.account_id == bindparam("account_id"))
    .scalar_subquery(),
    _ss.doc_type == bindparam("doc_type"),
)


def counter_of(conn: Connection, account_id: int, any_id: int, doc_type: str) -> int | None:
    """The counter for `doc_type` in the series that `any_id` belongs to: `any_id` may be the
    series id or any of its sub-sequence ids (api-v2 §4.3)."""
    found = conn.execute(_COUNTER_OF, {"any_id": any_id, "account_id": account_id, "doc_type": doc_type}).scalar()
    return int(found) if found is not None else None


def series_type_of(conn: Connection, sub_sequence_id: int | None) -> str | None:
    """The type AT registered a counter's series with (N, F), None while unregistered; a counter
    of a type AT does not register (VAT MOSS, fees notes, purchase orders) has its series' type
    (a training series' documents are all training documents)."""
    if sub_sequence_id is None:
        return None
    return conn.execute(select(SERIES_TYPE).select_from(sub_sequences).where(_ss.id == sub_sequence_id)).scalar()


# A counter's series type as `series_type_of` says, over a row of `sub_sequences` (written out:
# store/counters.py returns it from an UPDATE, where SQLAlchemy would leave the table off).
SERIES_TYPE = literal_column(
    "COALESCE(sub_sequences.series_type, (SELECT max(others.series_type) FROM sub_sequences AS others"
    " WHERE others.sequence_id = sub_sequences.sequence_id))",
    String,
)
