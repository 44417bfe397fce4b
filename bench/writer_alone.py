"""The writer's own cost per use case, without HTTP (`.venv/bin/python bench/writer_alone.py`).

Creates and finalizes documents through `Writer` and the services directly, in batches of 32
(as the HTTP bench's connections produce them), on a fresh SQLite file, and prints the time the
writer spends per use case. Compared with the same figure under HTTP load, it shows how much the
event loop's share of the interpreter lock slows the one serial part of writing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from ixserver.api.context import AppContext  # noqa: E402
from ixserver.api.documents import parse_document  # noqa: E402
from ixserver.config import Settings  # noqa: E402
from ixserver.domain.doctypes import BY_KEY  # noqa: E402
from ixserver.services import documents as service  # noqa: E402
from ixserver.services.accounts import create_account  # noqa: E402
from ixserver.store.migrate import upgrade  # noqa: E402
from run import DOCUMENT  # noqa: E402

BATCH, ROUNDS = 32, 60


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ixwriter-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ix.db'}"
        upgrade(url)
        ctx = AppContext.build(Settings(database_url=url, data_dir=Path(tmp), public_url="http://x", rate_limit=0))
        ctx.start()
        try:
            account, _key = ctx.db.run_sync(create_account, "bench")
            body: dict[str, Any] = {"invoice": {**DOCUMENT["invoice"], "date": date.today().strftime("%d/%m/%Y")}}
            kind, writer = BY_KEY["invoice"], ctx.writer

            async def rounds() -> None:
                for _ in range(ROUNDS):
                    drafts = await asyncio.gather(
                        *(writer.run(service.create_document, account.id, kind.key, parse_document(body, kind))
                          for _ in range(BATCH))
                    )  # fmt: skip
                    await asyncio.gather(
                        *(writer.run(service.change_state, account.id, kind.key, d.id, "finalized", None, ctx.signer)
                          for d in drafts)
                    )  # fmt: skip

            asyncio.run(rounds())
        finally:
            ctx.stop()
    per_job = writer.seconds / writer.jobs * 1e6
    print(f"writer alone: {per_job:.0f} us per use case ({writer.jobs} jobs in batches of up to {BATCH});"
          f" {1e6 / (2 * per_job):.0f} documents/s if writing were all there is")  # fmt: skip


if __name__ == "__main__":
    main()
