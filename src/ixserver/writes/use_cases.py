"""A use case handed to a writer (`UseCase`), and what it locks: every function handed to the write
path says so with a mark, `@of_account` or `@of_no_account`, read when the use case is built.

- `@of_account`: the use case works on one account's rows (its documents, counters, seal, clients,
  the account's own row). Every writer takes that account's lock before running it (see
  writes/batches.py): on PostgreSQL its `account_versions` row, held to the commit and moved on,
  which the read caches of every instance compare. The account is the argument named `account_id`
  (or the parameter named by `@of_account(parameter=…)`).
- `@of_no_account`: the use case locks no account's rows: an account's creation (nobody else sees
  its rows before the commit), server-wide work (the signing key's registration, the job
  outbox's claims and heartbeats).

A function without either mark is refused where it is handed over (`NotAUseCase`, a programming
error; tests/test_use_cases.py checks every function the source hands to the write path). The mark
is one attribute of the function, read when its `UseCase` is built: no signature is looked at per
use case.

Kept apart from the batches so that the CLI's writes (writes/direct.py) take the same lock without
loading the writer's metrics.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any, TypeVar, overload

from ixserver import clock
from ixserver.store.accounts import lock_account_writes
from ixserver.store.clocks import offset_of

F = TypeVar("F", bound=Callable[..., Any])

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class NotAUseCase(TypeError):
    """A function the write path cannot take: not marked `of_account` or `of_no_account`, or
    handed over without its account among its arguments. A programming error, refused where it is
    handed over (when its `UseCase` is built), before anything runs."""


@overload
def of_account(fn: F, /) -> F: ...
@overload
def of_account(*, parameter: str = "account_id") -> Callable[[F], F]: ...
def of_account(fn: Any = None, /, *, parameter: str = "account_id") -> Any:
    """Mark `fn(conn, …)` as a use case of the account given as its argument `parameter`: the
    writer takes that account's lock before running it."""

    def mark(fn: F) -> F:
        names = [p.name for p in inspect.signature(fn).parameters.values() if p.kind in _POSITIONAL]
        if parameter not in names[1:]:
            raise NotAUseCase(f"{fn.__qualname__} is marked of_account but takes no positional {parameter!r}")
        fn.__use_case_account__ = names.index(parameter) - 1  # type: ignore[attr-defined] # its place after conn
        return fn

    return mark if fn is None else mark(fn)


def of_no_account(fn: F, /) -> F:
    """Mark `fn(conn, …)` as a use case that locks no account's rows."""
    if "account_id" in inspect.signature(fn).parameters:
        raise NotAUseCase(f"{fn.__qualname__} takes an account_id: mark it of_account")
    fn.__use_case_account__ = None  # type: ignore[attr-defined]
    return fn


@dataclass(slots=True, init=False)
class UseCase:
    """One use case: `fn(conn, *args)`, or `fn(conn, resources, *args)` when `with_resources`.
    `account` is the account whose lock it takes, as `fn`'s mark says: its argument, or None for a
    use case of no account. `reply` is whatever its writer needs to answer it."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    with_resources: bool
    reply: Any
    retries: int
    queued: float  # when it was handed to this writer
    account: int | None

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], with_resources: bool = False, reply: Any = None
    ) -> None:
        self.fn = fn
        self.args = args
        self.with_resources = with_resources
        self.reply = reply
        self.retries = 0
        self.queued = perf_counter()
        try:
            index = fn.__use_case_account__  # type: ignore[attr-defined] # the mark: one attribute read, no signature
        except AttributeError:
            raise NotAUseCase(
                f"{getattr(fn, '__qualname__', fn)} is handed to the write path without a mark:"
                " decorate it with @of_account or @of_no_account (ixserver.writes.use_cases)"
            ) from None
        account = None
        if index is not None:
            index -= with_resources
            if 0 <= index < len(args):
                account = args[index]
            if type(account) is not int:
                raise NotAUseCase(f"{fn.__qualname__} is a use case of an account: its account must be an argument")
        self.account = account


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
    if case.account is not None:
        lock_account_writes(conn, case.account)
    return case.account


def call(conn: Any, case: UseCase, resources: Any) -> Any:
    """Run the use case on `conn`; an account's in the account's time when accounts have clocks
    (sandbox: its clock's offset, read in the same transaction, so a change of the clock is seen
    by the next use case, whichever process writes it; in production, the server's time and no
    read)."""
    account = case.account
    clocks = resources is not None and resources.account_clocks
    offset = offset_of(conn, account) if account is not None and clocks else None
    if offset is None:
        return case.fn(conn, resources, *case.args) if case.with_resources else case.fn(conn, *case.args)
    with clock.shifted(offset):
        return case.fn(conn, resources, *case.args) if case.with_resources else case.fn(conn, *case.args)
