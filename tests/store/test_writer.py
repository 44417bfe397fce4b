"""The writer thread (ixserver/writes/): group commit, failures isolated, nothing lost."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import insert, select

from ixserver.domain.errors import CommitUnknown, DatabaseUnavailable, ValidationFailed
from ixserver.resources import Resources
from ixserver.store.db import LOST, Database, admin_engine
from ixserver.writes.thread import WriterThread
from ixserver.writes.use_cases import NotAUseCase, of_account, of_no_account
from tests.store.conftest import invoice_counter
from tests.store.scratch import allocations
from tests.support import TEST_SECRET_KEY, Settings, data_file, next_number


@of_no_account
def allocate(conn, sub_id: int, fail: bool) -> int:  # type: ignore[no-untyped-def]
    number = next_number(conn, sub_id)
    conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=0))
    if fail:
        raise ValidationFailed("refused after allocating")
    return number


@of_no_account
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


@of_no_account
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


# -- issue 15: one lock order for every instance's batches, and lost races counted and logged ----


@of_account
def deadlocks_once(conn, account_id: int, attempts: list[int]) -> int:  # type: ignore[no-untyped-def]
    """A use case of an account that loses a race the first time it runs: a real PostgreSQL
    error of SQLSTATE 40P01 (what a deadlock victim gets), not a simulated one."""
    from sqlalchemy import text

    attempts.append(account_id)
    if len(attempts) == 1:
        conn.execute(text("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"))
    return len(attempts)


@of_account
def holds_account_lock(conn, account_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether another connection taking the account's lock would wait (it gives up after 0.2 s),
    once the use case has run a statement (the lock is deferred to the first: store/deferred.py)."""
    import psycopg
    from sqlalchemy import text

    conn.execute(text("SELECT 1"))
    url = conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as other:
        other.execute("SET lock_timeout = '200ms'")
        try:
            other.execute(
                "INSERT INTO account_versions (account_id, version) VALUES (%s, 1)"
                " ON CONFLICT (account_id) DO UPDATE SET version = account_versions.version + 1",
                (account_id,),
            )
        except psycopg.errors.LockNotAvailable:
            return True
        finally:
            other.rollback()
    return False


