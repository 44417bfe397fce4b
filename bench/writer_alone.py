"""The writer's own cost per use case, without HTTP (`.venv/bin/python bench/writer_alone.py`).

Creates and finalizes documents through a writer thread (ixserver/writes/) and the services directly, in batches of 32
(as the HTTP bench's connections produce them), on a fresh SQLite file, and prints the time the
writer spends per use case. Compared with the same figure under HTTP load, it shows how much the
event loop's share of the interpreter lock slows the one serial part of writing. With
BENCH_DATABASE_URL=postgresql://…, the same on that (emptied) database: there the figure is
mostly the round trips of a use case, one after the other, with nothing else running.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from ixserver.api.documents import parse_document  # noqa: E402
from ixserver.app import build_context, start_context, stop_context  # noqa: E402
from ixserver.config import Settings  # noqa: E402
from ixserver.domain.doctypes import BY_KEY  # noqa: E402
from ixserver.services import documents as service  # noqa: E402
from ixserver.services.accounts import create_account  # noqa: E402
from ixserver.store.migrate import upgrade  # noqa: E402
from ixserver.writes.use_cases import of_no_account  # noqa: E402
from run import DOCUMENT, empty_postgres  # noqa: E402

BATCH, ROUNDS = 32, 60


@of_no_account
def _bench_account(conn: Any, resources: Any) -> Any:
    """A sandbox account: its first series registered, so that its documents may be issued."""
    return create_account(conn, "bench", resources)


def main() -> None:
    print("writer_alone: the writer's cost per use case, without HTTP", file=sys.stderr, flush=True)
    pg_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="ixwriter-") as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'ix.db'}", Path(tmp))
        if pg_url:
            empty_postgres(pg_url)
            measure("PostgreSQL", pg_url, Path(tmp))


def measure(label: str, url: str, tmp: Path) -> None:
    upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp, public_url="http://x", rate_limit=0, sandbox=True)
    ctx = build_context(settings)
    writes = ctx.writes  # a writer thread: no writer process without `serve`
    body: dict[str, Any] = {"invoice": {**DOCUMENT["invoice"], "date": date.today().strftime("%d/%m/%Y")}}
    kind = BY_KEY["invoice"]

    async def rounds() -> dict[str, Any]:
        await start_context(ctx)
        try:
            account, _key = await writes.run_with_resources(_bench_account)
            before = await writes.stats()
            for _ in range(ROUNDS):
                drafts = await asyncio.gather(
                    *(writes.run(service.create_document, account.id, kind.key, parse_document(body, kind))
                      for _ in range(BATCH))
                )  # fmt: skip
                await asyncio.gather(
                    *(writes.run_with_resources(service.change_state, account.id, kind.key, d.id, "finalized", None)
                      for d in drafts)
                )  # fmt: skip
            after = await writes.stats()
        finally:
            stop_context(ctx)
        return {k: after[k] - before[k] for k in ("seconds", "use_cases")}

    done = asyncio.run(rounds())
    per_job = done["seconds"] / done["use_cases"] * 1e6
    print(f"writer alone, {label}: {per_job:.0f} us per use case"
          f" ({done['use_cases']} jobs in batches of up to {BATCH});"
          f" {1e6 / (2 * per_job):.0f} documents/s if writing were all there is")  # fmt: skip


if __name__ == "__main__":
    main()
