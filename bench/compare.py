"""`make bench-compare REF=<commit>`: this tree against REF, in paired runs.

This machine's speed drifts by a third within an hour, so two `make bench` runs an hour apart
compare the hours more than the builds. Here the two builds take turns inside one run: each
pair runs both, in alternating order (ABBA…), each on a fresh database, and the verdict is the
median over the pairs of the ratio within each pair (this tree / REF), whose drift cancels.

REF is checked out in a temporary worktree (`git worktree add --detach`); this tree is the
working tree as it is, uncommitted changes included. Both run on this venv's Python and
libraries, `serve --workers N` as in `make bench`, each from its own `src/` (PYTHONPATH).

Scenarios (wrk, as bench/run.py defines them): documents (POST then finalize: documents/s and
p99), accounts (the same over 4 accounts, one per wrk thread), get (GET /invoices/{id}.json: rps
and p99), list (GET /invoices.json?per_page=25), and pdf (bench/run.py's: PDFs of documents never
drawn before, one client's p50 and p99, 8 clients' PDFs/s). After each turn `ixserver verify`
checks the database (numbers, chains, seal, journal): a turn that is not clean stops the run.
For the documents and accounts scenarios it also prints the CPU time spent per document, read
from /proc: ixserver's server processes, its writer processes and the database's backends
(`CpuUsed`), the figure that a machine loaded by other work changes least.
Environment: COMPARE_PAIRS (default 3), BENCH_SECONDS (default 5 here), BENCH_CONNECTIONS,
BENCH_WORKERS, COMPARE_SCENARIOS (comma-separated, default documents,get,list; add accounts, pdf),
BENCH_DATABASE_URL=postgresql://… to compare on PostgreSQL too, and COMPARE_SQLITE=0 to compare
on PostgreSQL only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url

os.environ.setdefault("BENCH_SECONDS", "5")
sys.path.insert(0, str(Path(__file__).parent))
import run  # noqa: E402
from run import DOCUMENT, Figures, Server, a_document_id, empty_postgres, load_documents, load_get, say, warm  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
PAIRS = int(os.environ.get("COMPARE_PAIRS", "3"))
SCENARIOS = tuple(os.environ.get("COMPARE_SCENARIOS", "documents,get,list").split(","))


def measure(tree: Path, data_dir: Path, database_url: str | None) -> dict[str, Figures]:
    """One build's turn: a fresh database, a server from `tree`'s sources, the scenarios."""
    if database_url:
        empty_postgres(database_url)
    shutil.rmtree(data_dir, ignore_errors=True)
    figures: dict[str, Figures] = {}
    with Server(data_dir, database_url, PYTHONPATH=str(tree / "src")) as server:
        key = server.cli("accounts", "create", f"compare{server.port}")
        used = CpuUsed(server, database_url)
        figures["documents"] = used.per_document(load_documents("wrk", server.base, key))
        if "accounts" in SCENARIOS:  # several tenants: one account's lock no longer holds all writes
            names = [f"compare{server.port}n{n}" for n in range(1, run.ACCOUNTS)]
            others = tuple(server.cli("accounts", "create", name) for name in names)
            used = CpuUsed(server, database_url)
            figures["accounts"] = used.per_document(load_documents("wrk", server.base, key, other_keys=others))
        document_id = a_document_id(server, key)
        urls = {
            "get": f"{server.base}/invoices/{document_id}.json?api_key={key}",
            "list": f"{server.base}/invoices.json?per_page=25&api_key={key}",
        }
        for name, url in urls.items():
            if name in SCENARIOS:
                warm(url)
                figures[name] = load_get("wrk", name, url)
        if "pdf" in SCENARIOS:  # PDFs of the documents just made, never drawn before
            figures["pdf"] = run.pdf_scenario(server, key)
        server.verified(f"{tree}'s turn")
    return {name: f for name, f in figures.items() if name in SCENARIOS}


class CpuUsed:
    """The CPU time the server spends on a scenario, read from /proc around it: its processes
    (`serve` and every process under it: server processes, writers, parser) and, on PostgreSQL,
    the database's backends. Per document it is what a loaded machine's share does not change
    much, where documents/s follows the share the other work leaves (`CPU_MS`: ms per document
    of the server processes, the writer processes and the database's backends)."""

    def __init__(self, server: Server, database_url: str | None) -> None:
        assert server.proc is not None
        self.root = server.proc.pid
        self.database = make_url(database_url).database if database_url else None
        self.url = database_url
        self.before = self._read()

    def _read(self) -> dict[str, dict[int, float]]:
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        used: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        names: dict[int, str] = {}
        mine = {self.root}
        grown = True
        while grown:
            grown = False
            for pid, parent in parents.items():
                if parent in mine and pid not in mine:
                    mine.add(pid)
                    grown = True
        backends: set[int] = set()
        if self.url:
            import psycopg

            with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,)
                ).fetchall()
            backends = {int(row[0]) for row in rows}
        for pid in mine:
            with contextlib.suppress(OSError):
                names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
        writers = {pid for pid in mine if names.get(pid) == "ixserver-writer"}  # (writes/process.py names it)
        return {
            "servers": {pid: used[pid] for pid in mine - writers if pid in used},
            "writers": {pid: used[pid] for pid in writers if pid in used},
            "postgres": {pid: used[pid] for pid in backends if pid in used},
        }

    def per_document(self, figures: Figures) -> Figures:
        after = self._read()
        documents = (figures.documents_per_s or 0) * run.SECONDS
        cpu = {}
        for part, pids in after.items():
            spent = sum(seconds - self.before[part].get(pid, 0.0) for pid, seconds in pids.items())
            cpu[part] = spent * 1000 / documents if documents else 0.0
        CPU_MS[id(figures)] = cpu
        return figures


