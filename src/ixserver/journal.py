"""The seal journal: each account's latest seal head, kept outside the database.

The seal (domain/seal.py) makes every edit of a sealed document, event or head visible to
whoever has the key; but a database edited by someone with access to it alone can still lose its
tail: the last documents deleted with their events, the counter set back and the head rewound
leave a chain that verifies. So every process that writes appends, after each commit, the new
head of each account the transaction sealed something of (`account seq MAC what`, tab-separated)
to an append-only file of its data directory (mode 0600, IXSERVER_SEAL_JOURNAL), and `ixserver
verify` checks that the database's chain still holds the latest head the journal recorded. A
sandbox reset writes `account 0 - reset`: the account's chain starts again.

The journal is written after the commit and never fsynced: after a crash it may lack the last
heads (the database is then ahead of it, which is fine) but it never records a head that was not
committed. A write that fails (a full disk) is logged and does not fail the use case, which is
committed already. Several processes (`serve --workers N`, the CLI) append to the same file:
each line is one `write` of an `O_APPEND` descriptor. Several instances on one PostgreSQL
database each keep their own; `ixserver verify --journal` takes each of them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ixserver.config import Settings
from ixserver.store.db import Database, SealedHead
from ixserver.store.seal import RESET

log = logging.getLogger("ixserver.journal")

Entry = tuple[int, str, str]  # (event number, its MAC, what it seals)


class SealJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """The file exists (empty at first), so that a missing journal means a lost one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))

    def write(self, heads: list[SealedHead]) -> None:
        """Append what a committed transaction moved: per account, a reset if it had one, then
        its last head. Never raises: the transaction is committed already."""
        data = "".join(_line(head) for head in _latest(heads)).encode()
        try:
            with self._lock:
                if self._fd is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                os.write(self._fd, data)
        except OSError:
            log.exception("the seal journal %s could not be written: `ixserver verify` will find it behind", self.path)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def attach(db: Database, settings: Settings) -> SealJournal:
    """The journal of `settings`, told of every seal head `db`'s write transactions move."""
    journal = SealJournal(settings.resolved_seal_journal)
    db.on_sealed = journal.write
    return journal


def _latest(heads: list[SealedHead]) -> Iterable[SealedHead]:
    """Per account, in order: its last reset (if any) and its last head after it."""
    found: dict[int, list[SealedHead]] = {}
    for head in heads:
        kept = found.setdefault(head[0], [])
        if head[3] == RESET and head[1] == 0:
            kept[:] = [head]
        elif kept and kept[-1][3] != RESET:
            kept[-1] = head
        else:
            kept.append(head)
    for kept in found.values():
        yield from kept


def _line(head: SealedHead) -> str:
    account_id, seq, mac, what = head
    shown = " ".join(what.split()) or "-"  # one line, no tab
    return f"{account_id}\t{seq}\t{mac or '-'}\t{shown}\n"


@dataclass(frozen=True)
class Heads:
    """What a journal file recorded, per account: its heads since its last reset."""

    path: Path
    accounts: dict[int, list[Entry]]


def read(path: Path) -> Heads:
    """The journal at `path`. A line that does not parse (the end of a file cut by a crash) is
    skipped."""
    accounts: dict[int, list[Entry]] = {}
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or not line.endswith("\n") or not parts[0].isdigit() or not parts[1].isdigit():
                continue
            account_id, seq, mac, what = int(parts[0]), int(parts[1]), parts[2], parts[3]
            if seq == 0 and what == RESET:
                accounts[account_id] = []
            else:
                accounts.setdefault(account_id, []).append((seq, mac, what))
    return Heads(path, accounts)
