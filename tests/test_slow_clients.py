"""Slow clients cannot hold a server's connections (src/ixserver/web/protocol.py): a request's head
and body have deadlines (a 408, and the connection closed), a connection on which nothing is
sent is closed, and one client address holds a bounded number of connections; a slowloris of
2,000 connections leaves another client served. The connections are the same whatever the
database: SQLite only."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import LiveServer, free_port, live_server, wait_ready

pytestmark = pytest.mark.slow  # thousands of connections: alone on the machine (make test's second part)

HEAD_SECONDS, BODY_SECONDS, PER_CLIENT = 2.0, 3.0, 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("slow")
    with live_server(f"sqlite:///{tmp / 'ixserver.db'}", tmp, sandbox=True, header_timeout_seconds=HEAD_SECONDS,
                     body_timeout_seconds=BODY_SECONDS, connections_per_client=PER_CLIENT) as srv:  # fmt: skip
        yield srv


def _connect(server: LiveServer, source: str = "127.0.0.1") -> socket.socket:
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.bind((source, 0))
    conn.settimeout(10)
    conn.connect(("127.0.0.1", server.port))
    return conn


def _until_closed(conn: socket.socket) -> tuple[bytes, float]:
    """What the server sent until it closed the connection, and when it closed it."""
    received = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic()
        received += chunk


HEALTH = b"GET /_ixserver/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_head_sent_too_slowly_is_a_408_and_the_connection_closes(server: LiveServer) -> None:
    with _connect(server) as conn:
        started = time.monotonic()
        conn.sendall(HEALTH[:20])
        time.sleep(0.5)
        conn.sendall(HEALTH[20:30])  # more bytes do not put the deadline off
        answer, closed = _until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {
        "errors": [{"error": "Request timeout: the request's headers did not arrive within 2 s"}]
    }
    assert HEAD_SECONDS - 0.1 <= closed - started < HEAD_SECONDS + 2


def test_a_connection_on_which_nothing_is_sent_is_closed(server: LiveServer) -> None:
    with _connect(server) as conn:
        started = time.monotonic()
        answer, closed = _until_closed(conn)
    assert answer == b"", "nothing was asked: nothing is answered"
    assert HEAD_SECONDS - 0.1 <= closed - started < HEAD_SECONDS + 2


def test_a_body_sent_too_slowly_is_a_408_and_the_connection_closes(server: LiveServer) -> None:
    api = server.account()
    head = (
        f"POST /clients.json?api_key={api.key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with _connect(server) as conn:
        started = time.monotonic()
        conn.sendall(head.encode() + b'{"client": ')
        answer, closed = _until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"the request's body did not arrive within 3 s" in answer
    assert BODY_SECONDS - 0.1 <= closed - started < BODY_SECONDS + 2
    assert httpx.get(f"{server.url}/_ixserver/health").status_code == 200


def test_a_slow_client_within_the_deadlines_and_an_idle_kept_connection_are_served(server: LiveServer) -> None:
    with _connect(server) as conn:
        for piece in (HEALTH[:10], HEALTH[10:25], HEALTH[25:]):
            conn.sendall(piece)
            time.sleep(HEAD_SECONDS / 4)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        time.sleep(HEAD_SECONDS + 1)  # idle between requests: the keep-alive's time, not the head's
        conn.sendall(HEALTH)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_an_address_holds_a_bounded_number_of_connections_and_others_are_served(server: LiveServer) -> None:
    held = [_connect(server) for _ in range(PER_CLIENT)]
    try:
        time.sleep(0.2)
        with _connect(server) as extra:
            started = time.monotonic()
            extra.sendall(HEALTH)
            answer, closed = _until_closed(extra)
        assert answer == b"" and closed - started < 1, "one more from that address is closed at once"
        with _connect(server, source="127.0.0.2") as other:
            other.sendall(HEALTH)
            assert other.recv(65536).startswith(b"HTTP/1.1 200 "), "another address is served"
    finally:
        for conn in held:
            conn.close()
    time.sleep(0.2)
    with _connect(server) as again:
        again.sendall(HEALTH)
        assert again.recv(65536).startswith(b"HTTP/1.1 200 "), "closed connections are no longer counted"


def test_a_slowloris_of_2000_connections_leaves_another_client_served(tmp_path: Path) -> None:
    """2,000 connections from 25 addresses (80 each, under the cap of 100) send their heads a
    byte at a time to `ixserver serve`, started with the usual soft limit of 1,024 descriptors;
    another client's requests are all answered, quickly, and every slow connection is closed
    by the head's deadline."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4_096:
        pytest.skip(f"the hard limit of open files ({hard}) is too low for 2,000 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port, head_seconds = free_port(), 4.0
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_SANDBOX="1", IXSERVER_LOG_LEVEL="warning",
               IXSERVER_ACCESS_LOG="0", IXSERVER_HEADER_TIMEOUT_SECONDS=str(head_seconds),
               TMPDIR=str(tmp_path))  # fmt: skip

    def usual_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1_024, hard), hard))

    proc = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, preexec_fn=usual_limit)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        slow: list[socket.socket] = []
        for index in range(2_000):
            conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            conn.bind((f"127.0.1.{index % 25 + 1}", 0))
            conn.connect(("127.0.0.1", port))
            conn.setblocking(False)
            slow.append(conn)
        opened = time.monotonic()
        open_ones, stop = set(slow), threading.Event()

        def trickle() -> None:
            """One more byte of the head on every connection, every 0.2 s; note which are closed."""
            sent = 0
            while open_ones and not stop.is_set():
                for conn in list(open_ones):
                    try:
                        if conn.recv(65536) == b"":
                            open_ones.discard(conn)
                            continue
                    except BlockingIOError:
                        pass
                    except OSError:
                        open_ones.discard(conn)
                        continue
                    try:
                        conn.send(
                            HEALTH[sent % len(HEALTH) : sent % len(HEALTH) + 1] if sent < len(HEALTH) - 4 else b"X"
                        )
                    except BlockingIOError:
                        pass
                    except OSError:
                        open_ones.discard(conn)
                sent += 1
                time.sleep(0.2)

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        durations, statuses = [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while time.monotonic() - opened < head_seconds - 1:
                began = time.monotonic()
                statuses.append(client.get("/_ixserver/health").status_code)
                durations.append(time.monotonic() - began)
        assert len(open_ones) > 1_900, "the slow connections were all open meanwhile"
        assert statuses and set(statuses) == {200}, statuses
        durations.sort()
        assert durations[int(len(durations) * 0.99)] < 0.5, durations[-10:]
        deadline = opened + head_seconds + 5
        while open_ones and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        trickler.join(5)
        assert not open_ones, f"{len(open_ones)} slow connections still open after the head's deadline"
        for conn in slow:
            conn.close()
        assert httpx.get(f"http://127.0.0.1:{port}/_ixserver/health").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
