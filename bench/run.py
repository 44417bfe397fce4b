"""`make bench`: start a server on loopback with a fresh database, load it, print the figures.

Scenarios (32 connections each, same run, same server):
  trivial    GET /_ixserver/health           (no auth, no database)
  sequences  GET /sequences.json?api_key=…   (auth, rate-limit check, database read, render)
Target: sequences ≥ 60% of trivial rps. Each is measured twice: with the read cache (the
default; api/cache.py) and without it, so both figures are on record.

Load: wrk when it is installed (Debian package `wrk`), else bench/loadgen.py (Python; it
shares the two cores with the server, so its absolute figures are lower).
Options (environment): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (32),
BENCH_DATABASE_URL (default: a new SQLite file), BENCH_LOAD=wrk|python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import run_load  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


@dataclass
class Figures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load(name: str, url: str, tool: str) -> Figures:
    if tool == "wrk":
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(SECONDS)}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
        p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        return Figures(name, rps, p50, p99, int(bad.group(1)) if bad else 0)
    result = run_load(url, connections=CONNECTIONS, seconds=SECONDS)
    return Figures(name, result.rps, result.percentile(50) * 1000, result.percentile(99) * 1000, result.errors)


def start_server(
    data_dir: Path, database_url: str | None, extra_env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATA_DIR=str(data_dir), IXSERVER_RATE_LIMIT="0", IXSERVER_ACCESS_LOG="0", **extra_env)
    if database_url:
        env["IXSERVER_DATABASE_URL"] = database_url
    key = subprocess.run(
        [sys.executable, "-m", "ixserver", "accounts", "create", f"bench{port}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ixserver", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "IXSERVER_LOG_LEVEL": "warning"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/_ixserver/health").status_code == 200:
                return proc, base, key
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


CONFIGS = {
    "read cache on (default)": {},
    "read cache off": {"IXSERVER_READ_CACHE": "0"},
}


def measure(tool: str, database_url: str | None, extra_env: dict[str, str]) -> dict[str, Figures]:
    with tempfile.TemporaryDirectory(prefix="ixbench-") as tmp:
        proc, base, key = start_server(Path(tmp), database_url, extra_env)
        try:
            scenarios = {
                "trivial": f"{base}/_ixserver/health",
                "sequences": f"{base}/sequences.json?api_key={key}",
            }
            for url in scenarios.values():  # warm-up
                for _ in range(200):
                    httpx.get(url)
            return {name: load(name, url, tool) for name, url in scenarios.items()}
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    tool = os.environ.get("BENCH_LOAD") or ("wrk" if shutil.which("wrk") else "python")
    database_url = os.environ.get("BENCH_DATABASE_URL")
    results = {label: measure(tool, database_url, env) for label, env in CONFIGS.items()}
    backend = "postgresql" if database_url and database_url.startswith("postgres") else "sqlite"
    print(f"\nixserver bench — load: {tool}, {CONNECTIONS} connections, {SECONDS:.0f}s each, database: {backend}")
    for label, by in results.items():
        print(f"\n[{label}]")
        print(f"{'scenario':<12}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
        for f in by.values():
            print(f"{f.name:<12}{f.rps:>10.0f}{f.p50_ms:>10.2f}{f.p99_ms:>10.2f}{f.errors:>10}")
        ratio = by["sequences"].rps / by["trivial"].rps
        verdict = "meets" if ratio >= 0.6 else "misses"
        print(f"sequences / trivial = {ratio:.2f}  ({verdict} the target >= 0.60)")


if __name__ == "__main__":
    main()
