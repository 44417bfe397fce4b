"""The gapless counter that numbers every fiscal document.

`next_number` runs inside the caller's write transaction, so the number and the document that
carries it are committed (or rolled back) together: a rolled-back finalization consumes
nothing, and no database SEQUENCE (which is not transactional) is ever involved.

- SQLite: the transaction began with BEGIN IMMEDIATE (store/db.py), so this connection already
  holds the database's only write lock; the increment is a single UPDATE … RETURNING.
- PostgreSQL: SELECT … FOR UPDATE locks the counter row until commit; concurrent finalizations
  on the same sub-sequence queue on that row lock, others proceed in parallel.

The unique index on (sub-sequence, number) of the numbered rows is the backstop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ixserver.store.tables import sequences, sub_sequences

_c = sub_sequences.c


def next_number(conn: Connection, sub_sequence_id: int) -> int:
    if not conn.in_transaction():
        raise RuntimeError("next_number must run inside the caller's write transaction")
    if conn.dialect.name == "postgresql":
        current = conn.execute(
            select(_c.current_number).where(_c.id == sub_sequence_id).with_for_update()
        ).scalar_one()
        conn.execute(update(sub_sequences).where(_c.id == sub_sequence_id).values(current_number=current + 1))
        return int(current) + 1
    return int(
        conn.execute(
            update(sub_sequences)
            .where(_c.id == sub_sequence_id)
            .values(current_number=_c.current_number + 1)
            .returning(_c.current_number)
        ).scalar_one()
    )


@dataclass(frozen=True)
class ChainHead:
    """Where a counter's signature chain stands, read under the counter's lock."""

    serie: str
    validation_code: str | None
    last_date: date | None
    last_entry: str | None
    last_hash: str | None


def chain_head(conn: Connection, sub_sequence_id: int) -> ChainHead:
    row = conn.execute(
        select(sequences.c.serie, _c.validation_code, _c.last_date, _c.last_entry, _c.last_hash)
        .join(sequences, sequences.c.id == _c.sequence_id)
        .where(_c.id == sub_sequence_id)
    ).one()
    return ChainHead(*row)


def advance_chain(conn: Connection, sub_sequence_id: int, doc_date: date, entry: str, signature: str) -> None:
    conn.execute(
        update(sub_sequences)
        .where(_c.id == sub_sequence_id)
        .values(last_date=doc_date, last_entry=entry, last_hash=signature)
    )


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
