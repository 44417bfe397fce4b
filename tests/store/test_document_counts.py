"""The kept document counts (migration 0005, store/documents.py): writers fold the changes the
triggers record, each once, even when folds race (the triggers themselves are checked through
`ixserver verify` by the life-cycle state machine and the CLI tests)."""

from __future__ import annotations

import secrets
import threading

from sqlalchemy import insert, select

from ixserver.store.db import Database
from ixserver.store.document_counts import fold_count_changes
from ixserver.store.tables import document_count_changes, document_counts


def test_racing_folds_add_each_change_once(db: Database) -> None:
    account_id = 10**9 + secrets.randbelow(10**6)  # counts have no foreign key: any id will do
    rows = [{"account_id": account_id, "doc_type": "invoice", "status": s, "archived": False, "delta": d}
            for s, d in [("draft", 1)] * 300 + [("draft", -1)] * 100 + [("final", 1)] * 100]  # fmt: skip
    with db.transaction() as conn:
        fold_count_changes(conn)  # what earlier tests on this database left: the race folds only these rows
        conn.execute(insert(document_count_changes), rows)
    folded: list[int] = []

    def fold() -> None:
        with db.transaction() as conn:
            folded.append(fold_count_changes(conn))

    threads = [threading.Thread(target=fold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(folded) == len(rows)
    c = document_counts.c
    with db.read() as conn:
        kept = conn.execute(select(c.status, c.n).where(c.account_id == account_id).order_by(c.status)).all()
        left = conn.execute(
            select(document_count_changes.c.id).where(document_count_changes.c.account_id == account_id)
        )
        assert left.all() == []
    assert [tuple(r) for r in kept] == [("draft", 200), ("final", 100)]
