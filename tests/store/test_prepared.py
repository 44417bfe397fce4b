"""Prepared statements (store/prepared.py) behave as `Connection.execute` would: same SQL, same
conversions both ways, same errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, delete, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from ixserver.store.db import Database
from ixserver.store.prepared import PerLength, Prepared
from tests.store.scratch import values

_v = values.c
ROW = {"label": "a", "amount": Decimal("1234.5678901234"), "at": datetime(2026, 3, 1, 9, 30, 5, 123456, tzinfo=UTC),
       "day": date(2026, 2, 28), "flag": True}  # fmt: skip
INSERT = Prepared(insert(values).returning(_v.id))
BY_LABEL = Prepared(select(_v.label, _v.amount, _v.at, _v.day, _v.flag).where(_v.label == bindparam("label")))


@pytest.fixture
def conn(db: Database):  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        conn.execute(delete(values))
    with db.transaction() as conn:
        yield conn
        conn.rollback()


def test_values_go_in_and_come_out_as_through_core(conn) -> None:  # type: ignore[no-untyped-def]
    prepared_id = INSERT.scalar(conn, ROW)
    core_id = conn.execute(insert(values).returning(_v.id), {**ROW, "label": "b"}).scalar_one()
    assert isinstance(prepared_id, int) and prepared_id != core_id
    stored = {r.label: tuple(r)[1:] for r in conn.execute(select(_v.label, _v.amount, _v.at, _v.day, _v.flag))}
    assert stored["a"] == stored["b"] == (ROW["amount"], ROW["at"], ROW["day"], True)
    assert BY_LABEL.first(conn, {"label": "b"}) == ("b", *stored["b"])
    assert BY_LABEL.first(conn, {"label": "a"}) == tuple(ROW.values())
    assert BY_LABEL.first(conn, {"label": "none"}) is None
    amount = BY_LABEL.first(conn, {"label": "a"})[1]  # type: ignore[index]
    assert isinstance(amount, Decimal) and str(amount) == "1234.5678901234"


def test_literal_values_in_the_statement_are_bound_too(conn) -> None:  # type: ignore[no-untyped-def]
    INSERT.scalar(conn, ROW)
    INSERT.scalar(conn, {**ROW, "label": "off", "flag": False})
    flagged = Prepared(select(_v.label).where(_v.flag == true(), _v.label != "zzz").order_by(_v.label))
    assert flagged.rows(conn) == [("a",)]
    assert Prepared(update(values).where(_v.label == "off").values(flag=True)).run(conn) == 1
    assert flagged.rows(conn) == [("a",), ("off",)]


def test_many_rows_and_lists_by_length(conn) -> None:  # type: ignore[no-untyped-def]
    Prepared(insert(values)).run_many(conn, [{**ROW, "label": f"n{k}"} for k in range(5)])
    by_labels = PerLength(lambda n: select(_v.label).where(_v.label.in_([bindparam(f"l{k}") for k in range(n)])))
    found = by_labels(2).rows(conn, {"l0": "n1", "l1": "n3"})
    assert sorted(found) == [("n1",), ("n3",)]
    assert by_labels(2) is by_labels(2)


def test_driver_errors_are_sqlalchemys(conn) -> None:  # type: ignore[no-untyped-def]
    INSERT.scalar(conn, ROW)
    with pytest.raises(IntegrityError):
        INSERT.scalar(conn, ROW)


def test_what_it_cannot_do_is_refused_not_guessed(conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="label"):
        BY_LABEL.first(conn, {})
    expanding = Prepared(select(_v.id).where(_v.label.in_(bindparam("labels", expanding=True))))
    with pytest.raises(ValueError, match="per length"):
        expanding.rows(conn, {"labels": ["a"]})
