"""`ixserver verify`: audit what the database holds against the rules it must keep."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ixserver.domain.doctypes import BY_KEY
from ixserver.store import accounts as account_store
from ixserver.store import sequences as sequence_store


def verify(conn: Connection, account_name: str | None = None) -> list[str]:
    """Every problem found, as one line each; an empty list means clean."""
    problems: list[str] = []
    for account in account_store.list_accounts(conn):
        if account_name is not None and account.name != account_name:
            continue
        found = sequence_store.fetch_sequences(conn, account.id)
        defaults = [s.serie for s in found if s.is_default]
        if len(defaults) != 1:
            problems.append(f"{account.name}: {len(defaults)} default sequences (must be exactly 1): {defaults}")
        for sequence in found:
            missing = sorted(set(BY_KEY) - set(sequence.subs))
            if missing:
                problems.append(f"{account.name}: sequence {sequence.serie} has no counter for {', '.join(missing)}")
            for sub in sequence.subs.values():
                if sub.current_number < 0:
                    problems.append(f"{account.name}: {sequence.serie}/{sub.doc_type} counter is negative")
    return problems
