"""Deferred writes (store/deferred.py): run in the order they were issued, before whatever
comes next on the connection, and their errors are SQLAlchemy's, raised no later than the
commit, which then commits nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ixserver.store import deferred
from ixserver.store.db import Database, UseCasePoints
from ixserver.store.prepared import Prepared
from tests.store.scratch import values

_v = values.c
INSERT = Prepared(insert(values))
RELABEL = Prepared(update(values).where(_v.label == bindparam("was")).values(label=bindparam("label")))
LABELS = Prepared(select(_v.label).order_by(_v.label))


def _row(label: str) -> dict[str, object]:
    return {"label": label, "amount": Decimal("1.5"), "at": None, "day": None, "flag": True}


@pytest.fixture
def db(db: Database) -> Database:
    with db.transaction() as conn:
        conn.execute(delete(values))
    return db


def _labels(db: Database) -> list[str]:
    with db.read() as conn:
        return [row[0] for row in LABELS.rows(conn)]


def test_deferred_writes_run_in_order_before_the_next_statement(db: Database) -> None:
    with db.transaction() as conn:
        INSERT.send(conn, _row("a"))
        RELABEL.send(conn, {"was": "a", "label": "b"})  # needs the insert before it
        INSERT.send_many(conn, [_row("c"), _row("d")])
        assert [row[0] for row in LABELS.rows(conn)] == ["b", "c", "d"]  # a prepared read sees them
        INSERT.send(conn, _row("e"))
        # and so does a statement through SQLAlchemy
        assert conn.execute(select(func.count()).select_from(values)).scalar_one() == 4
        INSERT.send(conn, _row("f"))  # sent before the commit
    assert _labels(db) == ["b", "c", "d", "e", "f"]


def test_a_failing_deferred_write_fails_the_next_statement_as_sqlalchemys_error(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as conn:
        INSERT.send(conn, _row("a"))
        INSERT.send(conn, _row("a"))  # the label is unique
        LABELS.rows(conn)
    assert _labels(db) == []


def test_a_failing_deferred_write_fails_the_commit_which_commits_nothing(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as conn:
        INSERT.run(conn, _row("a"))
        INSERT.send(conn, _row("b"))
        INSERT.send(conn, _row("a"))
    assert _labels(db) == []
    with db.transaction() as conn:  # the connection went back to the pool clean
        INSERT.run(conn, _row("z"))
    assert _labels(db) == ["z"]


def test_a_rollback_drops_what_was_deferred(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        INSERT.send(conn, _row("a"))
        raise RuntimeError("refused")
    with db.transaction() as conn:
        INSERT.send(conn, _row("b"))
    assert _labels(db) == ["b"]


def test_savepoints_undo_a_use_case_alone_deferred_writes_included(db: Database) -> None:
    with db.transaction() as conn:
        points = UseCasePoints(conn)
        points.begin()
        INSERT.send(conn, _row("kept"))
        points.end()
        points.begin()
        INSERT.send(conn, _row("undone"))
        RELABEL.send(conn, {"was": "kept", "label": "changed"})
        points.undo()
        points.end()
        points.begin()
        assert [row[0] for row in LABELS.rows(conn)] == ["kept"]
        INSERT.send(conn, _row("after"))
        points.end()
    assert _labels(db) == ["after", "kept"]


def test_on_sqlite_a_deferred_write_runs_at_once(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL defers")
    with db.transaction() as conn:
        deferred.defer(conn, "INSERT INTO test_values (label, flag) VALUES (?, ?)", ("now", True))
        assert conn.connection.info.get("ixserver_deferred") is None
        assert [row[0] for row in LABELS.rows(conn)] == ["now"]
