"""A use case handed to a writer (`UseCase`), and the account it is a use case of: what every writer
takes the lock of before running it (see writes/batches.py). Kept apart from the batches so that
the CLI's writes (writes/direct.py) take the same lock without loading the writer's metrics."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ixserver import clock
from ixserver.store.accounts import lock_account_writes
from ixserver.store.clocks import offset_of


@dataclass(slots=True)
class UseCase:
    """One use case: `fn(conn, *args)`, or `fn(conn, resources, *args)` when `with_resources`.
    `reply` is whatever its writer needs to answer it."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    with_resources: bool = False
    reply: Any = None
    retries: int = 0
    queued: float = field(default_factory=time.perf_counter)  # when it was handed to this writer


@lru_cache(maxsize=1024)
def _account_parameter(fn: Callable[..., Any], with_resources: bool) -> bool:
    """Whether the use case is an account's: `fn(conn, account_id, …)` or
    `fn(conn, resources, account_id, …)`."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    position = 2 if with_resources else 1
    return len(names) > position and names[position] == "account_id"


def account_of(case: UseCase) -> int | None:
    """The account whose use case this is; None for one of no single account."""
    if case.args and isinstance(case.args[0], int) and _account_parameter(case.fn, case.with_resources):
        return case.args[0]
    return None


def cost_of(case: UseCase) -> int:
    """What a use case costs the writer, in lines of documents: 1, and 1 more for each line of a
    document it carries (a `DocumentInput`'s `lines`), so that a 1,000-line document is told
    apart from the small use cases it would hold up (`batches.take_batch`)."""
    cost = 1
    for arg in case.args:
        lines = getattr(arg, "lines", None)
        if isinstance(lines, list):
            cost += len(lines)
    return cost


def lock_account(conn: Any, case: UseCase) -> int | None:
    """Take the lock of the case's account, if it is an account's use case; the account, or None.
    Every writer does this before an account's use case (`Batches`, and `DirectWrites` for the
    CLI): on PostgreSQL it also moves the account's version on, which the read caches of every
    instance compare."""
    account = account_of(case)
    if account is not None:
        lock_account_writes(conn, account)
    return account


def call(conn: Any, case: UseCase, resources: Any) -> Any:
    """Run the use case on `conn`; an account's in the account's time (its clock's offset, read
    in the same transaction: a change of the clock is seen by the next use case, whichever
    process writes it)."""
    account = account_of(case)
    offset = offset_of(conn, account) if account is not None else None
    if offset is None:
        return case.fn(conn, resources, *case.args) if case.with_resources else case.fn(conn, *case.args)
    with clock.shifted(offset):
        return case.fn(conn, resources, *case.args) if case.with_resources else case.fn(conn, *case.args)
