"""The writer thread (ixserver/writes/): group commit, failures isolated, nothing lost."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from ixserver.domain.errors import ValidationFailed
from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.writes.thread import WriterThread
from tests.store.conftest import invoice_counter
from tests.store.scratch import allocations
from tests.support import TEST_SECRET_KEY, Settings, data_file, next_number


def allocate(conn, sub_id: int, fail: bool) -> int:  # type: ignore[no-untyped-def]
    number = next_number(conn, sub_id)
    conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=0))
    if fail:
        raise ValidationFailed("refused after allocating")
    return number


def signer_version(_conn, resources: Resources) -> int:  # type: ignore[no-untyped-def]
    return resources.signer.version


@pytest.fixture
def resources(tmp_path) -> Resources:  # type: ignore[no-untyped-def]
    signing_key = data_file("at-sample-keys/at-sample-private-key.pem")
    return Resources.from_settings(
        Settings(data_dir=tmp_path, secret_key=TEST_SECRET_KEY, signing_key_file=signing_key, signing_key_version=7)
    )


def _burst(writer: WriterThread, sub_id: int, failing: set[int], size: int = 300) -> list[object]:
    async def burst() -> list[object]:
        await writer.open()
        jobs = [writer.run(allocate, sub_id, i in failing) for i in range(size)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    return asyncio.run(burst())


def test_concurrent_use_cases_are_committed_together(db: Database, resources: Resources) -> None:
    sub_id = invoice_counter(db)
    writer = WriterThread(db, resources, batch_max=64)
    try:
        results = _burst(writer, sub_id, set())
    finally:
        writer.close()
    assert sorted(results) == list(range(1, 301))  # type: ignore[type-var]
    stats = asyncio.run(writer.stats())
    assert stats["use_cases"] == 300
    assert stats["batches"] < 300 / 4, "use cases queued together were committed together"


def test_a_failing_use_case_fails_alone(db: Database, resources: Resources) -> None:
    sub_id = invoice_counter(db)
    writer = WriterThread(db, resources, batch_max=64)
    try:
        results = _burst(writer, sub_id, {i for i in range(300) if i % 10 == 3})
    finally:
        writer.close()
    numbers = [r for r in results if isinstance(r, int)]
    failures = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(failures) == 30 and len(numbers) == 270
    assert sorted(numbers) == list(range(1, 271)), "failed use cases consumed no number"
    with db.read() as conn:
        stored = sorted(conn.scalars(select(allocations.c.number).where(allocations.c.sub_sequence_id == sub_id)))
    assert stored == sorted(numbers), "what was acknowledged is stored, and nothing else"
    stats = asyncio.run(writer.stats())
    assert stats["batches"] < 300 / 4, "a refusal is undone alone: its batch is not run again one by one"


def broken(conn, sub_id: int) -> int:  # type: ignore[no-untyped-def]
    next_number(conn, sub_id)
    conn.exec_driver_sql("SELECT * FROM no_such_table")  # not a refusal: a failure of the database
    return 0


def test_a_failure_that_is_no_refusal_still_fails_alone(db: Database, resources: Resources) -> None:
    sub_id = invoice_counter(db)
    writer = WriterThread(db, resources, batch_max=64)

    async def burst() -> list[object]:
        await writer.open()
        jobs = [writer.run(broken, sub_id) if i == 5 else writer.run(allocate, sub_id, False) for i in range(40)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(burst())
    finally:
        writer.close()
    assert sum(isinstance(r, Exception) for r in results) == 1 and isinstance(results[5], Exception)
    assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 40))


def test_use_cases_get_the_writers_resources(db: Database, resources: Resources) -> None:
    writer = WriterThread(db, resources)

    async def run() -> int:
        await writer.open()
        return await writer.run_with_resources(signer_version)

    try:
        assert asyncio.run(run()) == 7
    finally:
        writer.close()
