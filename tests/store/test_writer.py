"""The single write path (store/writer.py): group commit, failures isolated, nothing lost."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from ixserver.domain.errors import ValidationFailed
from ixserver.store.counters import next_number
from ixserver.store.db import Database
from ixserver.store.writer import Writer
from tests.store.conftest import invoice_counter
from tests.store.scratch import allocations


def allocate(conn, sub_id: int, fail: bool) -> int:  # type: ignore[no-untyped-def]
    number = next_number(conn, sub_id)
    conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=0))
    if fail:
        raise ValidationFailed("refused after allocating")
    return number


def _burst(writer: Writer, sub_id: int, failing: set[int], size: int = 300) -> list[object]:
    async def burst() -> list[object]:
        jobs = [writer.run(allocate, sub_id, i in failing) for i in range(size)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    return asyncio.run(burst())


def test_concurrent_use_cases_are_committed_together(db: Database) -> None:
    sub_id = invoice_counter(db)
    writer = Writer(db, batch_max=64)
    writer.start()
    try:
        results = _burst(writer, sub_id, set())
    finally:
        writer.stop()
    assert sorted(results) == list(range(1, 301))  # type: ignore[type-var]
    assert writer.batches < writer.jobs / 4, "use cases queued together were committed together"


def test_a_failing_use_case_fails_alone(db: Database) -> None:
    sub_id = invoice_counter(db)
    writer = Writer(db, batch_max=64)
    writer.start()
    try:
        results = _burst(writer, sub_id, {i for i in range(300) if i % 10 == 3})
    finally:
        writer.stop()
    numbers = [r for r in results if isinstance(r, int)]
    failures = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(failures) == 30 and len(numbers) == 270
    assert sorted(numbers) == list(range(1, 271)), "failed use cases consumed no number"
    with db.read() as conn:
        stored = sorted(conn.scalars(select(allocations.c.number).where(allocations.c.sub_sequence_id == sub_id)))
    assert stored == sorted(numbers), "what was acknowledged is stored, and nothing else"


def test_run_sync_from_a_plain_thread(db: Database) -> None:
    sub_id = invoice_counter(db)
    writer = Writer(db)
    writer.start()
    try:
        assert writer.run_sync(next_number, sub_id) == 1
        with pytest.raises(ValidationFailed):
            writer.run_sync(allocate, sub_id, True)
        assert writer.run_sync(next_number, sub_id) == 2
    finally:
        writer.stop()
