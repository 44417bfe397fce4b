"""The job outbox's claims (store/jobs.py, jobs/worker.py; issue 23), on a database of their own
(a server's workers would take these jobs): a claim of another host lasts while its heartbeat
is fresh and no longer; a claim found dead on its host is taken at once; a claim taken over
cannot be finished, beaten or marked by its old holder; a job `sending` whose claimer is gone
fails in doubt. And whether a claimer of this host is alive: its pid, and its start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ixserver import clock
from ixserver.jobs.worker import IN_DOUBT, STALE_AFTER, claimer_alive, process_start, this_process
from ixserver.store import jobs as store
from ixserver.store.db import Database
from ixserver.store.migrate import upgrade
from ixserver.writes.use_cases import of_no_account
from tests.support import fresh_database, write

HERE = store.Claimer("host-a boot ns", 4242, 17)
THERE = store.Claimer("host-b boot ns", 4242, 17)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def outbox(db: Database, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(conn, *args)` of the job outbox's store in a write of its own: a use case of no account,
    as the workers' are (jobs/worker.py)."""
    return write(db, of_no_account(lambda conn: fn(conn, *args)))


def claim(
    db: Database, at: timedelta, claimer: store.Claimer, token: str, orphans: tuple[str, ...] = ()
) -> store.Job | None:
    now = START + at
    return outbox(db, store.claim, now, now - STALE_AFTER, claimer, token, orphans, IN_DOUBT)  # type: ignore[no-any-return]


def found(db: Database, job_id: int) -> store.Job:
    with db.read() as conn:
        job = store.get(conn, job_id)
    assert job is not None
    return job


START = clock.now()
SECOND = timedelta(seconds=1)


def test_another_hosts_claim_lasts_while_its_heartbeat_is_fresh(db: Database) -> None:
    job_id = outbox(db, store.enqueue, None, "test", {}, START)
    first = claim(db, 0 * SECOND, HERE, "t1")
    assert first is not None and (first.id, first.attempts, first.token, first.claimer) == (job_id, 1, "t1", HERE)
    assert claim(db, 5 * SECOND, THERE, "t2") is None, "its heartbeat is fresh"
    outbox(db, store.heartbeat, [(job_id, "t1")], START + 8 * SECOND)
    assert claim(db, 15 * SECOND, THERE, "t2") is None, "beaten 7 s before"
    taken = claim(db, 19 * SECOND, THERE, "t2")
    assert taken is not None and (taken.id, taken.attempts, taken.claimer) == (job_id, 2, THERE), (
        "stale: its claimer is gone"
    )
    # the old holder, back, holds nothing
    assert outbox(db, store.mark_sending, job_id, "t1", START) is False
    assert outbox(db, store.finish, job_id, "t1", START) is False
    outbox(db, store.retry_or_fail, job_id, "t1", "late", None, START)
    outbox(db, store.heartbeat, [(job_id, "t1")], START + 40 * SECOND)
    job = found(db, job_id)
    assert (job.status, job.token, job.last_error, job.heartbeat_at) == ("running", "t2", None, START + 19 * SECOND)
    assert outbox(db, store.finish, job_id, "t2", START) is True


def test_a_claim_found_dead_on_its_host_is_taken_at_once(db: Database) -> None:
    job_id = outbox(db, store.enqueue, None, "test", {}, START)
    assert claim(db, 0 * SECOND, HERE, "t1") is not None
    with db.read() as conn:
        assert store.claims_on(conn, HERE.host) == [("t1", 4242, 17)]
        assert store.claims_on(conn, THERE.host) == []
    assert claim(db, 1 * SECOND, HERE, "t2", orphans=("other",)) is None
    taken = claim(db, 1 * SECOND, HERE, "t2", orphans=("t1",))
    assert taken is not None and (taken.id, taken.attempts, taken.token) == (job_id, 2, "t2")


def test_a_job_sending_when_its_claimer_went_fails_in_doubt(db: Database) -> None:
    """At most once: it is not run again; the next due job is claimed instead."""
    sending = outbox(db, store.enqueue, None, "email", {}, START)
    waiting = outbox(db, store.enqueue, None, "email", {}, START + SECOND)
    assert claim(db, 2 * SECOND, HERE, "t1") is not None
    assert outbox(db, store.mark_sending, sending, "t1", START + 2 * SECOND) is True
    taken = claim(db, 3 * SECOND, HERE, "t2", orphans=("t1",))
    assert taken is not None and taken.id == waiting
    job = found(db, sending)
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, IN_DOUBT)
    assert outbox(db, store.finish, waiting, "t2", START + 4 * SECOND) is True
    assert claim(db, 60 * SECOND, THERE, "t3") is None, "nothing else is due: the failed job stays failed"


def test_a_claimer_of_this_host_is_alive_while_its_process_is() -> None:
    me = this_process()
    assert (me.pid, me.started) == (os.getpid(), process_start(os.getpid())) and me.started is not None
    assert claimer_alive(me.pid, me.started)
    assert not claimer_alive(me.pid, me.started + 1), "the same pid, another start: another process"
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start(ended.pid)
    ended.wait()
    assert started is not None and not claimer_alive(ended.pid, started), "gone"
    assert claimer_alive(ended.pid, None), "a claimer that could not say its start: the heartbeat decides"
