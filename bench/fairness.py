"""`make bench`'s fairness scenario: what one account's heaviest legal requests cost another.

A quiet account creates and finalizes documents (wrk, `documents.lua`, QUIET_CONNECTIONS
connections) for BENCH_SECONDS, first alone, then while a heavy account sends, without pause:
- from HEAVY_CONNECTIONS connections, bodies just under the 1 MB body limit that every request
  must parse and check: an invoice of 60,000 keys, an invoice with 80,000 numbers written with an
  exponent (`1e5`), taking turns;
- from one more connection, documents of LARGEST_DOCUMENT lines (created, then finalized).
It prints the quiet account's p50 and p99 in both runs and their ratio (target: p99 within 2× of
its p99 alone), for BENCH_FAIRNESS_ROUNDS rounds (3) that alternate the two, then the medians'
ratio, on SQLite and, with BENCH_DATABASE_URL=postgresql://…, on PostgreSQL (BENCH_FAIRNESS_ON=sqlite or
postgresql: one of them only).
Same server as `bench/run.py` (`serve --workers N`, one process per core). Needs wrk (it is
skipped without). BENCH_HEAVY=bodies or BENCH_HEAVY=documents: one of the two heavy loads only.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from ixserver.domain.limits import MAX_LINES  # noqa: E402
from run import DOCUMENT, LUA, SECONDS, WORKERS, Server, _wrk, empty_postgres  # noqa: E402

QUIET_CONNECTIONS = 4
HEAVY_CONNECTIONS = 4
LARGEST_DOCUMENT = MAX_LINES  # lines: the most a document may have (domain/limits.py)
BODY_LIMIT = 1_000_000  # IXSERVER_MAX_BODY_BYTES' default


def _today() -> str:
    return date.today().strftime("%d/%m/%Y")


def many_keys() -> bytes:
    """An invoice of 60,000 keys (~1 MB)."""
    invoice = {"date": _today(), "client": {"name": "Heavy", "code": "H1"}}
    invoice.update({f"k{i:05d}": i for i in range(60_000)})
    return _under_limit({"invoice": invoice})


def many_exponents() -> bytes:
    """An invoice carrying 80,000 numbers written with an exponent, in a key no rule reads."""
    head = json.dumps({"invoice": {"date": _today(), "client": {"name": "Heavy", "code": "H1"}}})[:-2]
    numbers = ",".join(f"{i % 9 + 1}.{i:06d}e5" for i in range(80_000))
    return _under_limit_raw(f'{head}, "notes": [{numbers}]}}}}'.encode())


def largest_document() -> bytes:
    items = [{"name": f"Item {i}", "description": f"Line {i} of the largest document", "unit_price": "12.50",
              "quantity": "3", "tax": {"name": "IVA23"}} for i in range(LARGEST_DOCUMENT)]  # fmt: skip
    return json.dumps(
        {"invoice": {"date": _today(), "client": {"name": "Heavy", "code": "H1"}, "items": items}}
    ).encode()


def _under_limit(body: dict[str, object]) -> bytes:
    return _under_limit_raw(json.dumps(body, separators=(",", ":")).encode())


def _under_limit_raw(raw: bytes) -> bytes:
    assert len(raw) <= BODY_LIMIT, len(raw)
    json.loads(raw)
    return raw


# The heavy account sends as fast as its rate limit lets it: IXSERVER_RATE_LIMIT's default, 780
# requests a minute (the bench's servers run without the limit, so that the quiet account is not
# held by it: the heavy one is held to it here). BENCH_HEAVY_RATE=0: as fast as it can, which no
# account can do against a server with its rate limit on (past it, a 429 before the body is read).
HEAVY_RATE = float(os.environ.get("BENCH_HEAVY_RATE", "780"))


class Pace:
    """Requests at most `per_minute` a minute, shared by the threads that wait on it."""

    def __init__(self, per_minute: float) -> None:
        self.every = 60.0 / per_minute if per_minute > 0 else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.every:
            return
        with self.lock:
            slot, self.next = self.next, max(self.next, time.monotonic()) + self.every
        time.sleep(max(0.0, slot - time.monotonic()))


class Heavy:
    """The heavy account's load, in threads (the load of wrk cannot be a 1 MB body per request)."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.pace = Pace(HEAVY_RATE)
        self.stop = threading.Event()
        self.answers: dict[int, int] = {}
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> Heavy:
        bodies = [many_keys(), many_exponents()]
        heavy = os.environ.get("BENCH_HEAVY", "bodies,documents").split(",")  # (to tell their costs apart)
        if "bodies" in heavy:
            for n in range(HEAVY_CONNECTIONS):
                self.threads.append(threading.Thread(target=self._bodies, args=(bodies[n % 2 :] + bodies[: n % 2],)))
        if "documents" in heavy:
            self.threads.append(threading.Thread(target=self._documents, args=(largest_document(),)))
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # under way before the quiet account is measured
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _count(self, status: int) -> None:
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1

    def _bodies(self, bodies: list[bytes]) -> None:
        url = f"{self.base}/invoices.json?api_key={self.key}"
        with httpx.Client(timeout=60) as client:
            n = 0
            while not self.stop.is_set():
                self.pace.wait()
                answer = client.post(url, content=bodies[n % len(bodies)], headers={"content-type": "application/json"})
                self._count(answer.status_code)
                n += 1

    def _documents(self, body: bytes) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                self.pace.wait()
                made = client.post(f"{self.base}/invoices.json?api_key={self.key}", content=body,
                                   headers={"content-type": "application/json"})  # fmt: skip
                self._count(made.status_code)
                if made.status_code == 201:
                    self.pace.wait()
                    document_id = made.json()["invoice"]["id"]
                    done = client.put(f"{self.base}/invoices/{document_id}/change-state.json?api_key={self.key}",
                                      json={"invoice": {"state": "finalized"}})  # fmt: skip
                    self._count(done.status_code)


