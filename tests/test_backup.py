"""Backup and restore as docs/operations.md's "Running in production" says (issue 15): a copy taken while
the server runs — SQLite's online backup, `pg_dump` — restored elsewhere holds every issued
document, and `ixserver verify` finds it clean (numbers, signatures, chains, seal)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.api.invoicing import credit_note_for, finalize, issue
from tests.support import TEST_SECRET_KEY, Api, admin_query, fresh_postgres_database, ixserver_command, live_server


def _activity(server) -> tuple[Api, int]:  # type: ignore[no-untyped-def]
    """An account's invoices, a credit note and a payment; the account, and how many documents it issued."""
    api = server.account()
    invoices = [issue(api) for _ in range(5)]
    finalize(api, "credit_note", credit_note_for(api, invoices[0], "0.5")["id"])
    paid = api.post(
        f"/documents/{invoices[1]['id']}/partial_payments.json",
        json={"partial_payment": {"amount": "1", "payment_mechanism": "MB"}},
    )
    assert paid.status_code == 200
    return api, 7


def _documents(url: str) -> int:
    return int(admin_query(url, "SELECT count(*) FROM documents WHERE number IS NOT NULL"))


def _verify(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=url, IXSERVER_DATA_DIR=str(data_dir), IXSERVER_SECRET_KEY=TEST_SECRET_KEY,
               IXSERVER_SANDBOX="1")  # the database's mode  # fmt: skip
    return ixserver_command(env, "verify", *args)


def _behind_the_live_journal(url: str, restored: Path, live: Path) -> None:
    """Checked against the journal of the server it came from, which went on issuing, the copy
    lacks what was issued since: a finding, not a clean bill."""
    behind = _verify(url, restored, "--journal", str(live / "seal.journal"))
    assert behind.returncode == 1 and "restored from an older backup" in behind.stdout, behind.stdout


def test_sqlite_online_backup_restores_and_verifies(tmp_path: Path) -> None:
    live = tmp_path / "ixserver.db"
    copy = tmp_path / "restored" / "ixserver.db"
    copy.parent.mkdir()
    with live_server(f"sqlite:///{live}", tmp_path, sandbox=True) as server:
        api, issued = _activity(server)
        # the commands of docs/operations.md, while the server runs (readers and the writer go on meanwhile):
        # the journal first, then the database
        shutil.copy(tmp_path / "seal.journal", copy.parent / "seal.journal")
        with sqlite3.connect(live) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        issue(api)  # the server goes on after the backup
    url = f"sqlite:///{copy}"
    assert _documents(url) == issued
    verified = _verify(url, copy.parent)
    assert verified.returncode == 0, verified.stdout
    _behind_the_live_journal(url, copy.parent, tmp_path)


@pytest.mark.postgres
def test_pg_dump_restores_and_verifies(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    with fresh_postgres_database() as live_url, fresh_postgres_database() as restored_url:
        restored = tmp_path / "restored"
        restored.mkdir()
        with live_server(live_url, tmp_path, sandbox=True) as server:
            api, issued = _activity(server)
            shutil.copy(tmp_path / "seal.journal", restored / "seal.journal")
            dump = tmp_path / "ixserver.dump"
            subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", live_url], check=True, timeout=120)
            issue(api)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)], check=True, timeout=120)
        assert _documents(restored_url) == issued
        verified = _verify(restored_url, restored)
        assert verified.returncode == 0, verified.stdout
        _behind_the_live_journal(restored_url, restored, tmp_path)
