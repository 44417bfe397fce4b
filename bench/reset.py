"""`POST /_ixserver/reset` of a large account (`.venv/bin/python bench/reset.py`; issue 25 asks
under a second for 2,000 documents).

`ixserver serve` in sandbox mode over a fresh database (SQLite, and with
BENCH_DATABASE_URL=postgresql://… that emptied database too) beside a few other accounts'
documents; one account is filled through the API by 8 connections with BENCH_RESET_DOCUMENTS
(2,000) invoices of 5 lines, of every state the API gives them: a quarter drafts, the rest
issued, a quarter of those paid in part (a receipt each, counted among the documents) and a
quarter e-mailed (jobs, and the sandbox's kept messages); then the account is reset once and
the reset's answer timed, end to end, as a test suite's reset is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import empty_postgres  # noqa: E402

DOCUMENTS = int(os.environ.get("BENCH_RESET_DOCUMENTS", "2000"))
OTHERS = 200  # documents of each of two other accounts: the database is not the account alone
LINE = {"name": "Pencil", "description": "A pencil of the shop, sharpened", "unit_price": "2.5", "quantity": "3",
        "tax": {"name": "IVA23"}}  # fmt: skip


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ixserver(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "ixserver", *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def _fill(base: str, key: str, count: int) -> int:
    """`count` invoices of the account of `key` in every state; the documents made (receipts too)."""
    today = date.today().strftime("%d/%m/%Y")

    def one(n: int) -> int:
        with httpx.Client(base_url=base, params={"api_key": key}, timeout=120) as http:
            client = {"name": f"Client {n % 40}", "code": f"C{n % 40}", "email": "buyer@example.com"}
            body = {"invoice": {"date": today, "due_date": today, "client": client, "items": [LINE] * 5}}
            created = http.post("/invoices.json", json=body)
            assert created.status_code == 201, created.text
            document = created.json()["invoice"]["id"]
            if n % 4 == 0:
                return 1
            issued = http.put(f"/invoices/{document}/change-state.json", json={"invoice": {"state": "finalized"}})
            assert issued.status_code == 200, issued.text
            if n % 4 == 1:
                paid = http.post(f"/documents/{document}/partial_payments.json",
                                 json={"partial_payment": {"amount": "5", "payment_mechanism": "NU"}})  # fmt: skip
                assert paid.status_code in (200, 201), paid.text
                return 2
            if n % 4 == 2:
                message = {"client": {"email": "buyer@example.com", "save": "0"}, "subject": "Invoice", "body": "."}
                sent = http.put(f"/invoices/{document}/email-document.json", json={"message": message})
                assert sent.status_code == 200, sent.text
            return 1

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(one, range(count)))


def measure(label: str, env: dict[str, str]) -> None:
    keys = [_ixserver(env, "accounts", "create", name) for name in ("big", "other1", "other2")]
    port = _port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(env["IXSERVER_DATA_DIR"]) / "serve.log", "wb")  # noqa: SIM115 - open while it serves
    server = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/_ixserver/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.1)
        for key in keys[1:]:
            _fill(base, key, OTHERS)
        started = time.monotonic()
        made = _fill(base, keys[0], DOCUMENTS)
        filled = time.monotonic() - started
        time.sleep(2)  # the e-mails' jobs done, the counts folded: the reset alone is timed
        started = time.monotonic()
        answer = httpx.post(f"{base}/_ixserver/reset", params={"api_key": keys[0]}, timeout=600)
        took = time.monotonic() - started
        assert answer.status_code == 200, (
            f"{answer.text} after {took:.1f} s; the server said:\n"
            + (Path(env["IXSERVER_DATA_DIR"]) / "serve.log").read_text()[-3000:]
        )
        left = httpx.get(f"{base}/invoices.json", params={"api_key": keys[0]}).json()["pagination"]["total_entries"]
        assert left == 0, left
        print(f"{label}: reset of an account of {made} documents ({DOCUMENTS} invoices, made in {filled:.0f} s): "
              f"{took * 1000:.0f} ms", flush=True)  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        log.close()


def main() -> None:
    print("reset: POST /_ixserver/reset of a large account", file=sys.stderr, flush=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    base_env.update(
        IXSERVER_SANDBOX="1", IXSERVER_RATE_LIMIT="0", IXSERVER_ACCESS_LOG="0", IXSERVER_LOG_LEVEL="warning"
    )
    with tempfile.TemporaryDirectory(prefix="ixreset-") as tmp:
        measure("SQLite", {**base_env, "IXSERVER_DATA_DIR": str(Path(tmp) / "sqlite")})
        pg_url = os.environ.get("BENCH_DATABASE_URL")
        if pg_url:
            empty_postgres(pg_url)
            measure(
                "PostgreSQL", {**base_env, "IXSERVER_DATA_DIR": str(Path(tmp) / "pg"), "IXSERVER_DATABASE_URL": pg_url}
            )


if __name__ == "__main__":
    main()