def quiet(base: str, key: str) -> tuple[float, float, float, int]:
    """The quiet account's documents: requests/s, p50 and p99 (ms), non-2xx."""
    env = {"BENCH_KEY": key, "BENCH_BODY": json.dumps({"invoice": {**DOCUMENT["invoice"], "date": _today()}}),
           "BENCH_BAD_BODY": "", "BENCH_REFUSE_EVERY": "0"}  # fmt: skip
    _out, rps, p50, p99, errors = _wrk(base, LUA, env, connections=QUIET_CONNECTIONS, threads=1)
    return rps, p50, p99, errors


# Rounds of the two measures, alternated (alone, beside; beside, alone; …) as paired runs are: on a
# machine whose speed drifts, one pair of 10-second runs says more about the drift than the load.
ROUNDS = int(os.environ.get("BENCH_FAIRNESS_ROUNDS", "3"))


def scenario(label: str, data_dir: Path, database_url: str | None) -> dict[str, object]:
    # BENCH_ACCOUNT_PARSE_MS: the server's IXSERVER_ACCOUNT_PARSE_MS (0: no parsing budget), to compare
    budget = os.environ.get("BENCH_ACCOUNT_PARSE_MS")
    with Server(data_dir, database_url, **({"IXSERVER_ACCOUNT_PARSE_MS": budget} if budget else {})) as server:
        quiet_key = server.cli("accounts", "create", f"quiet{server.port}")
        heavy_key = server.cli("accounts", "create", f"heavy{server.port}")
        quiet(server.base, quiet_key)  # warm
        alone, loaded, answers = [], [], {}
        for n in range(ROUNDS):
            for beside in (False, True) if n % 2 == 0 else (True, False):
                if not beside:
                    alone.append(quiet(server.base, quiet_key))
                    continue
                with Heavy(server.base, heavy_key) as heavy:
                    loaded.append(quiet(server.base, quiet_key))
                for status, count in heavy.answers.items():
                    answers[status] = answers.get(status, 0) + count
        return {"label": label, "alone": alone, "loaded": loaded, "heavy": dict(sorted(answers.items()))}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    if shutil.which("wrk") is None:
        print("bench/fairness.py: skipped, wrk is not installed (apt-get install wrk)")
        return
    on = os.environ.get("BENCH_FAIRNESS_ON", "sqlite,postgresql").split(",")  # (one of the two alone)
    with tempfile.TemporaryDirectory(prefix="ixfair-") as tmp:
        results = [scenario("sqlite", Path(tmp) / "sqlite", None)] if "sqlite" in on else []
        pg_url = os.environ.get("BENCH_DATABASE_URL")
        if pg_url and "postgresql" in on:
            empty_postgres(pg_url)
            results.append(scenario("postgresql", Path(tmp) / "pg", pg_url))
    print(f"\nixserver bench — fairness: a quiet account's documents ({QUIET_CONNECTIONS} connections, wrk) alone, then"
          f" while a heavy account sends 1 MB bodies ({HEAVY_CONNECTIONS} connections) and documents of"
          f" {LARGEST_DOCUMENT} lines (1 connection), "
          f"{f'at most {HEAVY_RATE:.0f} requests a minute (its rate limit)' if HEAVY_RATE else 'as fast as it can'};"
          f" {SECONDS:.0f} s each, {WORKERS} server process(es)")  # fmt: skip
    for r in results:
        alone, loaded = r["alone"], r["loaded"]
        assert isinstance(alone, list) and isinstance(loaded, list)
        for n, (quiet_alone, quiet_beside) in enumerate(zip(alone, loaded, strict=True)):
            (rps0, p50_0, p99_0, err0), (rps1, p50_1, p99_1, err1) = quiet_alone, quiet_beside
            print(f"[{r['label']}] round {n + 1}: quiet alone {rps0:.0f} rps, p50 {p50_0:.1f} ms,"
                  f" p99 {p99_0:.1f} ms ({err0} non-2xx); beside the heavy account {rps1:.0f} rps,"
                  f" p50 {p50_1:.1f} ms, p99 {p99_1:.1f} ms ({err1} non-2xx);"
                  f" p99 ratio {p99_1 / p99_0:.2f}")  # fmt: skip
        p99_alone, p99_loaded = _median([a[2] for a in alone]), _median([b[2] for b in loaded])
        ratio = p99_loaded / p99_alone
        print(f"[{r['label']}] median of {len(alone)} rounds: p99 alone {p99_alone:.1f} ms,"
              f" beside {p99_loaded:.1f} ms; ratio {ratio:.2f} ({'meets' if ratio <= 2 else 'misses'} <= 2);"
              f" heavy answers {r['heavy']}")  # fmt: skip


if __name__ == "__main__":
    main()
