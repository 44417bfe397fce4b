"""`Writes` without a writer: each use case in a transaction of its own, in the calling thread.
The CLI's path (one command, one process) and the tests' way of preparing data; a server
process uses a writer (writes_for)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.writes.use_cases import UseCase, call, lock_account

T = TypeVar("T")


class DirectWrites:
    def __init__(self, db: Database, resources: Resources | None = None) -> None:
        self.db = db
        self.resources = resources
        self.use_cases = 0

    async def open(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop: every use case was committed before it returned."""

    def _run(self, case: UseCase) -> Any:
        with self.db.transaction() as conn:
            lock_account(conn, case)  # as every writer does: the account's lock, and its version moved on
            value = call(conn, case, self.resources)
        self.use_cases += 1
        return value

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self._run(UseCase(fn, args))

    def run_sync_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        if self.resources is None:
            raise RuntimeError("these writes were given no resources")
        return self._run(UseCase(fn, args, with_resources=True))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return self.run_sync(fn, *args)

    async def run_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        return self.run_sync_with_resources(fn, *args)

    async def ready(self) -> bool:
        return True

    async def fault(self) -> str | None:
        return None  # each use case meets the database's fault itself

    async def stats(self) -> dict[str, Any]:
        return {"batches": self.use_cases, "use_cases": self.use_cases, "seconds": 0.0}