@pytest.mark.postgres
def test_a_lost_race_is_run_again_counted_and_logged(
    db: Database, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's races")
    writer = WriterThread(db, resources)
    attempts: list[int] = []

    async def go() -> object:
        await writer.open()
        return await writer.run(deadlocks_once, 42, attempts)

    try:
        with caplog.at_level("WARNING", logger="ixserver.writer"):
            assert asyncio.run(go()) == 2, "run again, and answered with the second run's value"
        stats = asyncio.run(writer.stats())
    finally:
        writer.close()
    assert stats["races"] == {"40P01": 1}
    assert any("lost a race" in r.getMessage() and "40P01" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_an_accounts_use_case_holds_its_account_lock(db: Database, resources: Resources) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's locks")
    writer = WriterThread(db, resources)

    async def go() -> list[object]:
        await writer.open()
        return await asyncio.gather(writer.run(holds_account_lock, 7), writer.run(holds_account_lock, 8))

    try:
        assert asyncio.run(go()) == [True, True]
    finally:
        writer.close()


def unmarked(conn, account_id: int, ran: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Named like an account's use case, but not marked (writes/use_cases.py)."""
    ran.append(account_id)


def test_every_writer_refuses_an_unmarked_function_at_the_call(db: Database, resources: Resources) -> None:
    """A programming error, raised where the function is handed over, before it runs."""
    from ixserver.writes.direct import DirectWrites
    from ixserver.writes.remote import RemoteWriter

    ran: list[int] = []
    thread = WriterThread(db, resources)
    remote = RemoteWriter("/nonexistent/writer.sock")  # refused before it would connect
    try:
        for writes in (DirectWrites(db, resources), thread, remote):
            with pytest.raises(NotAUseCase, match="unmarked is handed to the write path without a mark"):
                writes.run_sync(unmarked, 1, ran)
            with pytest.raises(NotAUseCase, match="without a mark"):
                asyncio.run(writes.run(unmarked, 1, ran))
    finally:
        thread.close()
    assert ran == []


@of_account
def transaction_of(conn, account_id: int, n: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A use case of an account: the account and the transaction it ran in."""
    from sqlalchemy import text

    return account_id, int(conn.execute(text("SELECT txid_current()")).scalar_one())


@pytest.mark.postgres
def test_a_batch_holds_one_accounts_lock_at_a_time(db: Database, resources: Resources) -> None:
    """On PostgreSQL a batch is one transaction per account: no transaction of it holds two
    accounts' locks, so that another writer may write one account while this one writes another."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's locks")
    from ixserver.writes.batches import Batches
    from ixserver.writes.use_cases import UseCase

    jobs = [UseCase(transaction_of, (account, n)) for n, account in enumerate([8, 7, 8, 7, 9])]
    outcomes, retry = Batches(db, resources).run(jobs)
    assert retry == [] and all(ok for _job, ok, _value in outcomes)
    by_account: dict[int, set[int]] = {}
    for _job, _ok, (account, transaction) in outcomes:
        by_account.setdefault(account, set()).add(transaction)
    assert sorted(by_account) == [7, 8, 9]
    assert [len(t) for t in by_account.values()] == [1, 1, 1], "an account's use cases of one batch commit together"
    assert len(set.union(*by_account.values())) == 3, "no transaction holds two accounts"


# -- the database's faults (issue 23) ------------------------------------------------------------


@of_no_account
def loses_its_connection(conn, sub_id: int, runs: list[int], losing: int) -> int:  # type: ignore[no-untyped-def]
    """Allocates a number, then (its first `losing` runs) has the server end its connection, as a
    restart or pg_terminate_backend would: after some of its work, before its commit."""
    number = next_number(conn, sub_id)
    conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=0))
    runs.append(number)
    if len(runs) <= losing:
        conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    return number


@of_no_account
def lost_at_commit(conn, sub_id: int, runs: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Allocates a number; its connection is ended by another one after its last statement, so
    that its COMMIT is what fails."""
    number = next_number(conn, sub_id)
    conn.execute(insert(allocations).values(sub_sequence_id=sub_id, number=number, pid=0))
    runs.append(number)
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    other = admin_engine(conn.engine.url.render_as_string(hide_password=False))
    with other.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    other.dispose()
    time.sleep(0.2)
    return number


def _one(writer: WriterThread, fn: object, *args: object) -> object:
    """One use case handed to the writer, and its value."""

    async def go() -> object:
        await writer.open()
        return await writer.run(fn, *args)  # type: ignore[arg-type]

    return asyncio.run(go())


def _allocated(db: Database, sub_id: int) -> list[int]:
    with db.read() as conn:
        return sorted(
            conn.execute(select(allocations.c.number).where(allocations.c.sub_sequence_id == sub_id)).scalars()
        )


@pytest.mark.postgres
@pytest.mark.parametrize("together", [False, True])
def test_a_use_case_that_lost_its_connection_runs_once_more_on_a_new_one(
    db: Database, resources: Resources, together: bool
) -> None:
    """Not half-done: the first run's work went with its connection; the second, on a new
    connection, is committed once. Alone, or in a batch (whose other use case is committed once)."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's connections")
    sub_id, other_id = invoice_counter(db), invoice_counter(db)
    writer = WriterThread(db, resources)
    runs: list[int] = []

    async def go() -> list[object]:
        await writer.open()
        jobs = [writer.run(loses_its_connection, sub_id, runs, 1)]
        if together:
            jobs.append(writer.run(allocate, other_id, False))
        return await asyncio.gather(*jobs)

    try:
        assert asyncio.run(go()) == ([1, 1] if together else [1])
        assert asyncio.run(writer.fault()) is None, "committed since: no fault"
    finally:
        writer.close()
    assert runs == [1, 1], "run twice, the first undone"
    assert _allocated(db, sub_id) == [1] and _allocated(db, other_id) == ([1] if together else [])


@pytest.mark.postgres
def test_a_use_case_that_keeps_losing_its_connection_or_its_commit_is_a_503(db: Database, resources: Resources) -> None:
    """Lost again on the new connection: a 503, nothing changed. Lost at the COMMIT: whether the
    server committed is not known, a 503 that says so (repeating with the same proprietary_uid
    is safe), and the use case is not run a second time behind the caller's back. The writer's
    probe then finds the database back by itself."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's connections")
    sub_id, other_id = invoice_counter(db), invoice_counter(db)
    writer = WriterThread(db, resources)
    runs: list[int] = []
    again: list[int] = []
    try:
        with pytest.raises(DatabaseUnavailable) as refused:
            _one(writer, loses_its_connection, sub_id, runs, 99)
        with pytest.raises(CommitUnknown) as unknown:
            _one(writer, lost_at_commit, other_id, again)
        deadline = time.monotonic() + 10
        while asyncio.run(writer.fault()) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert asyncio.run(writer.fault()) is None, "the probe found the database back"
    finally:
        writer.close()
    assert (refused.value.reason, refused.value.retry_after, runs) == (LOST, 1, [1, 1]), "once more, then answered"
    assert _allocated(db, sub_id) == []
    assert "may or may not have been carried out" in unknown.value.message and unknown.value.retry_after == 1
    assert again == [1], "not run again"
    assert _allocated(db, other_id) == [], "(here the server had not committed it)"


RUN_ORDER: list[tuple[int, int]] = []
HOLD = threading.Event()


@of_account
def noted(_conn, account_id: int, n: int) -> int:  # type: ignore[no-untyped-def]
    RUN_ORDER.append((account_id, n))
    return n


@of_no_account
def held(_conn) -> None:  # type: ignore[no-untyped-def]
    """Keeps the writer busy until HOLD is set: what is handed over meanwhile is queued whole."""
    assert HOLD.wait(30)


def test_accounts_share_the_batches(db: Database, resources: Resources) -> None:
    """Another account's few writes, queued behind one account's many, run in the first batches
    (turns of one use case per account), and each account's in the order they were handed over."""
    from ixserver.services.accounts import create_account
    from tests.support import write

    busy, _ = write(db, create_account, f"b{time.monotonic_ns()}", resources)
    quiet, _ = write(db, create_account, f"q{time.monotonic_ns()}", resources)
    writer = WriterThread(db, resources, batch_max=8)
    RUN_ORDER.clear()

    async def burst() -> list[object]:
        await writer.open()
        HOLD.clear()
        holding = asyncio.ensure_future(writer.run(held))
        jobs = [writer.run(noted, busy.id, n) for n in range(60)] + [writer.run(noted, quiet.id, n) for n in range(4)]
        handed = [asyncio.ensure_future(job) for job in jobs]
        # every use case handed over before the writer takes its next batch: on a loaded machine it
        # took batches of the busy account while the quiet one's were still being handed over
        await asyncio.sleep(0)
        HOLD.set()
        return await asyncio.gather(holding, *handed)

    try:
        asyncio.run(burst())
    finally:
        writer.close()
    assert [n for a, n in RUN_ORDER if a == busy.id] == list(range(60))
    assert [n for a, n in RUN_ORDER if a == quiet.id] == list(range(4))
    last_quiet = max(i for i, (a, _n) in enumerate(RUN_ORDER) if a == quiet.id)
    assert last_quiet < 24, f"the quiet account's writes waited for the busy one's ({RUN_ORDER[:30]})"


# -- issue 27: what a batch writes once for all its use cases ----------------------------------


@of_account
def create_then_maybe_refuse(conn, account_id: int, words: str, refuse: bool) -> int:  # type: ignore[no-untyped-def]
    """A draft with `words` in its observations; refused after it was written when `refuse`."""
    from ixserver.api.documents import parse_document
    from ixserver.domain.doctypes import BY_KEY
    from ixserver.services.documents import create_document

    line = {"name": "Chair", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}
    body = {"invoice": {"client": {"name": "Index Client", "code": "I1"}, "observations": words, "items": [line]}}
    document = create_document(conn, account_id, "invoice", parse_document(body, BY_KEY["invoice"]))
    if refuse:
        raise ValidationFailed("refused after writing its document")
    return document.id


def test_a_batchs_documents_are_indexed_at_its_commit(db: Database, resources: Resources) -> None:
    """The text index's rows of a batch are written once, before its commit: each document kept
    is found by its text, one undone by its savepoint is not (a later document of the batch may
    take its id: its row is then the later document's)."""
    from ixserver.services.accounts import create_account
    from ixserver.store import document_search
    from ixserver.writes.batches import Batches
    from ixserver.writes.use_cases import UseCase
    from tests.support import resources_for_tests, write

    account, _key = write(db, create_account, "indexed", resources_for_tests())
    refused = {1, 2, 5}
    jobs = [UseCase(create_then_maybe_refuse, (account.id, f"batchword{n}x", n in refused)) for n in range(8)]
    outcomes, retry = Batches(db, resources).run(jobs)
    assert retry == [] and [ok for _case, ok, _value in outcomes] == [n not in refused for n in range(8)]
    kept = {n: value for n, (_case, ok, value) in enumerate(outcomes) if ok}

    def found(words: str) -> list[int]:
        query = document_search.matching_ids(db.dialect)
        params = {"text": words, **document_search.params(db.dialect, words)}
        with db.read() as conn:
            return sorted(conn.scalars(query, params))

    for n in range(8):
        assert found(f"batchword{n}x") == ([kept[n]] if n in kept else []), n


@of_account
def finalize_then_maybe_refuse(conn, resources: Resources, account_id: int, document_id: int, refuse: bool) -> int:  # type: ignore[no-untyped-def]
    """A draft finalized (its number taken, its chain moved, its seal event appended); then
    refused when `refuse`, so that its savepoint undoes all of that."""
    from ixserver.services.documents import change_state

    document = change_state(conn, resources, account_id, "invoice", document_id, "finalized", None)
    if refuse:
        raise ValidationFailed("refused after sealing")
    assert document.number is not None
    return document.number


def test_a_batchs_seal_events_chain_through_refusals_and_the_head_is_written_once(db: Database) -> None:
    """Within a batch, an account's seal head and its counter's signature chain are taken from
    what the transaction wrote (their rows written once, before the commit): a finalization
    undone by its savepoint takes its number, signature, event and place with it, the next one
    chains to the one before, and numbers, signatures, seal and head verify."""
    from ixserver.services.accounts import create_account
    from ixserver.services.signing_keys import register_signing_key
    from ixserver.services.verify import verify
    from ixserver.store import seal as seal_store
    from ixserver.writes.batches import Batches
    from ixserver.writes.direct import DirectWrites
    from ixserver.writes.use_cases import UseCase
    from tests.support import resources_for_tests, write

    resources = resources_for_tests()  # the sandbox's: its series registered when it is created
    account, _key = write(db, create_account, "sealed", resources)
    DirectWrites(db, resources).run_sync_with_resources(register_signing_key)  # for verify's signature check
    create_jobs = [UseCase(create_then_maybe_refuse, (account.id, f"sealword{n}x", False)) for n in range(6)]
    created, _retry = Batches(db, resources).run(create_jobs)
    drafts = [value for _case, _ok, value in created]
    refused = {1, 3, 4}
    jobs = [UseCase(finalize_then_maybe_refuse, (account.id, d, n in refused), with_resources=True)
            for n, d in enumerate(drafts)]  # fmt: skip
    outcomes, retry = Batches(db, resources).run(jobs)
    assert retry == []
    assert [value if ok else None for _case, ok, value in outcomes] == [1, None, 2, None, None, 3], outcomes
    with db.read() as conn:
        events = list(seal_store.events(conn, account.id))
        assert seal_store.head(conn, account.id) == (events[-1].seq, events[-1].mac)
        assert verify(conn, resources.seal_key, "sealed") == []  # numbers, signature chain, seal
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


@of_account
def accounts_year(conn, account_id: int) -> int:  # type: ignore[no-untyped-def]
    """The year in the account's time, as the writer runs its use cases."""
    from ixserver import clock

    return clock.today().year


@of_account
def advance_then_maybe_refuse(conn, account_id: int, years: int, refuse: bool) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from ixserver.services.clocks import advance_clock
    from ixserver.store.clocks import offset_of

    moved = advance_clock(conn, account_id, timedelta(days=366 * years))
    assert offset_of(conn, account_id) == moved.offset  # read again after the move: the new offset
    if refuse:
        raise ValidationFailed("refused after moving the clock")


def test_a_batch_reads_an_accounts_clock_once_and_sees_its_changes(db: Database) -> None:
    """The writer reads an account's clock once per transaction (sandbox): a use case that moves
    it is seen by the next ones of the batch, and one undone by its savepoint is not."""
    from ixserver import clock
    from ixserver.services.accounts import create_account
    from ixserver.writes.batches import Batches
    from ixserver.writes.use_cases import UseCase
    from tests.support import resources_for_tests, write

    resources = resources_for_tests()  # the sandbox's: accounts have clocks
    account, _key = write(db, create_account, "clocked", resources)
    year = clock.today().year
    jobs = [UseCase(accounts_year, (account.id,)), UseCase(advance_then_maybe_refuse, (account.id, 2, False)),
            UseCase(accounts_year, (account.id,)), UseCase(advance_then_maybe_refuse, (account.id, 10, True)),
            UseCase(accounts_year, (account.id,))]  # fmt: skip
    outcomes, retry = Batches(db, resources).run(jobs)
    assert retry == [] and [ok for _case, ok, _value in outcomes] == [True, True, True, False, True]
    assert [value for _case, _ok, value in outcomes[::2]] == [year, year + 2, year + 2]
    later, _retry = Batches(db, resources).run([UseCase(accounts_year, (account.id,))])
    assert later[0][2] == year + 2


def test_a_batch_sees_the_entries_it_made_when_an_accounts_clock_moves_back(db: Database) -> None:
    """An account's time only moves forward past its last entry: a move back in the batch that
    issued that entry is refused, though the counter's row gets the entry only at the commit."""
    from datetime import timedelta

    from ixserver import clock
    from ixserver.services.accounts import create_account
    from ixserver.services.clocks import set_clock
    from ixserver.writes.batches import Batches
    from ixserver.writes.use_cases import UseCase
    from tests.support import resources_for_tests, write

    resources = resources_for_tests()
    account, _key = write(db, create_account, "backwards", resources)
    created, _retry = Batches(db, resources).run([UseCase(create_then_maybe_refuse, (account.id, "backx", False))])
    draft = created[0][2]
    jobs = [UseCase(finalize_then_maybe_refuse, (account.id, draft, False), with_resources=True),
            UseCase(set_clock, (account.id, clock.real_now() - timedelta(days=1)))]  # fmt: skip
    outcomes, _retry = Batches(db, resources).run(jobs)
    assert outcomes[0][1] is True
    assert outcomes[1][1] is False and "only moves forward" in str(outcomes[1][2])


def test_a_reset_in_the_batch_of_an_entry_forgets_it(db: Database) -> None:
    """A sandbox reset after a finalization of the same batch starts the account again: its
    clock may then be set back (the entry is gone with its counter)."""
    from datetime import timedelta

    from ixserver import clock
    from ixserver.services.accounts import create_account, reset_account
    from ixserver.services.clocks import set_clock
    from ixserver.writes.batches import Batches
    from ixserver.writes.use_cases import UseCase
    from tests.support import resources_for_tests, write

    resources = resources_for_tests()
    account, _key = write(db, create_account, "reset", resources)
    created, _retry = Batches(db, resources).run([UseCase(create_then_maybe_refuse, (account.id, "resetx", False))])
    jobs = [UseCase(finalize_then_maybe_refuse, (account.id, created[0][2], False), with_resources=True),
            UseCase(reset_account, (account.id,), with_resources=True),
            UseCase(set_clock, (account.id, clock.real_now() - timedelta(days=1)))]  # fmt: skip
    outcomes, _retry = Batches(db, resources).run(jobs)
    assert [ok for _case, ok, _value in outcomes] == [True, True, True], outcomes
