"""SAF-T at scale (issue 14): `ixserver saft export` of 10,000 and of 100,000 documents, and
`ixserver verify --saft` of the larger file — time and peak RSS of each command, run as a user
runs it (`.venv/bin/python bench/saft.py`; part of `make bench`).

The documents are made through the services, not over HTTP (that would take this bench minutes
more and measure the HTTP path again): each is created and finalized — numbered, signed,
chained, sealed — exactly as `PUT …/change-state.json` does, a few hundred to a transaction, on
a fresh SQLite file, in two accounts (10k and 100k documents). Invoices of 1–3 lines with
three VAT rates and a few clients, one in ten a simplified invoice or a credit note, one in
fifty canceled: the file holds what a shop's year holds.

Targets: export of 100k < 30 s, peak RSS < 300 MB and flat from 10k to 100k; verify < 120 s.
Environment: BENCH_SAFT_DOCUMENTS (default 100000), BENCH_SAFT_SMALL (10000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from ixserver.api.documents import parse_document
from ixserver.config import Settings
from ixserver.domain.doctypes import BY_KEY
from ixserver.resources import Resources
from ixserver.services import documents as service
from ixserver.services.accounts import create_account
from ixserver.store.db import Database
from ixserver.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
LARGE = int(os.environ.get("BENCH_SAFT_DOCUMENTS", "100000"))
SMALL = int(os.environ.get("BENCH_SAFT_SMALL", "10000"))
PER_TRANSACTION = 250
KEY = ROOT / "tests" / "data" / "at-sample-keys"
CLIENTS = [
    {"name": f"Cliente {n}, Lda", "code": f"C{n:03d}", "fiscal_id": nif}
    for n, nif in enumerate(["508025338", "503504564", "500100144", "502011475", "504615947"])
]
ITEMS = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "12.35", "quantity": "3", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA6"}},
    {"name": "Vinho", "description": "Tinto 0,75 L", "unit_price": "4.99", "quantity": "6", "tax": {"name": "IVA13"}},
]


def _documents(conn: Any, resources: Resources, account_id: int, start: int, count: int) -> None:
    for n in range(start, start + count):
        today = date.today().strftime("%d/%m/%Y")
        kind = BY_KEY["simplified_invoice" if n % 10 == 3 else "invoice"]
        body = {"date": today, "due_date": today, "client": CLIENTS[n % len(CLIENTS)], "items": ITEMS[: 1 + n % 3]}
        draft = service.create_document(conn, account_id, kind.key, parse_document({kind.key: body}, kind))
        issued = service.change_state(conn, resources, account_id, kind.key, draft.id, "finalized", None)
        if n % 50 == 7:
            service.change_state(conn, resources, account_id, kind.key, issued.id, "canceled", "Erro no cliente")
        elif n % 10 == 5:
            note = {**body, "owner_invoice_id": issued.id, "items": ITEMS[:1]}
            credit = BY_KEY["credit_note"]
            drafted = service.create_document(conn, account_id, credit.key, parse_document({credit.key: note}, credit))
            service.change_state(conn, resources, account_id, credit.key, drafted.id, "finalized", None)


def build(settings: Settings, name: str, documents: int) -> float:
    """An account with about `documents` issued documents (credit notes count); seconds taken."""
    db = Database(settings.resolved_database_url)
    resources = Resources.from_settings(settings)
    started = time.monotonic()
    try:
        with db.transaction() as conn:
            account, _key = create_account(conn, name, resources)
        invoices = documents * 10 // 11  # one in ten has a credit note
        for start in range(0, invoices, PER_TRANSACTION):
            with db.transaction() as conn:
                _documents(conn, resources, account.id, start, min(PER_TRANSACTION, invoices - start))
    finally:
        db.dispose()
    return time.monotonic() - started


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of one command (its own, from wait4), its output."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.DEVNULL, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        out.seek(0)
        output = out.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output


def main() -> None:
    print("saft: SAF-T export and verify --saft at scale (minutes)", file=sys.stderr, flush=True)
    ixserver = str(Path(sys.executable).with_name("ixserver"))
    with tempfile.TemporaryDirectory(prefix="ixsaft-") as tmp:
        data = Path(tmp)
        url = f"sqlite:///{data / 'ix.db'}"
        upgrade(url)
        settings = Settings(
            database_url=url, data_dir=data, public_url="http://x", rate_limit=0, sandbox=True,
            signing_key_file=KEY / "at-sample-private-key.pem",
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
        env.update(IXSERVER_DATABASE_URL=url, IXSERVER_DATA_DIR=str(data), IXSERVER_SANDBOX="1")  # the database's mode
        figures: dict[str, tuple[float, float, str]] = {}
        for name, count in (("small", SMALL), ("large", LARGE)):
            first = date.today().isoformat()  # the documents are dated the day they are made: a run may cross midnight
            made = build(settings, name, count)
            last = date.today().isoformat()
            print(f"built {name}: ~{count} documents through the services in {made:.0f} s", flush=True)
            out = data / f"{name}.xml"
            figures[f"export {name}"] = _timed(
                [ixserver, "saft", "export", "--account", name, "--from", first, "--to", last, "-o", str(out)], env
            )
            print(
                f"export {name}: {figures[f'export {name}'][2].strip()} ({out.stat().st_size / 1e6:.0f} MB)", flush=True
            )
        verified = _timed(
            [
                ixserver,
                "verify",
                "--saft",
                str(data / "large.xml"),
                "--public-key",
                str(KEY / "at-sample-public-key.pem"),
            ],
            env,
        )
        figures["verify large"] = verified
    print()
    for label, (seconds, rss, _out) in figures.items():
        print(f"{label:14} {seconds:7.1f} s   peak RSS {rss:6.0f} MB")
    print(f"verify said: {verified[2].strip().splitlines()[-1]}")
    export_s, export_rss, _ = figures["export large"]
    print(
        f"targets: export of {LARGE} < 30 s: {'met' if export_s < 30 else 'MISSED'}; RSS < 300 MB: "
        f"{'met' if export_rss < 300 else 'MISSED'}; verify < 120 s: {'met' if verified[0] < 120 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
