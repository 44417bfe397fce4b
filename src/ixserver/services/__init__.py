"""Use cases. Each write use case is a function `fn(conn, ...)` (or `fn(conn, resources, ...)`)
that the write path (ixserver/writes/) runs in one transaction; reads take a read connection.
A use case that must call AT is an `async` function over `Writes`: short writes around the
call, never a transaction open while AT answers. Services raise domain errors and know nothing
about HTTP."""

from __future__ import annotations

from collections.abc import Callable


def first_free(wanted: str, is_taken: Callable[[str], bool], separator: str = "") -> str:
    """`wanted`, or `wanted` + separator + 2, 3, … — the first that is not taken."""
    candidate, n = wanted, 1
    while is_taken(candidate):
        n += 1
        candidate = f"{wanted}{separator}{n}"
    return candidate
