"""Use cases. Each write use case is a function `fn(conn, ...)` run in one transaction by the
caller's transactor (the server's Writer, or the CLI's direct transaction); reads take a read
connection. Services raise domain errors and know nothing about HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Transactor(Protocol):
    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in one write transaction and return its result once committed."""
        ...


def first_free(wanted: str, is_taken: Callable[[str], bool], separator: str = "") -> str:
    """`wanted`, or `wanted` + separator + 2, 3, … — the first that is not taken."""
    candidate, n = wanted, 1
    while is_taken(candidate):
        n += 1
        candidate = f"{wanted}{separator}{n}"
    return candidate
