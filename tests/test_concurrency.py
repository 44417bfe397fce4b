"""Four server processes on one database finalize 600 documents of one series at once, 32 at a
time, each on another server than the one that created it: the numbers are exactly 1..600 and
`ixserver verify` finds nothing wrong."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.invoicing import body
from tests.support import (
    TEST_SECRET_KEY,
    admin_query,
    data_file,
    free_port,
    fresh_database,
    ixserver_command,
    wait_ready,
)

SERVERS = 4
DOCUMENTS = 600  # 32 at once over four servers: every batch of every writer races the others
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


class Four:
    """Four `ixserver serve` processes on one fresh database, shared by this module's tests of a
    backend (each test an account of its own): starting four servers costs more than a test."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.env = _env(url, data_dir)
        self.bases: list[str] = []

    def account(self, name: str) -> str:
        made = ixserver_command(self.env, "accounts", "create", name)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def verify(self) -> subprocess.CompletedProcess[str]:
        return ixserver_command(self.env, "verify")


@pytest.fixture(scope="module")
def four(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Four]:
    data_dir = tmp_path_factory.mktemp(f"four-{backend}")
    with fresh_database(backend, data_dir) as url:
        servers = Four(url, data_dir)
        servers.account("first")  # migrations and keys made before the four start at once
        ports = [free_port() for _ in range(SERVERS)]
        procs = [
            subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=servers.env)
            for port in ports
        ]
        servers.bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base in servers.bases:
                wait_ready(base)
            yield servers
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

        drafts = await asyncio.gather(
            *(call(n, "POST", "/invoices.json", {"invoice": body()}) for n in range(DOCUMENTS))
        )
        assert all(d.status_code == 201 for d in drafts), {
            (d.status_code, d.text[:200]) for d in drafts if d.status_code != 201
        }
        ids = [d.json()["invoice"]["id"] for d in drafts]
        # finalize each on a different server than the one that created it
        return await asyncio.gather(
            *(
                call(n + 1, "PUT", f"/invoices/{document_id}/change-state.json", {"invoice": {"state": "finalized"}})
                for n, document_id in enumerate(ids)
            )
        )


@pytest.mark.slow
def test_four_servers_finalize_six_hundred_documents(backend: str, four: Four) -> None:
    key = four.account("race")
    started = time.monotonic()
    finalized = asyncio.run(_run(four.bases, key))
    elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in finalized), {
        r.status_code: r.text for r in finalized if r.status_code != 200
    }
    numbers = sorted(int(r.json()["invoice"]["sequence_number"].split("/")[0]) for r in finalized)
    assert numbers == list(range(1, DOCUMENTS + 1))
    verified = four.verify()
    assert verified.returncode == 0, verified.stdout
    print(f"\n{SERVERS} servers, {DOCUMENTS} documents created and finalized on {backend}: {elapsed:.1f}s")


# -- issue 15: mixed series and types, credit notes and payments, racing over four instances ----

INVOICES = 60  # of each of two series; and as many simplified invoices and invoice-receipts between them


