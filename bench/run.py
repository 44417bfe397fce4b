"""`make bench`: start a server on loopback with a fresh database, load it, print the figures.

Scenarios, 32 connections each, one server at a time (the read scenarios twice: read cache on,
the default, and off, so both figures are on record):
  trivial      GET /_ixserver/health                      (no auth, no database)
  sequences    GET /sequences.json                        target: >= 60% of trivial
  documents    POST /invoices.json then PUT change-state  target: >= 1,000 documents/s, p99 < 50 ms,
               (SQLite synchronous=FULL)                  >= 0.2 x the raw gapless SQLite rate
  refusing     the documents scenario with 1 creation in 5 refused by the writer (a series that
               does not exist: 11 % of write requests); SQLite, wrk only. What refusals inside a
               batch cost the other writes.
  accounts     the documents scenario over 4 accounts, one per wrk thread; PostgreSQL, wrk only.
               What a server of several tenants does where one account's writes queue on its lock.
  list         GET /invoices.json?per_page=25             target: >= 1,000 rps, p99 < 50 ms
  get          GET /invoices/{id}.json                    target: >= 60% of trivial
  pdf          GET /api/pdf/{id}.json, then its pdfUrl,   target: p50 < 100 ms to the PDF, >= 50 PDFs/s
               for documents never downloaded before: one
               client's wait (p50, p99), then 8 clients'
               PDFs/s (PDFs are drawn on download)
The raw gapless rate is measured just before each documents scenario (this machine's
fsync rate drifts over minutes): one thread doing BEGIN IMMEDIATE; UPDATE the
counter RETURNING; INSERT the row; COMMIT on an SQLite file with WAL and synchronous=FULL; on
PostgreSQL the same with one connection (psycopg), synchronous_commit on, a pgbench-like script
of one counter row (issue 15: documents >= 0.6 x that rate).

Load: wrk when it is installed (Debian package `wrk`), else bench/loadgen.py (Python; it
shares the two cores with the server, so its absolute figures are lower).
The server runs `serve --workers N` with one process per core (N = os.cpu_count()), the
deployment the README advises: reads scale with the processes, and their writes go to the one
writer process. For comparison, the documents scenario runs once more with
IXSERVER_WRITER_PROCESS=0 (a writer thread per server process, queueing on the write lock).
Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (32), BENCH_WORKERS (cores),
BENCH_LOAD=wrk|python, BENCH_DATABASE_URL=postgresql://… to run the documents and read
scenarios on PostgreSQL too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import run_documents, run_load  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# Server processes: one per core, as the README advises (`serve --workers N`).
WORKERS = int(os.environ.get("BENCH_WORKERS") or os.cpu_count() or 1)
LUA = Path(__file__).parent / "documents.lua"
DOCUMENT = {
    "invoice": {
        "client": {"name": "Bench Client", "code": "B1"},
        "items": [
            {
                "name": "Widget",
                "description": "Widget",
                "unit_price": "12.50",
                "quantity": "3",
                "tax": {"name": "IVA23"},
            },
            {"name": "Book", "description": "Book", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA6"}},
        ],
    }
}


@dataclass
class Figures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    documents_per_s: float | None = None
    raw_per_s: float | None = None  # the raw gapless rate of the same database, measured just before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(
    url: str, script: Path | None = None, env: dict[str, str] | None = None, *, connections: int | None = None,
    seconds: float | None = None, threads: int = 2,
) -> tuple[str, float, float, float, int]:  # fmt: skip
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections or CONNECTIONS}",
        f"-d{int(seconds or SECONDS)}s",
        "--latency",
        url,
    ]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return out, rps, p50, p99, int(bad.group(1)) if bad else 0


def say(text: str) -> None:
    """Progress on stderr (the figures come at the end, on stdout): a run takes minutes."""
    print(text, file=sys.stderr, flush=True)


def load_get(tool: str, name: str, url: str) -> Figures:
    say(f"  {name} ({SECONDS:.0f} s)")
    if tool == "wrk":
        _out, rps, p50, p99, errors = _wrk(url)
        return Figures(name, rps, p50, p99, errors)
    result = run_load(url, connections=CONNECTIONS, seconds=SECONDS)
    return Figures(name, result.rps, result.percentile(50) * 1000, result.percentile(99) * 1000, result.errors)


REFUSE_EVERY = 5  # one creation in five refused: 1 write request in 9 (11 %)
ACCOUNTS = 4  # PostgreSQL: the documents scenario once more, spread over this many accounts


def load_documents(
    tool: str, base: str, key: str, raw_rate: Callable[[], float] | None = None, refuse_every: int = 0,
    other_keys: tuple[str, ...] = (),
) -> Figures:  # fmt: skip
    """The documents scenario; with `raw_rate`, the raw gapless rate of its database just before it;
    with `refuse_every` (wrk only), every such creation names a series that does not exist,
    which the writer refuses inside its batch; with `other_keys` (wrk only), the documents go to
    the accounts of `key` and those keys, one per wrk thread."""
    raw = raw_rate() if raw_rate is not None else None
    say(f"  documents{' with refusals' if refuse_every else ''}"
        f"{f' of {1 + len(other_keys)} accounts' if other_keys else ''} ({SECONDS:.0f} s)")  # fmt: skip
    body = json.dumps(DOCUMENT)
    if tool == "wrk":
        bad = json.dumps({"invoice": {**DOCUMENT["invoice"], "sequence_id": 999_999_999}})  # type: ignore[dict-item]
        env = {"BENCH_KEY": key, "BENCH_BODY": body, "BENCH_BAD_BODY": bad, "BENCH_REFUSE_EVERY": str(refuse_every)}
        if other_keys:
            env["BENCH_KEYS"] = ",".join((key, *other_keys))
        out, rps, p50, p99, errors = _wrk(base, LUA, env, threads=max(2, 1 + len(other_keys)))
        finalized = int(re.search(r"finalized=(\d+)", out).group(1))  # type: ignore[union-attr]
        refused = int(re.search(r"refused=(\d+)", out).group(1))  # type: ignore[union-attr]
        name = f"refusing {refused / (rps * SECONDS):.0%}" if refuse_every else "documents"
        return Figures(name, rps, p50, p99, errors - refused, finalized / SECONDS, raw)
    result = run_documents(base, key, body.encode(), connections=CONNECTIONS, seconds=SECONDS)
    return Figures(
        "documents", result.rps, result.percentile(50) * 1000, result.percentile(99) * 1000, result.errors,
        result.documents / result.seconds, raw,
    )  # fmt: skip


def raw_gapless_rate(directory: Path, seconds: float = 3.0) -> float:
    """Transactions/s of the bare numbering transaction on SQLite, WAL, synchronous=FULL."""
    directory.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(directory / f"raw-{time.monotonic_ns()}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    conn.execute("CREATE TABLE doc (counter INTEGER, n INTEGER, PRIMARY KEY (counter, n))")
    conn.execute("INSERT INTO counter VALUES (1, 0)")
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        (number,) = conn.execute("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()
        conn.execute("INSERT INTO doc VALUES (1, ?)", (number,))
        conn.execute("COMMIT")
        done += 1
    rate = done / (time.perf_counter() - started)
    conn.close()
    return rate


def raw_gapless_rate_pg(url: str, seconds: float = 3.0) -> float:
    """Transactions/s of the bare numbering transaction on PostgreSQL: one connection, one
    counter row, `UPDATE … RETURNING` and an insert per transaction, synchronous commit (its
    default), in a schema of its own dropped afterwards."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("DROP SCHEMA IF EXISTS raw_bench CASCADE")
        conn.execute("CREATE SCHEMA raw_bench")
        conn.execute("CREATE TABLE raw_bench.counter (id integer PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("CREATE TABLE raw_bench.doc (counter integer, n bigint, PRIMARY KEY (counter, n))")
        conn.execute("INSERT INTO raw_bench.counter VALUES (1, 0)")
        conn.commit()
        done, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            row = conn.execute("UPDATE raw_bench.counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()
            assert row is not None
            conn.execute("INSERT INTO raw_bench.doc VALUES (1, %s)", (row[0],))
            conn.commit()
            done += 1
        rate = done / (time.perf_counter() - started)
        conn.execute("DROP SCHEMA raw_bench CASCADE")
        conn.commit()
    return rate


def verified(env: dict[str, str], what: str) -> None:
    """`ixserver verify` of the database a scenario wrote (`env` names it, and the build, by its
    PYTHONPATH): gapless numbers, each counter's chain, each account's seal and the seal journal
    (issue 27 item 4: after every benchmark run). Not clean: the run stops, saying why."""
    checked = subprocess.run([sys.executable, "-m", "ixserver", "verify"], env=env, capture_output=True,
                             text=True, check=False)  # fmt: skip
    if checked.returncode != 0:
        raise SystemExit(f"ixserver verify after {what} failed:\n{checked.stdout}{checked.stderr}")
    say(f"    verify after {what}: {checked.stdout.strip().splitlines()[-1]}")


class Server:
    def __init__(self, data_dir: Path, database_url: str | None, **env: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
        # Sandbox: accounts are created with their first series registered (the simulator).
        self.env.update(IXSERVER_DATA_DIR=str(data_dir), IXSERVER_RATE_LIMIT="0", IXSERVER_ACCESS_LOG="0",
                        IXSERVER_LOG_LEVEL="warning", IXSERVER_SANDBOX="1", **env)  # fmt: skip
        if database_url:
            self.env["IXSERVER_DATABASE_URL"] = database_url
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env.setdefault("IXSERVER_PUBLIC_URL", self.base)  # the PDFs' addresses
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run([sys.executable, "-m", "ixserver", *args], env=self.env, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip

    def verified(self, what: str) -> None:
        verified(self.env, what)

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ixserver", "serve", "--port", str(self.port), "--workers", str(WORKERS)],
            env=self.env,
        )
        for _ in range(300):
            try:
                if httpx.get(self.base + "/_ixserver/health").status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise SystemExit("server did not start")

    def __exit__(self, *_exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(20)


def warm(*urls: str) -> None:
    for url in urls:
        for _ in range(200):
            httpx.get(url)


def read_scenarios(tool: str, server: Server, key: str, document_id: int) -> dict[str, Figures]:
    urls = {
        "trivial": f"{server.base}/_ixserver/health",
        "sequences": f"{server.base}/sequences.json?api_key={key}",
        "list": f"{server.base}/invoices.json?per_page=25&api_key={key}",
        "get": f"{server.base}/invoices/{document_id}.json?api_key={key}",
    }
    warm(*urls.values())
    return {name: load_get(tool, name, url) for name, url in urls.items()}


PDF_DOCUMENTS = 300
PDF_CLIENTS = 8


def pdf_scenario(server: Server, key: str) -> Figures:
    """From asking `GET /api/pdf/{id}.json` to holding the PDF, for documents whose PDF was never
    asked for: the time one client waits (100 documents one after the other: p50, p99), and
    PDFs drawn per second with 8 clients at once (200 others). Python clients: wrk cannot chain
    the two requests."""
    from concurrent.futures import ThreadPoolExecutor

    ids: list[int] = []
    for page in range(1, PDF_DOCUMENTS // 100 + 1):
        listed = httpx.get(
            f"{server.base}/invoices.json", params={"api_key": key, "per_page": 100, "page": page}
        ).json()
        ids += [int(d["id"]) for d in listed["invoices"]]
    client = httpx.Client(timeout=30)

    def fetch(document_id: int) -> tuple[float, bool]:
        start = time.perf_counter()
        answer = client.get(f"{server.base}/api/pdf/{document_id}.json", params={"api_key": key})
        pdf = client.get(answer.json()["output"]["pdfUrl"]) if answer.status_code == 200 else answer
        ok = pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        return (time.perf_counter() - start) * 1000, ok

    say("  pdf (300 documents)")
    waited = [fetch(i) for i in ids[:100]]
    started = time.perf_counter()
    with ThreadPoolExecutor(PDF_CLIENTS) as pool:
        drawn = list(pool.map(fetch, ids[100:PDF_DOCUMENTS]))
    elapsed = time.perf_counter() - started
    times = sorted(ms for ms, _ in waited)
    return Figures("pdf", len(drawn) / elapsed, times[len(times) // 2], times[int(len(times) * 0.99)],
                   sum(1 for _, ok in waited + drawn if not ok))  # fmt: skip


def a_document_id(server: Server, key: str) -> int:
    listed = httpx.get(f"{server.base}/invoices.json", params={"api_key": key, "per_page": 1}).json()
    return int(listed["invoices"][0]["id"])


def _psql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(statement)


def empty_postgres(url: str) -> None:
    """A fresh database for each run: the last run's documents, and its signing key (each run
    generates one in its temporary data directory), would otherwise still be there. A database
    that does not exist yet is created (through the server's `postgres` database)."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        _psql(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        parsed = make_url(url)
        _psql(
            parsed.set(database="postgres").render_as_string(hide_password=False),
            f'CREATE DATABASE "{parsed.database}"',
        )


def analyze(url: str) -> None:
    """What autovacuum does within a minute of the documents scenario filling the tables: without
    statistics, PostgreSQL's planner takes the account for a handful of rows and sorts all of
    it for every page."""
    _psql(url, "VACUUM ANALYZE")


def run_backend(tool: str, label: str, data_dir: Path, database_url: str | None) -> dict[str, dict[str, Figures]]:
    results: dict[str, dict[str, Figures]] = {}
    sqlite = database_url is None or database_url.startswith("sqlite")
    raw_dir = data_dir.parent / "raw"

    def raw() -> float:
        return raw_gapless_rate(raw_dir) if sqlite else raw_gapless_rate_pg(str(database_url))

    say(f"{label}: a server on a fresh database")
    with Server(data_dir, database_url) as server:
        key = server.cli("accounts", "create", f"bench{server.port}")
        DOCUMENT["invoice"]["date"] = date.today().strftime("%d/%m/%Y")  # type: ignore[index]
        documents = load_documents(tool, server.base, key, raw)
        more_writes = {}
        if sqlite and tool == "wrk":  # what refused writes cost the others (issue 10)
            more_writes["refusing"] = load_documents(tool, server.base, key, None, REFUSE_EVERY)
        if not sqlite and tool == "wrk":  # several tenants: their writes do not queue on one account's lock
            others = tuple(server.cli("accounts", "create", f"bench{server.port}n{n}") for n in range(1, ACCOUNTS))
            several = load_documents(tool, server.base, key, None, other_keys=others)
            more_writes["accounts"] = replace(several, name=f"{ACCOUNTS} accounts")
        server.verified(f"{label}'s documents")
        if database_url and database_url.startswith("postgres"):
            analyze(database_url)
        results[f"{label}, read cache on"] = {
            "documents": documents,
            **more_writes,
            **read_scenarios(tool, server, key, a_document_id(server, key)),
            **({"pdf": pdf_scenario(server, key)} if sqlite else {}),
        }
    if sqlite:
        say(f"{label}: read cache off")
        with Server(data_dir, database_url, IXSERVER_READ_CACHE="0") as server:
            results[f"{label}, read cache off"] = read_scenarios(tool, server, key, a_document_id(server, key))
        # For comparison: each server process writing in a thread of its own.
        say(f"{label}: writer threads")
        with Server(data_dir, database_url, IXSERVER_WRITER_PROCESS="0") as server:
            results[f"{label}, writer threads instead of the writer process"] = {
                "documents": load_documents(tool, server.base, key, raw)
            }
            server.verified(f"{label}'s documents with writer threads")
    return results


def report(results: dict[str, dict[str, Figures]], tool: str) -> None:
    print(f"\nixserver bench — load: {tool}, {CONNECTIONS} connections, {SECONDS:.0f}s per scenario,"
          f" server: {WORKERS} worker process(es) on {os.cpu_count()} cores")  # fmt: skip
    for label, by in results.items():
        print(f"\n[{label}]")
        print(f"{'scenario':<12}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'docs/s':>10}")
        for f in by.values():
            docs = f"{f.documents_per_s:>10.0f}" if f.documents_per_s is not None else ""
            print(f"{f.name:<12}{f.rps:>10.0f}{f.p50_ms:>10.2f}{f.p99_ms:>10.2f}{f.errors:>10}{docs}")

        def verdict(ok: bool) -> str:
            return "meets" if ok else "misses"

        if "trivial" in by:
            trivial = by["trivial"].rps
            print(
                f"sequences / trivial = {by['sequences'].rps / trivial:.2f}"
                f" ({verdict(by['sequences'].rps >= 0.6 * trivial)} >= 0.60)"
            )
            print(f"get / trivial = {by['get'].rps / trivial:.2f} ({verdict(by['get'].rps >= 0.6 * trivial)} >= 0.60)")
            lst = by["list"]
            print(
                f"list of 25: {lst.rps:.0f} rps, p99 {lst.p99_ms:.1f} ms"
                f" ({verdict(lst.rps >= 1000 and lst.p99_ms < 50)} >= 1000 rps, p99 < 50 ms)"
            )
        if "pdf" in by:
            p = by["pdf"]
            print(f"pdf: one client waits p50 {p.p50_ms:.1f} ms, p99 {p.p99_ms:.1f} ms from GET /api/pdf to the PDF;"
                  f" 8 clients get {p.rps:.0f} PDFs/s"
                  f" ({verdict(p.rps >= 50 and p.p50_ms < 100)} p50 < 100 ms, >= 50/s)")  # fmt: skip
        if "documents" in by:
            d = by["documents"]
            assert d.documents_per_s is not None
            print(f"documents: {d.documents_per_s:.0f}/s, p99 {d.p99_ms:.1f} ms per request "
                  f"({verdict(d.documents_per_s >= 1000 and d.p99_ms < 50)} >= 1000/s, p99 < 50 ms)")  # fmt: skip
            if d.raw_per_s is not None:
                ratio = d.documents_per_s / d.raw_per_s
                goal = 0.2 if label.startswith("sqlite") else 0.6
                print(f"raw gapless transactions on the same database just before: {d.raw_per_s:.0f}/s;"
                      f" documents / raw = {ratio:.2f} ({verdict(ratio >= goal)} >= {goal:.2f})")  # fmt: skip
            if "accounts" in by and by["accounts"].documents_per_s is not None:
                print(f"documents of {ACCOUNTS} accounts (one per wrk thread): {by['accounts'].documents_per_s:.0f}/s,"
                      f" p99 {by['accounts'].p99_ms:.1f} ms")  # fmt: skip
            if "refusing" in by and by["refusing"].documents_per_s is not None:
                r = by["refusing"]
                assert r.documents_per_s is not None
                print(f"with {r.name.split()[-1]} of write requests refused by the writer: {r.documents_per_s:.0f}"
                      f" documents/s, {r.documents_per_s / d.documents_per_s:.2f} of the documents scenario"
                      f" (1 creation in {REFUSE_EVERY} makes no document: at the same requests/s that alone gives"
                      f" {(REFUSE_EVERY - 1) / (2 * REFUSE_EVERY - 1) * 2:.2f})")  # fmt: skip


def main() -> None:
    tool = os.environ.get("BENCH_LOAD") or ("wrk" if shutil.which("wrk") else "python")
    results: dict[str, dict[str, Figures]] = {}
    with tempfile.TemporaryDirectory(prefix="ixbench-") as tmp:
        directory = Path(tmp)
        results.update(run_backend(tool, "sqlite", directory / "sqlite", None))
        pg_url = os.environ.get("BENCH_DATABASE_URL")
        if pg_url:
            empty_postgres(pg_url)
            results.update(run_backend(tool, "postgresql", directory / "pg", pg_url))
    report(results, tool)


if __name__ == "__main__":
    main()
