"""The cluster a user can start (issue 15): deploy/cluster.py — two instances on one PostgreSQL
database behind HAProxy — serves a real client (PyPI `invoicexpress-api`), and one instance
SIGKILLed under load loses nothing acknowledged: every document the client was told is issued is
there with its number, the numbers have no gap, and `ixserver verify` is clean."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from invoicexpress_api import invoices as ix_invoices
from invoicexpress_api.core import Client as IXClient
from invoicexpress_api.invoices import States, Types
from prometheus_client.parser import text_string_to_metric_families

from tests.api.invoicing import today
from tests.support import PG_ENV, free_port, fresh_postgres_database, ixserver_command, wait_ready

CLUSTER = Path(__file__).parents[1] / "deploy" / "cluster.py"
DOCUMENTS = 120
KILL_AFTER = 30
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(), reason="haproxy is not installed"
    ),
]


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=url, IXSERVER_DATA_DIR=str(data_dir), IXSERVER_SANDBOX="1",
               IXSERVER_RATE_LIMIT="0", IXSERVER_ACCESS_LOG="0", IXSERVER_LOG_LEVEL="warning")  # fmt: skip
    return env


def test_the_cluster_serves_a_real_client_and_survives_the_kill_of_an_instance(tmp_path: Path) -> None:
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set")
    with fresh_postgres_database() as url:
        env = _env(url, tmp_path)
        port = free_port()
        cluster = subprocess.Popen(
            [sys.executable, str(CLUSTER), "--database-url", url, "--instances", "2", "--port", str(port),
             "--data-dir", str(tmp_path)],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert cluster.stdout is not None
            ready = cluster.stdout.readline()
            assert ready.startswith(f"cluster: http://127.0.0.1:{port} -> 2 instances"), ready
            described = json.loads((tmp_path / "cluster.json").read_text())
            made = ixserver_command(env, "accounts", "create", "shop")
            assert made.returncode == 0, made.stderr
            key = made.stdout.strip()
            client = IXClient("shop", key)
            client.base_url = described["url"] + "/"
            acknowledged, failures = _load(client, described["instances"])
        finally:
            cluster.send_signal(signal.SIGTERM)
            cluster.wait(60)
        assert cluster.returncode == 0
        assert len(acknowledged) >= DOCUMENTS - failures and len(acknowledged) > KILL_AFTER
        assert failures <= 16, "only the requests under way on the killed instance fail"
        # everything acknowledged is there, with the number the client was given (read directly)
        with _server(env) as base:
            reader = IXClient("shop", key)
            reader.base_url = base + "/"
            for document_id, number in acknowledged.items():
                issued = ix_invoices.get(reader, document_id, type=Types.INVOICE)["invoice"]
                assert (issued["status"], issued["sequence_number"]) == ("final", number)
        assert len(set(acknowledged.values())) == len(acknowledged)
        verified = ixserver_command(env, "verify")
        assert verified.returncode == 0, verified.stdout  # numbers 1..n: nothing half-issued by the killed instance
        print(
            f"\ncluster: {len(acknowledged)} invoices issued through HAProxy,"
            f" {failures} failed as an instance was killed"
        )


def _issuer(instances: list[dict[str, int]]) -> int:
    """The pid of the instance that has issued the most documents, by its own metrics: the one
    HAProxy sends the account to (one instance per account: deploy/cluster.py)."""
    issued = {}
    for instance in instances:
        text = httpx.get(f"http://127.0.0.1:{instance['port']}/metrics", timeout=10).text
        issued[instance["pid"]] = sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "ixserver_documents_issued"
            for sample in family.samples
            if sample.name == "ixserver_documents_issued_total"
        )
    assert sorted(issued.values())[0] == 0, f"one account's documents on one instance: {issued}"
    return max(issued, key=issued.__getitem__)


def _load(client: IXClient, instances: list[dict[str, int]]) -> tuple[dict[int, str], int]:
    """DOCUMENTS invoices created and finalized by 8 threads through the balancer; the instance
    that issues them SIGKILLed once KILL_AFTER are issued (the others go on through the
    instance left). The acknowledged ones, and how many failed."""
    acknowledged: dict[int, str] = {}
    failures = 0
    lock = threading.Lock()
    line = {"name": "P", "description": "P", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA23"}}
    body = {"invoice": {"date": today(), "due_date": today(), "client": {"name": "Cliente", "code": "C1"},
                        "items": [line]}}  # fmt: skip

    def one(_n: int) -> None:
        nonlocal failures
        try:
            draft = ix_invoices.create(client, body, type=Types.INVOICE)["invoice"]
            ix_invoices.change_state(client, draft["id"], States.FINAL, type=Types.INVOICE)
            issued = ix_invoices.get(client, draft["id"], type=Types.INVOICE)["invoice"]
        except Exception:  # noqa: BLE001 - a 502 or a reset from the killed instance
            with lock:
                failures += 1
            return
        with lock:
            acknowledged[issued["id"]] = issued["sequence_number"]
            if len(acknowledged) == KILL_AFTER:
                os.kill(_issuer(instances), signal.SIGKILL)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(DOCUMENTS)))
    return acknowledged, failures


class _server:
    """One plain instance on the database, to read back what the cluster wrote."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ixserver", "serve", "--port", str(self.port)], env=self.env
        )
        base = f"http://127.0.0.1:{self.port}"
        wait_ready(base)
        return base

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(20)
