"""The gapless counter (store/counters.py): concurrent OS processes, rollbacks, both backends."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
from sqlalchemy import func, insert, select

from ixserver.store.db import Database
from tests.store.conftest import invoice_counter
from tests.store.scratch import allocations
from tests.support import next_number, write

# Each of the four processes' allocations: enough for thousands of collisions on the counter's
# row (each process commits ~200 times a second, all on the one row), and a few seconds a backend.
EACH = 750


class Rollback(Exception):
    pass


def allocate(url: str, sub_id: int, count: int, rollback_every: int) -> list[int]:
    """Runs in its own OS process: `count` committed allocations, plus one rolled-back
    allocation after every `rollback_every`-th."""
    db = Database(url)
    got: list[int] = []
    try:
        while len(got) < count:
            with db.transaction() as conn:
                number = next_number(conn, sub_id)
                conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=os.getpid()))
            got.append(number)
            if rollback_every and len(got) % rollback_every == 0:
                try:
                    with db.transaction() as conn:
                        next_number(conn, sub_id)
                        raise Rollback
                except Rollback:
                    pass
    finally:
        db.dispose()
    return got


def test_numbers_start_at_one_and_rise_by_one(db: Database) -> None:
    sub_id = invoice_counter(db)
    assert [write(db, next_number, sub_id) for _ in range(3)] == [1, 2, 3]


def test_a_rolled_back_transaction_consumes_nothing(db: Database) -> None:
    sub_id = invoice_counter(db)
    with pytest.raises(Rollback):
        with db.transaction() as conn:
            assert next_number(conn, sub_id) == 1
            raise Rollback
    assert write(db, next_number, sub_id) == 1


def test_next_number_refuses_to_run_outside_a_transaction(db: Database) -> None:
    sub_id = invoice_counter(db)
    with db.write_engine.connect() as conn:
        with pytest.raises(RuntimeError, match="inside the caller's write transaction"):
            next_number(conn, sub_id)


@pytest.mark.slow
def test_four_processes_allocate_exactly_one_to_three_thousand(db: Database) -> None:
    sub_id = invoice_counter(db)
    spawn = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with spawn.Pool(4) as pool:
        results = pool.starmap(allocate, [(db.url, sub_id, EACH, 7)] * 4)
    elapsed = time.monotonic() - started

    everything = sorted(n for got in results for n in got)
    assert everything == list(range(1, 4 * EACH + 1)), "duplicates or gaps"
    for got in results:
        assert got == sorted(got), "each process sees its numbers rise"
    with db.read() as conn:
        stored = conn.execute(
            select(func.count(), func.min(allocations.c.number), func.max(allocations.c.number)).where(
                allocations.c.sub_sequence_id == sub_id
            )
        ).one()
        pids = conn.execute(
            select(func.count(func.distinct(allocations.c.pid))).where(allocations.c.sub_sequence_id == sub_id)
        ).scalar_one()
    assert tuple(stored) == (4 * EACH, 1, 4 * EACH)
    assert pids == 4
    # the counter itself: the rolled-back allocations left no trace
    assert write(db, next_number, sub_id) == 4 * EACH + 1
    print(f"\n4 processes x {EACH} allocations on {db.dialect}: {elapsed:.1f}s")
