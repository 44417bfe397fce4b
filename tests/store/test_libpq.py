"""PostgreSQL's statements straight on libpq (store/libpq.py): one pipeline, with the transaction's
BEGIN, per statement waited for; statements prepared once per connection and kept through
rollbacks; a queue larger than the socket's buffers sent whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import DBAPIError

from ixserver.store import libpq
from ixserver.store.db import Database
from ixserver.store.prepared import Prepared
from tests.store.scratch import values

_v = values.c
INSERT = Prepared(values.insert())
LABELS = Prepared(select(_v.label).order_by(_v.label))
COUNT = Prepared(select(_v.id).where(_v.label == bindparam("label")))


@pytest.fixture
def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("libpq is PostgreSQL's")
    with db.transaction() as conn:
        conn.execute(delete(values))
    return db


def _row(label: str) -> dict[str, object]:
    return {"label": label, "amount": Decimal("1.5"), "at": None, "day": None, "flag": True}


def test_deferred_writes_begin_and_the_waited_statement_are_one_round_trip(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[int] = []
    answers = libpq._answers

    def counted(pgconn: Any, sent: int) -> Any:
        syncs.append(sent)
        return answers(pgconn, sent)

    monkeypatch.setattr(libpq, "_answers", counted)
    with pg.transaction() as conn:
        INSERT.send_many(conn, [_row("a"), _row("b"), _row("c")])
        assert [row[0] for row in LABELS.rows(conn)] == ["a", "b", "c"]
        assert len(syncs) == 1, "BEGIN, three inserts and the select: one pipeline"
        assert syncs[0] >= 5
        INSERT.send(conn, _row("d"))
    assert len(syncs) == 2, "what was deferred went in one more before the commit"


def test_prepared_statements_outlive_a_rollback_and_psycopg_prepares_none(pg: Database) -> None:
    class Undone(Exception):
        pass

    for label in ("a", "b", "c", "d", "e", "f"):  # past psycopg's threshold of its own (5)
        with pytest.raises(Undone), pg.transaction() as conn:
            INSERT.run(conn, _row(label))
            assert LABELS.rows(conn) == [(label,)]
            conn.execute(select(_v.label)).all()
            raise Undone
    with pg.transaction() as conn:
        INSERT.run(conn, _row("g"))
        raw = conn.connection.dbapi_connection
        assert raw is not None and raw.prepare_threshold is None
    with pg.read() as conn:
        assert LABELS.rows(conn) == [("g",)]


def test_statements_deallocated_by_someone_else_are_prepared_again(pg: Database) -> None:
    with pg.transaction() as conn:
        INSERT.run(conn, _row("a"))
    with pytest.raises(DBAPIError, match="does not exist"), pg.transaction() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        INSERT.run(conn, _row("b"))
    with pg.transaction() as conn:
        INSERT.run(conn, _row("b"))
        assert COUNT.scalar(conn, {"label": "b"}) is not None
    with pg.read() as conn:
        assert LABELS.rows(conn) == [("a",), ("b",)]


def test_a_queue_larger_than_the_sockets_buffers_is_sent_whole(pg: Database) -> None:
    labels = [f"l{n:05d}" for n in range(4000)]
    with pg.transaction() as conn:
        INSERT.send_many(conn, [{**_row(label), "amount": Decimal("1234567.89")} for label in labels])
        assert len(LABELS.rows(conn)) == 4000
    with pg.read() as conn:
        assert [row[0] for row in LABELS.rows(conn)] == labels


def test_positional_numbers_each_name_once_and_unescapes_percent() -> None:
    sql, names = libpq.positional("SELECT %(a)s, %(b)s::INT, %(a)s, 'x%%'")
    assert sql == b"SELECT $1, $2::INT, $1, 'x%'"
    assert names == ["a", "b"]


def test_a_value_the_driver_cannot_send_fails_before_anything_is_sent(pg: Database) -> None:
    with pg.write_engine.connect() as conn:
        INSERT.send(conn, _row("a"))
        with pytest.raises(DBAPIError, match="NUL"):
            INSERT.run(conn, _row("b\x00"))
        raw = conn.connection.dbapi_connection
        assert raw is not None and raw.pgconn.pipeline_status == 0, "not left in a pipeline"
        conn.rollback()
        assert not conn.invalidated, "the connection goes on"
        INSERT.run(conn, _row("c"))
        conn.commit()
    with pg.read() as conn:
        assert LABELS.rows(conn) == [("c",)]