def _deadlocks(url: str) -> int:
    return int(admin_query(url, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


async def _mixed(bases: list[str], key: str) -> dict[str, list[httpx.Response]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CONCURRENCY)) as http:

        async def call(n: int, method: str, path: str, payload: dict | None = None) -> httpx.Response:
            async with gate:
                return await http.request(method, bases[n % SERVERS] + path, params={"api_key": key}, json=payload)

        created = await call(0, "POST", "/sequences.json", {"sequence": {"serie": "B"}})
        assert created.status_code == 201, created.text
        second = (
            created.json()["sequence"]["id"] if "sequence" in created.json() else created.json()["sequences"][0]["id"]
        )
        registered = await call(0, "PUT", f"/sequences/{second}/register.json")
        assert registered.status_code == 200 or "are registered" in registered.text, (
            registered.text
        )  # sandbox: at creation
        default = next(
            s["id"] for s in (await call(0, "GET", "/sequences.json")).json()["sequences"] if s["serie"] != "B"
        )
        kinds = [
            ("invoice", default),
            ("invoice", second),
            ("simplified_invoice", default),
            ("invoice_receipt", second),
        ]
        plan = [kinds[n % len(kinds)] for n in range(2 * INVOICES * 2)]
        drafts = await asyncio.gather(
            *(
                call(n, "POST", f"/{kind}s.json", {kind: body(sequence_id=series)})
                for n, (kind, series) in enumerate(plan)
            )
        )
        assert all(d.status_code == 201 for d in drafts), {d.text[:200] for d in drafts if d.status_code != 201}
        issued = await asyncio.gather(
            *(
                call(n + 1, "PUT", f"/{kind}s/{d.json()[kind]['id']}/change-state.json", {kind: {"state": "finalized"}})
                for n, ((kind, _series), d) in enumerate(zip(plan, drafts, strict=True))
            )
        )
        assert all(r.status_code == 200 for r in issued), {r.text[:200] for r in issued if r.status_code != 200}
        invoices = [r.json()["invoice"] for r in issued if "invoice" in r.json()]

        async def credit(n: int, invoice: dict) -> httpx.Response:
            line = invoice["items"][0]
            buyer = {"name": invoice["client"]["name"], "code": invoice["client"]["code"]}
            note = body(owner_invoice_id=invoice["id"], client=buyer,
                        items=[{"name": line["name"], "description": "Refund", "unit_price": "1", "quantity": "0.01",
                                "tax": {"name": line["tax"]["name"]}}])  # fmt: skip
            made = await call(n, "POST", "/credit_notes.json", {"credit_note": note})
            assert made.status_code == 201, made.text
            return await call(n + 2, "PUT", f"/credit_notes/{made.json()['credit_note']['id']}/change-state.json",
                              {"credit_note": {"state": "finalized"}})  # fmt: skip

        def pay(n: int, invoice: dict, amount: str) -> Any:
            return call(n, "POST", f"/documents/{invoice['id']}/partial_payments.json",
                        {"partial_payment": {"amount": amount, "payment_mechanism": "MB"}})  # fmt: skip

        # on every invoice at once, each on another instance: a credit note, a payment of half, and
        # a payment of the rest (which one of the three comes last decides what the others may take)
        racing = []
        for n, invoice in enumerate(invoices):
            racing += [credit(n, invoice), pay(n + 1, invoice, "1.00"), pay(n + 3, invoice, "1.49")]
        settled = await asyncio.gather(*racing)
    return {
        "credits": list(settled[0::3]),
        "payments": list(settled[1::3]) + list(settled[2::3]),
        "issued": list(issued),
    }


@pytest.mark.slow
def test_four_servers_race_series_types_credits_and_payments_without_deadlocks(backend: str, four: Four) -> None:
    key = four.account("mixed")
    started = time.monotonic()
    results = asyncio.run(_mixed(four.bases, key))
    for name, answers in results.items():
        assert {r.status_code for r in answers} <= {200, 201, 422}, (
            name,
            {r.text[:200] for r in answers if r.status_code >= 500},
        )
    numbers: dict[str, list[int]] = {}
    for answer in results["issued"]:
        document = next(iter(answer.json().values()))
        number, serie = document["sequence_number"].split("/")
        numbers.setdefault(f"{document['type']} {serie}", []).append(int(number))
    assert {k: sorted(v) for k, v in numbers.items()} == {k: list(range(1, len(v) + 1)) for k, v in numbers.items()}
    assert len(numbers) == 4
    verified = four.verify()
    # receipts and credit notes gapless, nothing over-paid or over-credited
    assert verified.returncode == 0, verified.stdout
    if backend == "postgresql":
        assert _deadlocks(four.url) == 0, "the instances' batches deadlocked"
    took = time.monotonic() - started
    print(f"\n{SERVERS} servers, mixed series, types, credit notes and payments on {backend}: {took:.1f}s")
