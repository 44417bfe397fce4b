"""The one write path. Every write use case is a function `fn(conn, *args)` (or, when it needs
the process's resources, `fn(conn, resources, *args)`), marked with what it locks (`@of_account`,
`@of_no_account`: use_cases.py), run in one write transaction by a `Writes`, and answered only
once that transaction is committed.

- `batches.py`: the rules every writer follows: use cases run in batches (group commit), a
  batch that fails is run again one use case at a time, races lost to another PostgreSQL
  instance are retried, and the document counts are folded between batches (housekeeping).
- `thread.py`: a writer thread in this process (IXSERVER_WRITER_PROCESS=0, or an app made
  without `serve`'s writer process).
- `process.py` and `remote.py`: the one writer process of a server's processes, and each
  server process's connection to it; `crossing.py` is what crosses between them.
- `direct.py`: a transaction per use case, in the calling thread (the CLI, tests).
- `use_cases.py`: a use case as a writer holds it (`UseCase`), the marks, and the account's lock
  every writer takes before an account's use case.

`writes_for` picks the writer of a server process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # not imported with the package: a parser process imports `crossing` alone
    from ixserver.config import Settings
    from ixserver.resources import Resources
    from ixserver.store.db import Database

T = TypeVar("T")


class Writes(Protocol):
    """How write use cases are run."""

    async def open(self) -> None:
        """Be ready to run use cases (start the thread, connect to the writer process)."""
        ...

    def close(self) -> None:
        """Finish what was handed over, then stop."""
        ...

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` in a write transaction; its value once committed, or its error."""
        ...

    async def run_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        """The same for `fn(conn, resources, *args)`: the writer's own `Resources`."""
        ...

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """`run`, for a caller that is a plain thread."""
        ...

    def run_sync_with_resources(self, fn: Callable[..., T], *args: Any) -> T:
        """`run_with_resources`, for a caller that is a plain thread."""
        ...

    async def stats(self) -> dict[str, Any]:
        """Batches, use cases, and seconds spent running them."""
        ...

    async def ready(self) -> bool:
        """Whether a use case handed over now would be run (the health check)."""
        ...

    async def fault(self) -> str | None:
        """Why a use case handed over now would not be carried out (the writer away, the
        database's fault it met: "disk full", "read-only" …), or None (the health check)."""
        ...


def writes_for(settings: Settings, db: Database, resources: Resources, writer_socket: str | None) -> Writes:
    """A server process's writer: the writer process at `writer_socket`, else a thread."""
    if writer_socket is not None:
        from ixserver.writes.remote import RemoteWriter

        return RemoteWriter(writer_socket)
    from ixserver.writes.thread import WriterThread

    return WriterThread(db, resources, batch_max=settings.writer_batch_max, cost_max=settings.writer_batch_cost)
