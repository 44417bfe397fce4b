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

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ixserver.store.tables import sub_sequences

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
