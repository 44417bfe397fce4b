"""Four server processes on one database finalize 2,000 documents of one series at once:
the numbers are exactly 1..2,000 and `ixserver verify` finds nothing wrong."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.invoicing import body
from tests.support import TEST_SECRET_KEY, data_file, free_port, fresh_database

SERVERS = 4
DOCUMENTS = 2000
CONCURRENCY = 32


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(
        IXSERVER_DATABASE_URL=url,
        IXSERVER_DATA_DIR=str(data_dir),
        IXSERVER_RATE_LIMIT="0",
        IXSERVER_SANDBOX="1",  # the account's first series registered: it may issue at once
        IXSERVER_ACCESS_LOG="0",
        IXSERVER_LOG_LEVEL="warning",
        IXSERVER_SIGNING_KEY_FILE=str(data_file("at-sample-keys/at-sample-private-key.pem")),
        IXSERVER_SECRET_KEY=TEST_SECRET_KEY,
    )
    return env


@contextmanager
def servers(url: str, data_dir: Path) -> Iterator[tuple[list[str], str]]:
    env = _env(url, data_dir)
    key = subprocess.run(
        [sys.executable, "-m", "ixserver", "accounts", "create", "race"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    ports = [free_port() for _ in range(SERVERS)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env)
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for base in bases:
            while True:
                try:
                    if httpx.get(base + "/_ixserver/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "servers did not start"
                time.sleep(0.05)
        yield bases, key
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)


async def _run(bases: list[str], key: str) -> list[httpx.Response]:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CONCURRENCY)) as http:

        async def call(n: int, method: str, path: str, payload: dict) -> httpx.Response:
            async with gate:
                return await http.request(method, bases[n % SERVERS] + path, params={"api_key": key}, json=payload)

        drafts = await asyncio.gather(*(call(n, "POST", "/invoices.json", {"invoice": body()}) for n in range(DOCUMENTS)))
        assert all(d.status_code == 201 for d in drafts), {(d.status_code, d.text[:200]) for d in drafts if d.status_code != 201}
        ids = [d.json()["invoice"]["id"] for d in drafts]
        # finalize each on a different server than the one that created it
        return await asyncio.gather(
            *(
                call(n + 1, "PUT", f"/invoices/{document_id}/change-state.json", {"invoice": {"state": "finalized"}})
                for n, document_id in enumerate(ids)
            )
        )


@pytest.mark.slow
def test_four_servers_finalize_two_thousand_documents(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, servers(url, tmp_path) as (bases, key):
        started = time.monotonic()
        finalized = asyncio.run(_run(bases, key))
        elapsed = time.monotonic() - started
        assert all(r.status_code == 200 for r in finalized), {r.status_code: r.text for r in finalized if r.status_code != 200}
        numbers = sorted(int(r.json()["invoice"]["sequence_number"].split("/")[0]) for r in finalized)
        assert numbers == list(range(1, DOCUMENTS + 1))
        verified = subprocess.run(
            [sys.executable, "-m", "ixserver", "verify"], env=_env(url, tmp_path), capture_output=True, text=True
        )
        assert verified.returncode == 0, verified.stdout
        print(f"\n{SERVERS} servers, {DOCUMENTS} documents created and finalized on {backend}: {elapsed:.1f}s")
