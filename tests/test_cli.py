"""The commands scripts rely on: migrate, accounts create (only the key on stdout), accounts
list, verify, serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import TEST_SECRET_KEY, free_port, fresh_database, ixserver_command, wait_ready


def environment(data_dir: Path, url: str | None = None, sandbox: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env["IXSERVER_DATA_DIR"] = str(data_dir)
    env["IXSERVER_SECRET_KEY"] = TEST_SECRET_KEY  # the test servers' (the seal's key comes from it)
    if url:
        env["IXSERVER_DATABASE_URL"] = url
    if sandbox:
        env["IXSERVER_SANDBOX"] = "1"
    return env


def ixserver(
    *args: str, data_dir: Path, url: str | None = None, sandbox: bool = False
) -> subprocess.CompletedProcess[str]:
    """The command, in a process of its own, forked from one that imported its modules once
    (tests.support.ixserver_command); `python -m ixserver` itself is run by the tests that say so."""
    return ixserver_command(environment(data_dir, url, sandbox), *args)


def test_accounts_create_prints_only_the_key(tmp_path: Path) -> None:
    """As scripts run it: `python -m ixserver` (the other tests fork the command's process)."""
    result = subprocess.run([sys.executable, "-m", "ixserver", "accounts", "create", "acme"],
                            env=environment(tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"[0-9a-f]{40}\n", result.stdout)
    assert (tmp_path / "ixserver.db").exists(), "default database is a SQLite file in the data directory"


def test_accounts_create_refuses_a_taken_or_invalid_name(tmp_path: Path) -> None:
    assert ixserver("accounts", "create", "acme", data_dir=tmp_path).returncode == 0
    taken = ixserver("accounts", "create", "acme", data_dir=tmp_path)
    assert taken.returncode == 1 and taken.stdout == ""
    assert "already been taken" in taken.stderr
    invalid = ixserver("accounts", "create", "not a subdomain", data_dir=tmp_path)
    assert invalid.returncode == 1 and invalid.stdout == ""


def test_a_database_that_cannot_be_reached_is_one_line_and_a_hint(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://postgres:s3cret@127.0.0.1:{port}/nowhere"
    for command in (("migrate",), ("accounts", "create", "acme"), ("verify",)):
        result = ixserver(*command, data_dir=tmp_path, url=url)
        assert result.returncode == 1 and result.stdout == ""
        first, hint = result.stderr.splitlines()
        assert first.startswith(f"error: the database at postgresql://postgres:***@127.0.0.1:{port}/nowhere failed:")
        assert "Connection refused" in first and "s3cret" not in result.stderr
        assert hint.startswith("hint: is it running")


def test_accounts_list_and_new_key(tmp_path: Path) -> None:
    ixserver("accounts", "create", "alpha", data_dir=tmp_path)
    ixserver("accounts", "create", "beta", data_dir=tmp_path)
    listed = ixserver("accounts", "list", data_dir=tmp_path)
    assert [line.split("\t")[1] for line in listed.stdout.splitlines()] == ["alpha", "beta"]
    key = ixserver("accounts", "key", "beta", data_dir=tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}\n", key.stdout)
    assert ixserver("accounts", "key", "nobody", data_dir=tmp_path).returncode == 1


def test_migrate_and_verify(tmp_path: Path, backend: str) -> None:
    with fresh_database(backend, tmp_path) as url:
        migrated = ixserver("migrate", data_dir=tmp_path, url=url)
        assert migrated.returncode == 0, migrated.stderr
        assert "database at revision" in migrated.stdout
        assert ixserver("accounts", "create", "acme", data_dir=tmp_path, url=url).returncode == 0
        verified = ixserver("verify", data_dir=tmp_path, url=url)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout == "ok: no problems found\n"


def test_verify_reports_a_broken_invariant(tmp_path: Path) -> None:
    ixserver("accounts", "create", "acme", data_dir=tmp_path)
    import sqlite3

    with sqlite3.connect(tmp_path / "ixserver.db") as conn:
        conn.execute("UPDATE sequences SET is_default = 0")
    result = ixserver("verify", data_dir=tmp_path)
    assert result.returncode == 1
    assert "acme: 0 default sequences" in result.stdout


def test_serve_with_demo_prints_key_and_curl_and_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    scratch = tmp_path / "tmp"  # where the writer process's socket lives while it runs
    scratch.mkdir()
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_ACCESS_LOG="1", TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ixserver", "serve", "--host", "127.0.0.1", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
        assert lines[0].startswith("ixserver ") and lines[0].endswith(": production mode (AT: manual)\n"), (
            "the mode first"
        )
        assert lines[1] == f"database: sqlite:///{tmp_path / 'ixserver.db'}\n"
        assert lines[2] == f"serving:  http://127.0.0.1:{port}\n"
        assert lines[3].startswith("PDFs:     NOT SIGNED: IXSERVER_PDF_SIGNING_P12 is not set."), "production, no P12"
        assert lines[4] == "Account: demo\n"
        key = lines[5].split()[-1]
        assert re.fullmatch(r"[0-9a-f]{40}", key)
        curl = lines[6]
        assert f"http://127.0.0.1:{port}/sequences.json?api_key={key}" in curl
        url = curl[curl.index("'") + 1 : curl.rindex("'")]
        wait_ready(f"http://127.0.0.1:{port}")
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.json()["sequences"][0]["default_sequence"] == 1
        assert [p.name for p in scratch.glob("ixserver-*/*")] == ["writer.sock"]
        assert _idle_connection_still_served(port, after=5.5), (
            "a connection idle for longer than httpx's own limit (5 s) is still open: the client closes it, "
            "never the server as the client sends on it"
        )
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM
    assert list(scratch.iterdir()) == [], "on SIGTERM, serve stops its writer process and removes its socket"
    assert key not in output, "the access log never shows an API key"
    assert "api_key=[REDACTED]" in output
    # a second start prints the same key (idempotent demo account)
    again = ixserver("accounts", "list", data_dir=tmp_path)
    assert [line.split("\t")[1] for line in again.stdout.splitlines()] == ["demo"]
    assert (tmp_path / "demo-api-key").read_text().strip() == key
    assert oct((tmp_path / "demo-api-key").stat().st_mode & 0o777) == "0o600"


def _idle_connection_still_served(port: int, *, after: float) -> bool:
    request = b"GET /_ixserver/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    def answer(conn: socket.socket) -> bytes:
        """One whole response (its head, then as many bytes as its Content-Length)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data  # closed
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += conn.recv(65536)
        return head

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        assert answer(conn).startswith(b"HTTP/1.1 200")
        time.sleep(after)
        conn.sendall(request)
        return answer(conn).startswith(b"HTTP/1.1 200")


def issued(tmp_path: Path, account: str, count: int) -> str:
    """An SQLite database in `tmp_path` where `account` has issued `count` invoices; its URL.
    The server has stopped when this returns."""
    from tests.api.invoicing import issue
    from tests.support import live_server

    url = f"sqlite:///{tmp_path / 'ixserver.db'}"
    with live_server(url, tmp_path, sandbox=True) as server:  # its accounts may issue at once
        api = server.account(account)
        for _ in range(count):
            issue(api)
        listed = api.get("/invoices.json").json()["pagination"]
        assert listed["total_entries"] == count
        assert api.get("/invoices.json", params={"status[]": "draft"}).json()["pagination"]["total_entries"] == 0
    return url


def test_verify_finds_a_tampered_chain(tmp_path: Path) -> None:
    env_url = issued(tmp_path, "tampered", 4)
    clean = ixserver("verify", data_dir=tmp_path, url=env_url, sandbox=True)
    assert clean.returncode == 0, clean.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "ixserver.db") as conn:
        conn.execute("UPDATE documents SET total = '999.00' WHERE number = 2")
        # another first character (a signature that began with "x" would otherwise stay as it was)
        first = "CASE substr(signature, 1, 1) WHEN 'x' THEN 'y' ELSE 'x' END"
        conn.execute(f"UPDATE documents SET signature = {first} || substr(signature, 2) WHERE number = 3")
        conn.execute("DELETE FROM document_lines WHERE document_id = (SELECT id FROM documents WHERE number = 4)")
        conn.execute("DELETE FROM documents WHERE number = 4")
    result = ixserver("verify", "--account", "tampered", data_dir=tmp_path, url=env_url, sandbox=True)
    assert result.returncode == 1
    from ixserver import clock

    year = clock.today().year  # the default series is named after it
    assert f"tampered: FT {year}/2: totals" in result.stdout
    assert f"tampered: FT {year}: the counter is at 4 but 3 documents are numbered" in result.stdout
    assert f"tampered: FT {year}/3: the signature does not verify" in result.stdout
    assert f"tampered: FT {year}: the chain head is not the last document's signature" in result.stdout


def test_verify_finds_list_totals_that_disagree_with_the_documents(tmp_path: Path) -> None:
    url = issued(tmp_path, "counted", 3)
    assert ixserver("verify", data_dir=tmp_path, url=url, sandbox=True).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "ixserver.db") as conn:
        # The server folded the changes its triggers recorded into the counts before it stopped.
        assert conn.execute("SELECT count(*) FROM document_count_changes").fetchone() == (0,)
        assert conn.execute("SELECT doc_type, status, n FROM document_counts WHERE n > 0").fetchall() == [
            ("invoice", "final", 3)
        ]
        conn.execute("UPDATE document_counts SET n = n + 2 WHERE status = 'final'")
        conn.execute("UPDATE document_day_counts SET n = n - 1 WHERE status = 'final'")
        conn.execute("UPDATE document_month_counts SET n = n + 1 WHERE status = 'final'")
    result = ixserver("verify", data_dir=tmp_path, url=url, sandbox=True)
    assert result.returncode == 1
    from ixserver import clock

    today = clock.today()
    assert "counted: 5 final invoice documents counted (not archived), but 3 stored" in result.stdout
    assert (
        f"counted: 2 final invoice documents dated {today.isoformat()} counted (not archived), but 3 stored"
        in result.stdout
    )
    assert (
        f"counted: 4 final invoice documents of {today.isoformat()[:7]} counted (not archived), but 3 stored"
        in result.stdout
    )


def test_serve_logs_json_lines_when_asked(tmp_path: Path) -> None:
    """IXSERVER_LOG_FORMAT=json: every line a JSON object, uvicorn's own records included; the
    request event with its id, status, latency and account, and the key redacted."""
    import json

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_ACCESS_LOG="1", IXSERVER_LOG_FORMAT="json",
               IXSERVER_SANDBOX="1", IXSERVER_SECRET_KEY=TEST_SECRET_KEY)  # fmt: skip
    key = ixserver("accounts", "create", "logs", data_dir=tmp_path, sandbox=True).stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/sequences.json", params={"api_key": key}, headers={"X-Request-Id": "abc-1"}
            ).status_code
            == 200
        )
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any(r.get("logger", "").startswith("uvicorn") and "timestamp" in r and "level" in r for r in records), output
    request = next(r for r in records if r.get("request_id") == "abc-1")
    assert (request["event"], request["status"], request["account"], request["path"]) == (
        "request",
        200,
        "logs",
        "/sequences.json",
    )
    assert request["query"] == "api_key=[REDACTED]" and isinstance(request["duration_ms"], float)
    assert key not in output


def test_serve_of_two_processes_exposes_their_metrics_and_finishes_the_requests_under_way_when_stopped(
    tmp_path: Path,
) -> None:
    """`serve --workers 2` (one server started for both checks: some 7 s of CPU each): its
    metrics, every process's added up; then SIGTERM while clients write, and what was under way
    is answered."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_ACCESS_LOG="0", IXSERVER_SANDBOX="1", IXSERVER_RATE_LIMIT="0",
               IXSERVER_SECRET_KEY=TEST_SECRET_KEY)  # fmt: skip
    made = ixserver("accounts", "create", "served", data_dir=tmp_path, sandbox=True)  # sandbox: it may issue at once
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port), "--workers", "2"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        exposes_prometheus_metrics_of_all_its_processes(base, key)
        finishes_the_requests_under_way_when_stopped(proc, base, key, tmp_path / "ixserver.db")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(20)


def exposes_prometheus_metrics_of_all_its_processes(base: str, key: str) -> None:
    """GET /metrics (no key): requests by route template and status, latency, the writer's batches
    (counted in the writer process: the samples of every process of the server add up), documents
    issued, read-cache hits, the jobs' depth."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.api.invoicing import body

    with httpx.Client(base_url=base, params={"api_key": key}) as http:
        draft = http.post("/invoices.json", json={"invoice": body()}).json()["invoice"]
        assert (
            http.put(f"/invoices/{draft['id']}/change-state.json", json={"invoice": {"state": "finalized"}}).status_code
            == 200
        )
        for _ in range(4):
            assert http.get(f"/invoices/{draft['id']}.json").status_code == 200
        assert http.get("/invoices/999999.json").status_code == 404
    answer = httpx.get(base + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(answer.text)
        for s in f.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    route = "/invoices/{document_id}.json"
    assert (
        value("ixserver_requests_total", method="GET", route=route, status="200") == 4
    )  # two processes' counts, added up
    assert value("ixserver_requests_total", method="GET", route=route, status="404") == 1
    assert value("ixserver_request_duration_seconds_count", method="GET", route=route) == 5
    assert value("ixserver_documents_issued_total", type="invoice") == 1
    assert value("ixserver_writer_batch_use_cases_count") >= 2  # in the writer process: a creation, a finalization
    assert value("ixserver_writer_queue_seconds_count") >= 2
    assert value("ixserver_jobs", status="queued") == 0
    assert key not in answer.text and "served" not in {v for (_n, labels) in samples for _k, v in labels}, (
        "no account in a label"
    )


def finishes_the_requests_under_way_when_stopped(proc: subprocess.Popen[bytes], base: str, key: str, db: Path) -> None:
    """SIGTERM to `serve --workers 2` while twelve clients create and finalize invoices: the
    requests under way are answered before it exits (exit status 0), none with a 5xx, and every
    creation and finalization that was answered is in the database as answered."""
    import sqlite3
    import threading

    from tests.api.invoicing import body

    answered: list[tuple[float, float, str, int, int | None]] = []  # (sent, answered, what, status, id)
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=base, params={"api_key": key}, timeout=30) as http:
            while not stop.is_set():
                try:
                    sent = time.monotonic()
                    made = http.post("/invoices.json", json={"invoice": body()})
                    document_id = made.json()["invoice"]["id"] if made.status_code == 201 else None
                    answered.append((sent, time.monotonic(), "created", made.status_code, document_id))
                    if document_id is None:
                        return
                    sent = time.monotonic()
                    done = http.put(
                        f"/invoices/{document_id}/change-state.json", json={"invoice": {"state": "finalized"}}
                    )
                    answered.append((sent, time.monotonic(), "finalized", done.status_code, document_id))
                except httpx.TransportError:
                    return  # refused or closed by the server going away: never answered

    clients = [threading.Thread(target=client) for _ in range(12)]
    try:
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        stop.set()
    for thread in clients:
        thread.join(30)
    assert answered and all(status < 500 for _s, _a, _w, status, _i in answered), answered
    drained = [a for a in answered if a[0] < stopped_at < a[1] and a[3] in (200, 201)]
    assert drained, "requests under way at SIGTERM were answered"
    with sqlite3.connect(db) as conn:
        status = dict(conn.execute("SELECT id, status FROM documents").fetchall())
    for _sent, _at, what, code, document_id in answered:
        if what == "created" and code == 201:
            assert document_id in status
        if what == "finalized" and code == 200:
            assert status[document_id] == "final"


def test_serve_says_its_mode_database_and_address_first_without_the_password() -> None:
    from ixserver.config import Settings
    from ixserver.serve import start_lines

    production = Settings(database_url="postgresql://ix:s3cret@db.example:5432/ixserver", sandbox=False)
    lines = start_lines(production, "0.0.0.0", 8000, 4)
    assert lines[0].endswith(": production mode (AT: manual)")
    assert lines[1] == "database: postgresql://ix:***@db.example:5432/ixserver"
    assert lines[2] == "serving:  http://0.0.0.0:8000 (4 server processes)"
    assert "s3cret" not in "\n".join(lines)
    assert start_lines(Settings(sandbox=True), "127.0.0.1", 8000, 1)[0].endswith(
        ": sandbox mode (training documents; AT simulated offline)"
    )