CPU_MS: dict[int, dict[str, float]] = {}  # by id(Figures): CPU ms per document, by part


def rate(f: Figures) -> float:
    return f.documents_per_s if f.documents_per_s is not None else f.rps


def compare(ref_tree: Path, work: Path, label: str, database_url: str | None) -> list[str]:
    runs: dict[str, list[dict[str, Figures]]] = {"ref": [], "this": []}
    trees = {"ref": ref_tree, "this": HERE}
    for pair in range(PAIRS):
        order = ("ref", "this") if pair % 2 == 0 else ("this", "ref")
        for build in order:
            started = time.monotonic()
            runs[build].append(measure(trees[build], work / f"{label}-{build}", database_url))
            say(
                f"  {label} pair {pair + 1}/{PAIRS}: {build:<4} "
                + " ".join(
                    f"{n}={rate(f):.0f}/s p50={f.p50_ms:.1f}ms p99={f.p99_ms:.1f}ms"
                    + "".join(f" cpu_{part}={ms:.2f}ms" for part, ms in CPU_MS.get(id(f), {}).items())
                    for n, f in runs[build][-1].items()
                )
                + f" ({time.monotonic() - started:.0f} s)"
            )
    lines = [f"\n[{label}] {PAIRS} pairs, {run.SECONDS:.0f} s per scenario, {run.CONNECTIONS} connections"]
    lines.append(
        f"{'scenario':<11}{'REF /s':>10}{'this /s':>10}{'ratio':>8}   {'pairs':<24}{'REF p99':>9}{'this p99':>10}"
    )
    for name in SCENARIOS:
        ref = [rate(r[name]) for r in runs["ref"]]
        this = [rate(r[name]) for r in runs["this"]]
        ratios = [t / r for t, r in zip(this, ref, strict=True) if r]
        ref_p99 = statistics.median(r[name].p99_ms for r in runs["ref"])
        this_p99 = statistics.median(r[name].p99_ms for r in runs["this"])
        errors = sum(r[name].errors for build in runs.values() for r in build)
        lines.append(
            f"{name:<11}{statistics.median(ref):>10.0f}{statistics.median(this):>10.0f}"
            f"{statistics.median(ratios):>8.2f}   {' '.join(f'{x:.2f}' for x in ratios):<24}"
            f"{ref_p99:>8.1f}ms{this_p99:>8.1f}ms" + (f"  ({errors} non-2xx)" if errors else "")
        )
    cpu_rows = [name for name in ("documents", "accounts") if name in SCENARIOS]
    if cpu_rows:
        lines.append("CPU per document, ms: server processes + writer processes + the database's backends"
                     " (medians of the pairs; a writer thread's is its server process's)")  # fmt: skip
        for name in cpu_rows:
            cells = []
            for build in ("ref", "this"):
                parts = [CPU_MS.get(id(r[name]), {}) for r in runs[build]]
                cells.append(" + ".join(f"{statistics.median(p.get(k, 0.0) for p in parts):.2f}"
                                        for k in ("servers", "writers", "postgres")))  # fmt: skip
            ratios = [
                sum(CPU_MS.get(id(t[name]), {}).values()) / sum(CPU_MS.get(id(r[name]), {}).values())
                for t, r in zip(runs["this"], runs["ref"], strict=True)
                if sum(CPU_MS.get(id(r[name]), {}).values())
            ]
            lines.append(f"{name:<11}REF {cells[0]:<23} this {cells[1]:<23} ratio {statistics.median(ratios):.2f}"
                         f"   ({' '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    return lines


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: bench/compare.py REF   (make bench-compare REF=<commit>)")
    if not shutil.which("wrk"):
        raise SystemExit("bench-compare needs wrk (Debian package `wrk`)")
    ref = sys.argv[1]
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", ref], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    DOCUMENT["invoice"]["date"] = date.today().strftime("%d/%m/%Y")  # type: ignore[index]
    with tempfile.TemporaryDirectory(prefix="ixcompare-") as tmp:
        work = Path(tmp)
        ref_tree = work / "ref"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "--detach", "--quiet", str(ref_tree), commit], check=True
        )
        try:
            say(f"bench-compare: this tree ({HERE}) against REF {ref} ({commit}), {PAIRS} pairs")
            lines = compare(ref_tree, work, "sqlite", None) if os.environ.get("COMPARE_SQLITE") != "0" else []
            pg_url = os.environ.get("BENCH_DATABASE_URL")
            if pg_url:
                lines += compare(ref_tree, work, "postgresql", pg_url)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(ref_tree)], check=False)
    print(f"\nbench-compare: this tree against {ref} ({commit}); ratio = median over the pairs of this / REF")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
