"""The mode is the database's (issue 25 item 3): a database keeps the mode it was made in, and a
server or command started with the other mode refuses it with one line saying how to proceed
(the case that made this: `ixserver accounts create` beside `make run`, without
IXSERVER_SANDBOX=1, made a production account whose every finalization was refused). Over the
CLI and over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ixserver.app import build_context, start_context, stop_context
from ixserver.config import Settings
from ixserver.services.accounts import create_account
from ixserver.services.modes import ModeMismatch
from ixserver.store.db import Database, admin_engine
from ixserver.store.migrate import upgrade
from ixserver.writes.direct import DirectWrites
from ixserver.writes.use_cases import of_no_account
from tests.api.invoicing import issue
from tests.support import TEST_SECRET_KEY, Api, free_port, fresh_database, live_server, resources_for_tests, write
from tests.test_cli import ixserver

SANDBOX_REFUSAL = (
    "error: this database was made in sandbox mode; start with IXSERVER_SANDBOX=1, or use another database"
    " (IXSERVER_DATABASE_URL, IXSERVER_DATA_DIR)\n"
)
PRODUCTION_REFUSAL = (
    "error: this database was made in production mode; start without IXSERVER_SANDBOX (or with IXSERVER_SANDBOX=0),"
    " or use another database (IXSERVER_DATABASE_URL, IXSERVER_DATA_DIR)\n"
)


def recorded(url: str) -> tuple[str, str] | None:
    engine = admin_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT mode, how FROM database_mode")).first()
    finally:
        engine.dispose()
    return (str(row[0]), str(row[1])) if row else None


def accounts_of(url: str) -> list[str]:
    engine = admin_engine(url)
    try:
        with engine.connect() as conn:
            return [str(n) for n in conn.execute(text("SELECT name FROM accounts ORDER BY id")).scalars()]
    finally:
        engine.dispose()


def test_accounts_create_beside_a_sandbox_server_is_refused_without_the_sandbox(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, live_server(url, tmp_path, sandbox=True) as server:
        assert recorded(url) == ("sandbox", "made"), "the first server to open it recorded its mode"
        refused = ixserver("accounts", "create", "shop", data_dir=tmp_path, url=url)
        assert (refused.returncode, refused.stdout, refused.stderr) == (1, "", SANDBOX_REFUSAL)
        assert accounts_of(url) == [], "nothing made"
        for command in (("migrate",), ("verify",), ("accounts", "list"), ("worker",)):
            other = ixserver(*command, data_dir=tmp_path, url=url)
            assert (other.returncode, other.stdout, other.stderr) == (1, "", SANDBOX_REFUSAL), command
        # as the message says: with the sandbox's mode, the account is a sandbox one, ready to issue
        made = ixserver("accounts", "create", "shop", data_dir=tmp_path, url=url, sandbox=True)
        assert made.returncode == 0, made.stderr
        issued = issue(Api(server.url, made.stdout.strip(), "shop"))
        assert issued["status"] == "final" and issued["atcud"] != "N/D"


def test_a_production_database_refuses_sandbox_commands_and_servers(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        made = ixserver("accounts", "create", "shop", data_dir=tmp_path, url=url)
        assert made.returncode == 0, made.stderr
        assert recorded(url) == ("production", "made")
        refused = ixserver("accounts", "create", "play", data_dir=tmp_path, url=url, sandbox=True)
        assert (refused.returncode, refused.stdout, refused.stderr) == (1, "", PRODUCTION_REFUSAL)
        assert accounts_of(url) == ["shop"]
        # a server of the other mode does not start (its app, as the tests' servers start it) ...
        settings = Settings(database_url=url, data_dir=tmp_path, sandbox=True, secret_key=TEST_SECRET_KEY)
        ctx = build_context(settings)
        try:
            with pytest.raises(ModeMismatch, match="made in production mode"):
                asyncio.run(start_context(ctx))
            assert not ctx.ready
        finally:
            stop_context(ctx)
        # ... nor does `ixserver serve`: the same line, before it listens
        env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
        env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_DATABASE_URL=url, IXSERVER_SANDBOX="1",
                   IXSERVER_SECRET_KEY=TEST_SECRET_KEY)  # fmt: skip
        port = free_port()
        serve = subprocess.run([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert serve.returncode == 1 and serve.stderr.endswith(PRODUCTION_REFUSAL), serve.stderr
        assert serve.stdout.startswith("ixserver ") and "sandbox mode" in serve.stdout.splitlines()[0]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/_ixserver/health")
        # its own mode serves it: no control API there
        with live_server(url, tmp_path / "production") as server:
            api = server.account()
            assert api.post("/_ixserver/reset").status_code == 404


def test_two_first_openers_of_different_modes_one_wins(backend: str, tmp_path: Path) -> None:
    """Whoever records first decides; the other is refused (a row of its own, id 1)."""
    from ixserver.services.modes import settle

    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        db = Database(url)
        run_sync = DirectWrites(db).run_sync
        try:
            assert settle(db, sandbox=False, run_sync=run_sync) is None
            assert settle(db, sandbox=False, run_sync=run_sync) is None, "the same mode again: nothing to say"
            with pytest.raises(ModeMismatch, match="made in production mode"):
                settle(db, sandbox=True, run_sync=run_sync)
            with db.transaction() as conn, pytest.raises(Exception, match="(?i)unique|primary|duplicate|check"):
                conn.execute(
                    text(
                        "INSERT INTO database_mode (id, mode, recorded_at, how)"
                        " VALUES (2, 'sandbox', '2026-01-01 00:00:00+00', 'x')"
                    )
                )
        finally:
            db.dispose()


@pytest.mark.parametrize(
    ("training", "opener", "expected", "how"),
    [
        (True, "sandbox", "sandbox", "it holds training series"),
        (True, "production", "sandbox", "it holds training series"),  # refused: its series are training ones
        (False, "sandbox", "sandbox", "the mode of the first server or command"),
        (False, "production", "production", "the mode of the first server or command"),
    ],
)
def test_a_database_made_before_the_mode_was_kept(
    backend: str, tmp_path: Path, training: bool, opener: str, expected: str, how: str
) -> None:
    """Migration 0024 finds accounts and no mode: training series make it a sandbox database;
    without them it takes the mode of the first server or command, which says so."""
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "0023")
        db = Database(url)
        try:  # an account as the sandbox made them (a training series), or one not registered
            write(db, of_no_account(lambda conn: create_account(conn, "old", resources_for_tests(), register=training)))
        finally:
            db.dispose()
        result = ixserver("accounts", "list", data_dir=tmp_path, url=url, sandbox=opener == "sandbox")
        mode, said = recorded(url) or ("", "")
        assert mode == expected and how in said
        if opener == expected:
            assert result.returncode == 0 and result.stdout.split("\t")[1] == "old"
            assert result.stderr == f"note: this database now keeps its mode, {expected} ({said})\n"
        else:
            assert (result.returncode, result.stderr) == (1, SANDBOX_REFUSAL)
        again = ixserver("accounts", "list", data_dir=tmp_path, url=url, sandbox=expected == "sandbox")
        assert again.returncode == 0 and again.stderr == "", "said once"
