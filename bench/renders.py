"""`make bench`: 200 downloads of the PDF of the largest document the API accepts, and the memory
of the server's processes meanwhile (issue 23: drawn in the server process, one 12,000-line PDF
left a worker at 13.7 GB, and 1,000 lines added 200 MB for good).

Since issue 26 the first download draws and signs the PDF and keeps it; the others are its kept
bytes (the inputs are still made, to check they are unchanged, and 1.1 MB read and sent): the
server processes' memory is still what is measured, the children draw once.

`serve --workers N` as bench/run.py starts it, 2 clients at once. The largest document: the most
lines a document may have (domain/limits.py MAX_LINES), each with as much text as a 1 MB body
carries. Printed: the resident memory (VmRSS) of `serve`'s own processes — the server processes
and the writer — after the first 20 PDFs and after all 200, the PDFs' times, and the peak of
the child processes that draw them (render/children.py). Environment: RENDERS_DOWNLOADS (200).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import Server, say  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from ixserver.domain.limits import MAX_LINES  # noqa: E402

DOWNLOADS = int(os.environ.get("RENDERS_DOWNLOADS", "200"))
CLIENTS = 2  # the cores of the machine the figures come from
LINES = [{"name": f"Artigo {n}", "description": f"Artigo {n} " + "palavra " * 475, "unit_price": "12.34",
          "quantity": "2", "tax": {"name": "IVA23"}} for n in range(MAX_LINES)]  # fmt: skip


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def status(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    unlimited = {"IXSERVER_PUBLIC_RATE_LIMIT": "0", "IXSERVER_PUBLIC_ADDRESS_RATE_LIMIT": "0"}  # one PDF, 200 times
    with tempfile.TemporaryDirectory() as data, Server(Path(data), None, **unlimited) as server:
        assert server.proc is not None
        key = server.cli("accounts", "create", "renders")
        params = {"api_key": key}
        created = httpx.post(f"{server.base}/invoices.json", params=params, json={"invoice": {"items": LINES,
                             "client": {"name": "Bench Client", "code": "B1"}}}, timeout=60)  # fmt: skip
        assert created.status_code == 201, created.text[:300]
        document = created.json()["invoice"]
        httpx.put(f"{server.base}/invoices/{document['id']}/change-state.json", params=params,
                  json={"invoice": {"state": "finalized"}}, timeout=60).raise_for_status()  # fmt: skip
        url = f"{server.base}/documents/{document['permalink'].rsplit('/', 1)[1]}/original.pdf"
        say(f"  renders: {DOWNLOADS} PDFs of {MAX_LINES} lines, {len(created.request.content) // 1000} kB of body")
        ours = children(server.proc.pid)  # the server processes and the writer
        peaks: dict[int, int] = {}
        sizes: set[int] = set()
        refused: list[str] = []

        def fetch(_n: int) -> float:
            started = time.perf_counter()
            answer = httpx.get(url, timeout=120)
            if answer.status_code == 200 and answer.content.startswith(b"%PDF-"):
                sizes.add(len(answer.content))
            else:
                refused.append(f"{answer.status_code} {answer.text[:120]}")
            for process in ours:
                for child in children(process):
                    peaks[child] = max(peaks.get(child, 0), status(child, "VmHWM"))
            return time.perf_counter() - started

        with ThreadPoolExecutor(CLIENTS) as pool:
            first = list(pool.map(fetch, range(20)))
            settled = {pid: status(pid, "VmRSS") for pid in ours}
            rest = list(pool.map(fetch, range(DOWNLOADS - 20)))
        after = {pid: status(pid, "VmRSS") for pid in ours}
        times = sorted(first + rest)
        print(f"renders: {DOWNLOADS} PDFs ({max(sizes) // 1000} kB, {len(sizes)} size(s)),"
              f" p50 {statistics.median(times):.2f} s, max {times[-1]:.2f} s")  # fmt: skip
        print(
            "renders: serve's processes' VmRSS after 20 PDFs -> after all: "
            + ", ".join(f"{settled[pid]} -> {after[pid]} MB" for pid in ours)
        )
        print(f"renders: {len(refused)} not drawn{': ' + refused[0] if refused else ''}")
        print(f"renders: {len(peaks)} drawing children over the run, peak VmHWM {max(peaks.values(), default=0)} MB")


if __name__ == "__main__":
    main()
