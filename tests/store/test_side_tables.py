"""The side file's tables (store/db.create_side_tables) are made by whichever server process opens
it first, however many open it at once."""

from __future__ import annotations

import threading
from pathlib import Path

from ixserver.store.db import Database
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


def test_the_counts_of_the_parsing_budget_and_of_the_rate_limit_are_forgotten_apart(db: Database) -> None:
    """One table holds the requests per minute and the parsing budget's CPU per second (names
    `parse:…`): each forgets its own past windows, never the other's, on both databases."""
    counts = RateCounts(db.url)
    minute, second = 29_000_000, 1_740_000_000  # (minutes and seconds since the epoch, long past)
    counts.forget(second + 10, "parse")  # (what an earlier run left)
    counts.forget(minute + 1)
    try:
        names = [("parse:1", second), ("parse_1", second), ("1", minute), ("parse:1", second + 5)]
        counts.add(dict.fromkeys(names, 3))
        counts.forget(second + 1, "parse:")
        counts.forget(minute)  # the rate limit's, as its flusher does: nothing older than its minute
        assert counts.add(dict.fromkeys(names, 0)) == {names[0]: 0, names[1]: 3, names[2]: 3, names[3]: 3}
        counts.forget(minute + 1)
        assert counts.add(dict.fromkeys(names, 0)) == {names[0]: 0, names[1]: 3, names[2]: 0, names[3]: 3}
    finally:
        counts.forget(second + 10, "parse")
        counts.dispose()
