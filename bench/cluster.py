"""`make bench` with BENCH_DATABASE_URL, the cluster scenario (issue 15): the documents scenario
(wrk, 32 connections, create then finalize) through HAProxy in front of one, then two
`ixserver serve` instances on one PostgreSQL database (deploy/cluster.py, each instance one
process), and the deadlocks PostgreSQL counted meanwhile (`pg_stat_database`); first with the
documents of one account, then of BENCH_CLUSTER_ACCOUNTS (4); `ixserver verify` after each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run  # noqa: E402

CLUSTER = Path(__file__).parents[1] / "deploy" / "cluster.py"
# The second round: the documents of several accounts (a server of several tenants), whose writes
# do not queue on each other's account lock. One wrk thread per account.
ACCOUNTS = int(os.environ.get("BENCH_CLUSTER_ACCOUNTS", "4"))


def deadlocks(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def documents_through(url: str, instances: int, data_dir: Path, accounts: int) -> tuple[run.Figures, int]:
    run.empty_postgres(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATABASE_URL=url, IXSERVER_DATA_DIR=str(data_dir), IXSERVER_SANDBOX="1",
               IXSERVER_RATE_LIMIT="0", IXSERVER_ACCESS_LOG="0", IXSERVER_LOG_LEVEL="warning")  # fmt: skip
    port = run._free_port()
    cluster = subprocess.Popen(
        [sys.executable, str(CLUSTER), "--instances", str(instances), "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        described = data_dir / "cluster.json"
        for _ in range(600):
            if described.exists() or cluster.poll() is not None:
                break
            time.sleep(0.1)
        base = json.loads(described.read_text())["url"]
        keys = [
            subprocess.run([sys.executable, "-m", "ixserver", "accounts", "create", f"cluster{instances}x{n}"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
            for n in range(accounts)
        ]  # fmt: skip
        before = deadlocks(url)
        figures = run.load_documents(
            "wrk", base, keys[0], lambda: run.raw_gapless_rate_pg(url), other_keys=tuple(keys[1:])
        )
        found = deadlocks(url) - before
        run.verified(env, f"{instances} instance{'s' if instances > 1 else ''}, {accounts} account(s)")
        return figures, found
    finally:
        cluster.terminate()
        cluster.wait(60)


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not shutil.which("wrk") or not shutil.which("haproxy"):
        print("cluster scenario skipped: it needs BENCH_DATABASE_URL, wrk and haproxy")
        return
    run.DOCUMENT["invoice"]["date"] = date.today().strftime("%d/%m/%Y")  # type: ignore[index]
    run.say("cluster: instances behind HAProxy on PostgreSQL")
    with tempfile.TemporaryDirectory(prefix="ixcluster-") as tmp:
        for accounts in (1, ACCOUNTS):
            found = {n: documents_through(url, n, Path(tmp) / f"{n}-{accounts}", accounts) for n in (1, 2)}
            report(found, accounts)


def report(found: dict[int, tuple[run.Figures, int]], accounts: int) -> None:
    print("\n[cluster: HAProxy in front of N instances (one process each) on one PostgreSQL database,"
          f" wrk {run.CONNECTIONS} connections, {run.SECONDS:.0f} s,"
          f" documents of {accounts} account{'s' if accounts > 1 else ''}]")  # fmt: skip
    print(f"{'instances':<12}{'docs/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'deadlocks':>11}{'raw/s':>10}")
    for instances, (f, dead) in found.items():
        print(
            f"{instances:<12}{f.documents_per_s:>10.0f}{f.p50_ms:>10.2f}{f.p99_ms:>10.2f}{f.errors:>10}{dead:>11}{f.raw_per_s:>10.0f}"
        )
    one, two = found[1][0].documents_per_s or 0, found[2][0].documents_per_s or 0
    verdict = "meets" if two >= one and found[2][1] == 0 else "misses"
    print(f"two instances / one = {two / one:.2f} ({verdict} >= 1.00 with 0 deadlocks)")


if __name__ == "__main__":
    main()
