"""The rules of every writer (see writes/__init__.py): use cases run in batches.

A writer takes whatever is queued (up to `batch_max` use cases), runs it in one transaction and
commits it together: one fsync for many finalizations (group commit), and no request thread ever
spins on SQLite's write lock. Each use case runs inside a savepoint: one that refuses (a domain
error: a 422, a 404) is undone alone, and the others of its batch are committed. Any other
failure rolls the batch back and its use cases are run again one by one, each in its own
transaction, so that only the failing one fails. Nobody is answered before the commit of its own
work has succeeded, so nothing acknowledged is lost.

With several server instances on PostgreSQL, the account's lock keeps their batches from
deadlocking: a use case of an account (marked `@of_account`: writes/use_cases.py) first takes
the account's lock (its `account_versions` row, moved on and held to the commit:
`store/accounts.lock_account_writes`), and a batch is committed as one
transaction per account (on SQLite, as one transaction). Every row an account's use case locks
or waits on (its documents, counters, seal, clients) is then only ever waited on by a
transaction that holds that account's lock and no other: writers of one account queue on its
lock, and a writer busy with one account never holds up another writer's other accounts. A use
case that still loses a race to
another instance is run again in a later batch, and the writer logs it and counts it by its
SQLSTATE (`stats()["races"]`): a deadlock or serialization failure, or a unique violation from a
find-or-create that both attempted (the loser's insert waits for the winner's commit, then fails;
run again, it finds the winner's row). A use case that keeps failing is answered with its error
after a few tries.

A batch is shared fairly between accounts (`take_batch`): the writer takes the use cases that
wait in turns, one of each account in the order the accounts arrived, then a second of each …,
each account's in the order they arrived, until the batch holds `batch_max` use cases or the
next one would take it past `cost_max` (a use case costs 1 and 1 more per line of a document it
carries: `use_cases.cost_of`). An account whose next use case does not fit waits for the next
batch, and so do its later ones; the first use case of a batch is always taken. So one account's
many writes take at most its turn's share of a batch, and a 1,000-line document is committed in
a batch after the small use cases already waiting rather than with them, which would have
waited for its commit. Alone, an account has the whole batch, as before.

Between batches, at most every `housekeeping_every` seconds and only after writes, the writer
folds the document count changes that triggers record (store/document_counts.py) in a
transaction of its own. Its failure is logged and tried again later.

A fault of the database (store/db.fault_of: its connection lost, its disk full, read-only …) is
not a use case's: a use case it stopped is answered DatabaseUnavailable (a 503, nothing of it
changed, to be repeated), after being run once more on a new connection when the connection was
lost. A COMMIT that fails leaves its outcome unknown: each use case of that transaction is
answered CommitUnknown (a 503 saying it may or may not have been carried out) and never run
again. The writer keeps the fault (`fault`) until a transaction commits, and meanwhile, when
idle, probes every `PROBE_EVERY` seconds with a write that changes nothing
(`Database.probe_write`): the health check says the writer is not ready, and why, until the
fault has ended.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.exc import DBAPIError

from ixserver import metrics
from ixserver.domain.errors import CommitUnknown, DomainError
from ixserver.resources import Resources
from ixserver.store.db import LOST, Database, UseCasePoints, fault_of, unavailable
from ixserver.store.document_counts import fold_count_changes
from ixserver.writes.use_cases import UseCase, call, cost_of, lock_account

log = logging.getLogger("ixserver.writer")

RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}  # serialization failure, deadlock, unique violation
MAX_RETRIES = 5
HOUSEKEEPING_EVERY = 2.0  # seconds
PROBE_EVERY = 1.0  # seconds between the probes of a faulted writer
BATCH_COST = 256  # IXSERVER_WRITER_BATCH_COST's default: see config.py


Outcome = tuple[UseCase, bool, Any]  # (case, succeeded, its value or its exception)


def take_batch(pending: list[UseCase], batch_max: int, cost_max: int) -> tuple[list[UseCase], list[UseCase]]:
    """The next batch of `pending` (in the order they arrived), shared between accounts as the
    module says, and what is left for later batches, still in the order it arrived."""
    if len(pending) <= 1:
        return pending, []
    queues: dict[int | None, list[UseCase]] = {}
    for case in pending:
        queues.setdefault(case.account, []).append(case)
    if len(queues) == 1 and len(pending) <= batch_max and sum(map(cost_of, pending)) <= cost_max:
        return pending, []  # one account's few small use cases: the common case, all of them
    batch: list[UseCase] = []
    cost = 0
    turn = 0
    open_accounts = list(queues)
    while open_accounts and len(batch) < batch_max:
        still_open = []
        for account in open_accounts:
            cases = queues[account]
            if turn >= len(cases):
                continue
            case = cases[turn]
            job_cost = cost_of(case)
            if batch and cost + job_cost > cost_max:
                continue  # this account's turn ends here (its later use cases keep their order)
            batch.append(case)
            cost += job_cost
            still_open.append(account)
            if len(batch) == batch_max:
                break
        open_accounts = still_open
        turn += 1
    taken = set(map(id, batch))
    return batch, [case for case in pending if id(case) not in taken]


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) if isinstance(exc, DBAPIError) else None


def _retryable(exc: BaseException) -> bool:
    return _sqlstate(exc) in RETRYABLE_SQLSTATES


class Batches:
    """Runs batches of use cases with the rules above, and the housekeeping between them."""

    def __init__(self, db: Database, resources: Resources) -> None:
        self.db = db
        self.resources = resources
        self._written_since_housekeeping = False
        self._last_housekeeping = time.monotonic()
        self.batches = 0
        self.cases = 0
        self.seconds = 0.0  # spent running batches: the serial part of every write
        self.races: dict[str, int] = {}  # lost to another instance, by SQLSTATE (40P01: deadlock)
        self._locks = db.dialect == "postgresql"
        self.fault: str | None = None  # the database's fault since the last commit (store/db.py's reasons)
        self._last_probe = 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "use_cases": self.cases,
            "seconds": round(self.seconds, 6),
            "races": dict(self.races),
            "fault": self.fault,
        }

    def _faulted(self, fault: str) -> None:
        if self.fault != fault:
            log.error("writer: the database is unavailable (%s); writes are answered 503 until it is back", fault)
        self.fault = fault
        self._last_probe = time.monotonic()

    def _committed(self) -> None:
        if self.fault is not None:
            log.warning("writer: the database is back (it was: %s)", self.fault)
        self.fault = None

    def probe_due_in(self) -> float | None:
        """Seconds until the next probe of a faulted database; None when there is no fault."""
        if self.fault is None:
            return None
        return max(0.0, self._last_probe + PROBE_EVERY - time.monotonic())

    def probe(self) -> None:
        """While faulted: whether a write would go through now (the fault ends when it would)."""
        due_in = self.probe_due_in()
        if due_in is None or due_in > 0:
            return
        try:
            self.db.probe_write()
        except Exception as exc:  # noqa: BLE001 - the fault goes on (or changes)
            self._faulted(fault_of(exc) or f"{type(exc).__name__}: {exc}"[:200])
            return
        self._committed()

    def _lost_race(self, exc: BaseException, what: str) -> None:
        state = _sqlstate(exc) or "?"
        self.races[state] = self.races.get(state, 0) + 1
        metrics.RACES.labels(state).inc()
        log.warning("writer: %s lost a race to another instance (SQLSTATE %s) and runs again", what, state)

    def _lock_account(self, conn: Any, case: UseCase, locked: set[int | None]) -> None:
        if self._locks and case.account not in locked:
            lock_account(conn, case)
            locked.add(case.account)

    def run(self, batch: list[UseCase]) -> tuple[list[Outcome], list[UseCase]]:
        """The outcome of each use case that is settled, and the use cases to run again later."""
        started = time.perf_counter()
        for case in batch:
            metrics.QUEUE_SECONDS.observe(started - case.queued)
        metrics.BATCH_USE_CASES.observe(len(batch))
        try:
            outcomes, retry = self._run(batch)
        finally:
            took = time.perf_counter() - started
            self.seconds += took
            metrics.BATCH_SECONDS.observe(took)
            self._written_since_housekeeping = True
        for case in retry:
            case.queued = time.perf_counter()
        self.cases += len(outcomes)
        return outcomes, retry

    def _call(self, conn: Any, case: UseCase) -> Any:
        return call(conn, case, self.resources)

    def _run(self, batch: list[UseCase]) -> tuple[list[Outcome], list[UseCase]]:
        outcomes: list[Outcome] = []
        retry: list[UseCase] = []
        for group in self._transactions(batch):
            if len(group) > 1:
                together = self._run_together(group)
                if together is not None:
                    self.batches += 1
                    outcomes += together
                    continue
            for case in group:
                self._run_alone(case, outcomes, retry, first=len(group) == 1)
        return outcomes, retry

    def _transactions(self, batch: list[UseCase]) -> list[list[UseCase]]:
        """The batch's transactions, one after the other. SQLite: one (its one writer gains
        nothing from letting go of the lock between accounts; one commit for all is cheapest).
        PostgreSQL: one per account, so that a writer holds one account's lock at a time and the
        other writers (server processes, instances) write other accounts meanwhile."""
        if not self._locks:
            return [batch]
        groups: dict[int | None, list[UseCase]] = {}
        for case in batch:
            groups.setdefault(case.account, []).append(case)
        return list(groups.values())

    def _run_together(self, batch: list[UseCase]) -> list[Outcome] | None:
        """Every use case of the batch in one transaction, each inside a savepoint: one that
        refuses (a domain error, e.g. a 422) is undone alone and the others are committed. Any
        other failure (a deadlock, a broken connection) rolls the whole batch back: None, and each
        use case runs again on its own. A COMMIT that failed: each is answered CommitUnknown."""
        try:
            with self.db.transaction() as conn:
                points = UseCasePoints(conn)
                outcomes: list[Outcome] = []
                locked: set[int | None] = set()
                for case in batch:
                    self._lock_account(conn, case, locked)  # outside the savepoint: held to the commit
                    points.begin()
                    try:
                        value = self._call(conn, case)
                    except DomainError as exc:
                        points.undo()
                        outcomes.append((case, False, exc))
                    else:
                        outcomes.append((case, True, value))
                    points.end()
            self._committed()
            return outcomes
        except CommitUnknown as exc:  # committed or not: none of them is run again
            self._faulted(exc.reason)
            return [(case, False, exc) for case in batch]
        except Exception as exc:  # noqa: BLE001 - each use case is run again on its own
            fault = fault_of(exc)
            if fault is not None:
                self._faulted(fault)  # rolled back: run again, on a new connection
            elif _retryable(exc):
                self._lost_race(exc, f"a batch of {len(batch)} use cases")
            return None

    def _run_alone(self, case: UseCase, outcomes: list[Outcome], retry: list[UseCase], *, first: bool) -> None:
        """The use case in a transaction of its own. `first`: no batch ran it before, so a lost
        connection is tried once more here."""
        for again in (not first, True):
            self.batches += 1
            try:
                with self.db.transaction() as conn:
                    self._lock_account(conn, case, set())
                    value = self._call(conn, case)
                self._committed()
                outcomes.append((case, True, value))
            except CommitUnknown as exc:
                self._faulted(exc.reason)
                outcomes.append((case, False, exc))
            except Exception as exc:  # noqa: BLE001 - handed to the caller (or retried)
                fault = fault_of(exc)
                if fault is not None:
                    self._faulted(fault)
                    if fault == LOST and not again:
                        continue  # once more, on a new connection
                    outcomes.append((case, False, unavailable(fault)))
                elif _retryable(exc) and case.retries < MAX_RETRIES:
                    self._lost_race(exc, f"use case {getattr(case.fn, '__name__', case.fn)}")
                    case.retries += 1
                    retry.append(case)
                else:
                    outcomes.append((case, False, exc))
            return

    def housekeeping_due_in(self) -> float | None:
        """Seconds until housekeeping is due; None when nothing was written since the last."""
        if not self._written_since_housekeeping:
            return None
        return max(0.0, self._last_housekeeping + HOUSEKEEPING_EVERY - time.monotonic())

    def housekeep(self, *, due_only: bool) -> None:
        """Fold the count changes when due; while the database is faulted, probe it instead."""
        if self.fault is not None:
            self.probe()
            return
        due_in = self.housekeeping_due_in()
        if due_in is None or (due_only and due_in > 0):
            return
        self._last_housekeeping = time.monotonic()
        try:
            with self.db.transaction() as conn:
                fold_count_changes(conn)
            self._written_since_housekeeping = False
            self._committed()
        except Exception as exc:  # noqa: BLE001 - tried again after the next batch
            fault = fault_of(exc)
            if fault is not None:
                self._faulted(fault)
            else:
                log.exception("writer housekeeping failed")

    def wait_at_most(self, idle: float) -> float:
        """How long the writer may wait for use cases before it has something of its own to do
        (housekeeping, a probe): at most `idle`."""
        due = [d for d in (self.housekeeping_due_in(), self.probe_due_in()) if d is not None]
        return min([idle, *due])
