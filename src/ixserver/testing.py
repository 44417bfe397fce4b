"""ixserver's pytest plugin (the `pytest11` entry point `ixserver`, loaded by pytest wherever
ixserver is installed): an integrator's tests get a real ixserver to talk to, as moto's server
mode or stripe-mock give theirs.

- `ixserver_server` (session): `ixserver serve` in sandbox mode on a free port of 127.0.0.1,
  over a fresh SQLite database in a temporary directory, with one account made for the session;
  stopped at the end of the session. Its fields: `url`, `data_dir`, `account`.
- `ixserver_account` (each test): that account, reset (`POST /_ixserver/reset`: no documents,
  clients, items, only its first series and taxes, as a new account): its `base_url`, `api_key`
  and `name`.

A real server process, not an app inside the test's process: it is the server integrators run,
their tests may use any client (of any thread, event loop or library), and nothing of the test
process (its logging, signals, environment) reaches it. With pytest-xdist, each worker has a
server of its own. docs/testing.md says how to use it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_SECONDS = 120.0  # a loaded machine (a CI runner) may take long to import and migrate
STOP_SECONDS = 30.0
ACCOUNT = "pytest"


@dataclass(frozen=True)
class Account:
    """An account of the server: where its API is, and its key (the API's `api_key`)."""

    base_url: str
    api_key: str
    name: str


@dataclass(frozen=True)
class Server:
    """A running `ixserver serve` of the session."""

    url: str
    data_dir: Path
    account: Account

    def reset(self) -> Account:
        """The session's account wiped back to a new account's state; the account."""
        request = urllib.request.Request(
            f"{self.url}/_ixserver/reset?api_key={self.account.api_key}", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read()) == {"reset": self.account.name}
        return self.account


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(data_dir: Path) -> dict[str, str]:
    """The server's settings: sandbox mode, a data directory of its own, no rate limits (a test
    suite is one busy client), warnings only; nothing of the test process's IXSERVER_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(
        IXSERVER_SANDBOX="1",
        IXSERVER_DATA_DIR=str(data_dir),
        IXSERVER_RATE_LIMIT="0",
        IXSERVER_PUBLIC_RATE_LIMIT="0",
        IXSERVER_PUBLIC_ADDRESS_RATE_LIMIT="0",
        IXSERVER_CONNECTIONS_PER_CLIENT="0",
        IXSERVER_ACCESS_LOG="0",
        IXSERVER_LOG_LEVEL="warning",
    )
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ixserver", *args]


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server answers its readiness check; its log in the error if it stops or is late."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_ixserver/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            said = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"ixserver did not start (exit code {process.poll()}); its output:\n{said}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def ixserver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ixserver serve` (sandbox) over a fresh database on a free port, for the whole session."""
    data_dir = tmp_path_factory.mktemp("ixserver")
    env = _environment(data_dir)
    made = subprocess.run(_command("accounts", "create", ACCOUNT), env=env, capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"ixserver accounts create failed: {made.stderr.strip()}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            _command("serve", "--host", "127.0.0.1", "--port", str(port)),
            env={**env, "IXSERVER_PUBLIC_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _ready(url, process, log)
        yield Server(url, data_dir, Account(url, made.stdout.strip(), ACCOUNT))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def ixserver_account(ixserver_server: Server) -> Account:
    """The session's account, reset for this test: its `base_url`, `api_key` and `name`."""
    return ixserver_server.reset()
