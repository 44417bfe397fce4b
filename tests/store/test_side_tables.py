"""The side file's tables (store/db.create_side_tables) are made by whichever server process opens
it first, however many open it at once."""

from __future__ import annotations

import threading
from pathlib import Path

from ixserver.store.rate_counts import RateCounts
from ixserver.store.sandbox_state import SandboxState


def _open_together(url: str, makers: list[type]) -> list[Exception]:
    start, failed = threading.Barrier(len(makers)), []

    def open_it(make: type) -> None:
        start.wait()
        try:
            make(url).engine.dispose()
        except Exception as exc:  # noqa: BLE001 - what the test reports
            failed.append(exc)

    threads = [threading.Thread(target=open_it, args=(make,)) for make in makers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


def test_processes_starting_together_all_open_the_side_file(tmp_path: Path) -> None:
    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'ix{attempt}.db'}"
        assert _open_together(url, [SandboxState, RateCounts] * 4) == []
