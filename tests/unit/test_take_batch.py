"""How a writer shares a batch between accounts (writes/batches.take_batch): turns of one use
case per account, each account's in the order they arrived, a cost budget per batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ixserver.writes.batches import take_batch
from ixserver.writes.use_cases import UseCase, cost_of, of_account, of_no_account


@of_account
def use_case(conn: Any, account_id: int, n: int, document: Any = None) -> None:
    """An account's use case."""


@of_no_account
def no_account(conn: Any, n: int) -> None:
    """A use case of no single account (a job's claim)."""


@dataclass
class Document:
    lines: list[int]


def jobs(account: int, count: int, start: int = 0) -> list[UseCase]:
    return [UseCase(use_case, (account, n)) for n in range(start, start + count)]


def named(batch: list[UseCase]) -> list[tuple[Any, ...]]:
    return [job.args[:2] for job in batch]


def test_one_account_alone_has_the_whole_batch_in_order() -> None:
    pending = jobs(1, 100)
    batch, rest = take_batch(pending, 64, 256)
    assert named(batch) == [(1, n) for n in range(64)]
    assert named(rest) == [(1, n) for n in range(64, 100)]


def test_accounts_take_turns_and_each_keeps_its_order() -> None:
    pending = jobs(1, 40) + jobs(2, 3) + jobs(3, 10)
    batch, rest = take_batch(pending, 12, 256)
    assert named(batch) == [
        (1, 0),
        (2, 0),
        (3, 0),
        (1, 1),
        (2, 1),
        (3, 1),
        (1, 2),
        (2, 2),
        (3, 2),
        (1, 3),
        (3, 3),
        (1, 4),
    ]
    assert named(rest) == [(1, n) for n in range(5, 40)] + [(3, n) for n in range(4, 10)], "in the order they arrived"
    assert len(batch) + len(rest) == len(pending)


def test_a_use_case_of_no_account_takes_turns_as_one() -> None:
    pending = jobs(1, 5) + [UseCase(no_account, (0,)), UseCase(no_account, (1,))]
    batch, _rest = take_batch(pending, 4, 256)
    assert named(batch) == [(1, 0), (0,), (1, 1), (1,)]


def test_a_large_document_goes_in_a_batch_after_the_small_use_cases_waiting() -> None:
    large = UseCase(use_case, (1, 1, Document(list(range(1000)))))
    assert cost_of(large) == 1001 and cost_of(jobs(1, 1)[0]) == 1
    pending = jobs(1, 1) + [large] + jobs(1, 3, start=2) + jobs(2, 5)
    batch, rest = take_batch(pending, 64, 256)
    assert named(batch) == [(1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4)], "account 1 waits behind its large one"
    assert rest[0] is large and named(rest[1:]) == [(1, 2), (1, 3), (1, 4)]
    batch, rest = take_batch(rest, 64, 256)
    assert batch == [large], "the oldest use case is always taken: alone when it is over the budget"
    batch, rest = take_batch(rest, 64, 256)
    assert named(batch) == [(1, 2), (1, 3), (1, 4)] and rest == []


def test_the_cost_budget_bounds_a_batch_of_middling_documents() -> None:
    pending = [UseCase(use_case, (account, n, Document(list(range(99))))) for n in range(3) for account in (1, 2)]
    batch, rest = take_batch(pending, 64, 256)
    assert named(batch) == [(1, 0), (2, 0)], "100 + 100 fit in 256, a third does not"
    assert len(rest) == 4
