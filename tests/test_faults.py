"""The database's faults are 503s with Retry-After, never 500s, and end by themselves (issue 23).

- PostgreSQL: the server's connections terminated (`pg_terminate_backend`, as a restart or an
  operator would) while reads and writes come in: every answer is a 200/201 or a 503 with
  Retry-After, then all are 200/201 again, and every write acknowledged is there. Made read-only
  (`default_transaction_read_only`, the server's connections ended so that new ones are): writes
  503 "read-only", the health check not ready with that reason, then 200 once it is writable.
- SQLite: a full disk, made with SQLite's `PRAGMA max_page_count` lowered on the writer process's
  connections (set on each as it is checked out, from a file this test writes: the database
  cannot grow), and a read-only database (`PRAGMA query_only`): writes 503 with Retry-After,
  nothing of them changed, the health check not ready with the reason, reads served; then the
  limit raised, the writer's probe finds it can write, health 200 and writes 201 again.
- A real full disk: SQLite on a small tmpfs this test mounts (root only), filled up, then freed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url

from ixserver.writes.use_cases import of_no_account
from tests.api.invoicing import body, issue
from tests.support import Api, LiveServer, admin_engine, fresh_database, live_server, wait_for

# In make test's parallel part, not among the slow proofs run alone: each test has a database and
# a server of its own (a fault is made on that database only), and mostly waits for the fault to
# show and to end, with seconds to spare on a loaded machine.

POSTGRES = [pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def own_server(backend: str, tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    with fresh_database(backend, tmp_path) as url, live_server(url, tmp_path, sandbox=True, **settings) as server:
        yield server


def health(server: LiveServer) -> httpx.Response:
    return httpx.get(f"{server.url}/_ixserver/health", timeout=30)


def not_ready(server: LiveServer) -> httpx.Response:
    """The health check once it says not ready: it looks at the writer's fault at most twice a
    second (api/context.HEALTH_FRESH), so within a second of the fault."""
    return wait_for(lambda: (r := health(server)).status_code != 200 and r, 5, "health not ready")  # type: ignore[no-any-return]


class Traffic:
    """Reads and writes of one account from several threads: what each was answered, and the
    documents whose creation was acknowledged."""

    def __init__(self, api: Api, invoice_id: int) -> None:
        self.api = api
        self.invoice_id = invoice_id
        self.created: list[int] = []
        self.lock = threading.Lock()

    def one(self, n: int) -> tuple[str, int, str | None, str]:
        api, kind = self.api, n % 5
        try:
            if kind == 0:
                response = api.post("/invoices.json", json={"invoice": body(), "proprietary_uid": secrets.token_hex(8)})
                if response.status_code == 201:
                    with self.lock:
                        self.created.append(response.json()["invoice"]["id"])
            elif kind == 1:
                response = api.get(f"/invoices/{self.invoice_id}.json")
            elif kind == 2:
                response = api.get("/invoices.json", params={"page": n})  # another page each time: read, not cached
            elif kind == 3:
                response = api.get("/clients.json", params={"page": n})
            else:
                response = api.get("/invoices.json", params={"reference": f"r{n}"})
        except httpx.HTTPError as exc:
            return (f"{kind}", -1, None, repr(exc))
        return (f"{kind}", response.status_code, response.headers.get("Retry-After"), response.text[:200])

    def burst(self, count: int, start: int = 0) -> list[tuple[str, int, str | None, str]]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(self.one, range(start, start + count)))


def terminate_backends(url: str) -> int:
    """End every connection to the database of `url` (but this one): what a restart does to them."""
    name = make_url(url).database
    engine = admin_engine(url.rsplit("/", 1)[0] + "/postgres")
    try:
        with engine.connect() as conn:
            ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                      " WHERE datname = :name AND pid <> pg_backend_pid()"),
                                 {"name": name}).scalar_one()  # fmt: skip
            conn.commit()
            return int(ended)
    finally:
        engine.dispose()


def alter_database(url: str, setting: str) -> None:
    name = make_url(url).database
    engine = admin_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" {setting}'))
    finally:
        engine.dispose()


def _faults_only(answers: list[tuple[str, int, str | None, str]]) -> None:
    """Every answer a success or a 503 with Retry-After: never a 500, never a dropped connection."""
    wrong = [a for a in answers if a[1] not in (200, 201) and not (a[1] == 503 and a[2])]
    assert not wrong, wrong[:5]


def _load(traffic: Traffic, stop: threading.Event, results: list[Any], n: int) -> None:
    while not stop.is_set():
        results.append(traffic.burst(8, n))
        n += 8


@pytest.mark.parametrize("backend", POSTGRES)
def test_terminated_connections_are_answered_200_or_503_then_200(backend: str, tmp_path: Path) -> None:
    with own_server(backend, tmp_path) as server:
        api = server.account()
        traffic = Traffic(api, issue(api)["id"])
        url = server.settings.resolved_database_url
        assert all(a[1] in (200, 201) for a in traffic.burst(40)), "before"
        answers: list[tuple[str, int, str | None, str]] = []
        for round_ in range(5):
            stop = threading.Event()
            results: list[list[tuple[str, int, str | None, str]]] = []
            loader = threading.Thread(target=_load, args=(traffic, stop, results, 1000 * (round_ + 1)))
            loader.start()  # requests under way when the connections end
            try:
                assert terminate_backends(url) > 0
                answers += traffic.burst(40, 100 * round_ + 50)  # the next 40, right after
            finally:
                stop.set()
                loader.join()
            answers += [a for burst in results for a in burst]
        _faults_only(answers)
        after = traffic.burst(40, 9000)
        assert all(a[1] in (200, 201) for a in after), [a for a in after if a[1] not in (200, 201)][:3]
        assert health(server).status_code == 200
        for document_id in traffic.created:  # nothing acknowledged is lost
            assert api.get(f"/invoices/{document_id}.json").status_code == 200
        print(f"{len(answers)} answers under terminations: {sum(a[1] == 503 for a in answers)} were 503")


@pytest.mark.parametrize("backend", POSTGRES)
def test_a_read_only_database_is_503_with_its_reason_until_it_is_writable(backend: str, tmp_path: Path) -> None:
    with own_server(backend, tmp_path) as server:
        api = server.account()
        url = server.settings.resolved_database_url
        alter_database(url, "SET default_transaction_read_only = on")
        try:
            terminate_backends(url)  # new connections are read-only
            refused = wait_for(
                lambda: (r := api.post("/invoices.json", json={"invoice": body()})).status_code == 503 and r, 30
            )
            assert refused.headers["Retry-After"] == "5" and "read-only" in refused.json()["errors"][0]["error"], (
                refused.text
            )
            status = not_ready(server)
            assert (status.status_code, status.json()) == (
                503,
                {"status": "unavailable", "reason": "writes: read-only"},
            )
            assert api.get("/invoices.json").status_code == 200, "reads are served"
        finally:
            alter_database(url, "RESET default_transaction_read_only")
            terminate_backends(url)
        wait_for(lambda: health(server).status_code == 200, 30, "healthy again by itself")
        assert api.post("/invoices.json", json={"invoice": body()}).status_code == 201
        assert [d["id"] for d in api.get("/invoices.json").json()["invoices"]] != []


# -- SQLite: the writer process's connections, limited from a file -----------------------------

_LIMITS: dict[str, str] = {}  # in the writer process: the file its connections read their limits from


@of_no_account
def limit_writer_connections(conn: Connection, path: str) -> None:
    """A use case (run in the writer process): each of the writer's connections, as it is checked
    out, is limited by the PRAGMAs written in the file at `path` (none when it is missing)."""
    if "path" not in _LIMITS:
        event.listen(conn.engine, "checkout", _limit)
    _LIMITS["path"] = path


def _limit(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    try:
        pragmas = Path(_LIMITS["path"]).read_text()
    except FileNotFoundError:
        pragmas = "PRAGMA max_page_count = 4294967294; PRAGMA query_only = 0;"
    for pragma in pragmas.split(";"):
        if pragma.strip():
            dbapi_conn.execute(pragma)


def _pages(server: LiveServer) -> int:
    with server.db.read() as conn:
        return int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())


@pytest.mark.parametrize(("fault", "reason"), [("full", "disk full"), ("read_only", "read-only")])
def test_sqlite_full_or_read_only_is_503_with_its_reason_then_recovers(tmp_path: Path, fault: str, reason: str) -> None:
    limits = tmp_path / "limits"
    with own_server("sqlite", tmp_path) as server:
        api = server.account()
        acknowledged = [issue(api)["id"]]
        server.ctx.writes.run_sync(limit_writer_connections, str(limits))
        acknowledged.append(issue(api)["id"])
        limits.write_text(f"PRAGMA max_page_count = {_pages(server)}" if fault == "full" else "PRAGMA query_only = 1")
        refused: list[httpx.Response] = []
        for _ in range(300):  # until the database cannot grow
            response = api.post("/invoices.json", json={"invoice": body()})
            if response.status_code == 201:
                acknowledged.append(response.json()["invoice"]["id"])
                continue
            refused.append(response)
            if len(refused) == 5:
                break
        assert len(refused) == 5, "the writes met the limit"
        for response in refused:
            assert response.status_code == 503 and response.headers["Retry-After"] == "5", response.text
            assert response.json() == {
                "errors": [
                    {
                        "error": (
                            f"The database is unavailable ({reason}); nothing was changed. Repeat the request in 5 s."
                        )
                    }
                ]
            }
        status = not_ready(server)
        assert (status.status_code, status.json(), status.headers["Retry-After"]) == (
            503,
            {"status": "unavailable", "reason": f"writes: {reason}"},
            "1",
        )
        assert (
            api.get("/invoices.json").status_code == 200
            and api.get(f"/invoices/{acknowledged[0]}.json").status_code == 200
        )
        limits.unlink()  # the disk has room again: nobody tells the server
        wait_for(lambda: health(server).status_code == 200, 30, "healthy again by itself")
        again = api.post("/invoices.json", json={"invoice": body()})
        assert again.status_code == 201, again.text
        acknowledged.append(again.json()["invoice"]["id"])
        listed = api.get("/invoices.json", params={"per_page": 100}).json()
        assert sorted(d["id"] for d in listed["invoices"]) == sorted(acknowledged), (
            "nothing lost, nothing of the 503s kept"
        )


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")
def test_sqlite_on_a_real_full_disk_is_503_then_recovers_when_space_is_freed(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with own_server("sqlite", mount) as server:
            api = server.account()
            acknowledged = [issue(api)["id"]]
            filler = mount / "filler"
            with filler.open("wb") as out:  # the disk, full
                try:
                    while True:
                        out.write(b"\0" * 65536)
                        out.flush()
                except OSError:
                    pass
            refused = None
            for _ in range(300):
                response = api.post("/invoices.json", json={"invoice": body()})
                if response.status_code != 201:
                    refused = response
                    break
                acknowledged.append(response.json()["invoice"]["id"])
            assert refused is not None and refused.status_code == 503 and refused.headers["Retry-After"], refused
            status = not_ready(server)
            assert status.status_code == 503 and status.json()["status"] == "unavailable", status.text
            assert status.json()["reason"] in ("writes: disk full", "writes: I/O error"), status.text
            filler.unlink()
            wait_for(lambda: health(server).status_code == 200, 30, "healthy again by itself")
            assert api.post("/invoices.json", json={"invoice": body()}).status_code == 201
            for document_id in acknowledged:
                assert api.get(f"/invoices/{document_id}.json").status_code == 200
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
