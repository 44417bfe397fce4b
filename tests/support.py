"""Test support: real servers, real databases, a small HTTP client."""

from __future__ import annotations

import functools
import http.client
import json
import os
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ixserver.app import create_app
from ixserver.clock import Clock
from ixserver.config import Settings
from ixserver.resources import Resources
from ixserver.serve import server_config
from ixserver.services.accounts import create_account
from ixserver.store.accounts import account_by_name, lock_account_writes
from ixserver.store.counters import take_number
from ixserver.store.db import Database, admin_engine
from ixserver.store.migrate import upgrade
from ixserver.writes.direct import DirectWrites
from ixserver.writes.process import running_writer
from ixserver.writes.use_cases import of_no_account

TEST_DATA = Path(__file__).resolve().parent / "data"
PG_ENV = "IXSERVER_TEST_DATABASE_URL"
# Servers that share a database share their keys, as production instances must: the signing
# key is AT's published sample key (test only), the secret key a fixed test Fernet key.
TEST_SECRET_KEY = "aXhzZXJ2ZXItdGVzdC1zZWNyZXQta2V5LTAxMjM0NTY="


def data_file(name: str) -> Path:
    """A reference file of tests/data (provenance in its README)."""
    path = TEST_DATA / name
    if not path.exists():
        raise AssertionError(f"test data {name} is missing: expected it at {path}")
    return path


@of_no_account  # the counter alone: no account's lock (the proofs race on the counter itself)
def next_number(conn: Any, sub_sequence_id: int) -> int:
    """The next number of a counter alone (the counter proofs and the writer tests allocate)."""
    return take_number(conn, sub_sequence_id).number


class MovedClock(Clock):
    """The system's clock, moved on by what the test asked: a test moves its app's time (the
    rate limits' minute) instead of waiting for the wall clock to get there."""

    def __init__(self) -> None:
        self.moved = 0.0

    def time(self) -> float:
        return super().time() + self.moved

    def monotonic(self) -> float:
        return super().monotonic() + self.moved

    def move(self, seconds: float) -> None:
        self.moved += seconds

    def to_a_fresh_minute(self) -> None:
        """To the start of the next calendar minute: counts per minute start from nothing, with
        the whole minute ahead."""
        self.move(60 - self.time() % 60 + 0.001)


@functools.cache
def resources_for_tests() -> Resources:
    """What the test servers' processes have (AT's sample signing key, the test secret key, the
    sandbox's simulator), for tests that write without a server."""
    settings = Settings(data_dir=Path(tempfile.gettempdir()), secret_key=TEST_SECRET_KEY, sandbox=True,
                        signing_key_file=data_file("at-sample-keys/at-sample-private-key.pem"))  # fmt: skip
    return Resources.from_settings(settings)


def write(db: Database, fn: Any, *args: Any) -> Any:
    """`fn(conn, *args)` in a write transaction of its own, committed (the CLI's path): `fn` is a
    use case, marked as the write path wants (a test's own write: `of_no_account(lambda conn: …)`)."""
    return DirectWrites(db).run_sync(fn, *args)


def wait_for(found: Any, seconds: float = 30.0, what: str = "") -> Any:
    """`found()`'s first true value, asked every 50 ms; fails the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not in time{': ' + what if what else ''}")


def ixserver_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`ixserver *args` with the settings of `env` (its IXSERVER_ variables replace this process's),
    as a process forked from one that imported the commands once (tests/commands.py): the
    command's own code, its exit code, stdout and stderr, without an interpreter's start and the
    CLI's imports (about 1 s of CPU a command). A test runs a command as `python -m ixserver`
    where the process's start is what it proves (the entry point, tests/test_cli.py; a command
    beside a running server's processes, once)."""
    from tests import commands

    settings = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    settings.update((k, v) for k, v in env.items() if k.startswith("IXSERVER_"))
    return commands.run(list(args), settings)


@contextmanager
def smtp_server(handler: Any, port: int | None = None) -> Iterator[int]:
    """A real SMTP server (aiosmtpd) on `port` (else a free one) of 127.0.0.1, answering with
    `handler`'s hooks, while the block runs: its port."""
    from aiosmtpd.controller import Controller

    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of IXSERVER_TEST_DATABASE_URL."""
    base = os.environ[PG_ENV]
    name = f"ixserver_test_{secrets.token_hex(4)}"
    admin = admin_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'ixserver.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


class Api:
    """Calls the API as one account: adds `api_key` to every request."""

    def __init__(self, base_url: str, key: str, name: str) -> None:
        self.base_url = base_url
        self.key = key
        self.name = name
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, params={**(params or {}), "api_key": self.key}, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


@dataclass(frozen=True)
class Answer:
    """An answer read by `Wire`: what the tests read of httpx's `Response`."""

    status_code: int
    content: bytes
    elapsed: float  # seconds

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Wire:
    """An account's requests for a test that sends thousands: each built by its `Api`'s httpx
    client (`build_request`: the request line, query encoding, headers and body httpx sends;
    the API key last, as `Api.request` adds it, unless `key=False`) and written as is on one
    kept-alive connection of http.client, whose answer costs a quarter of the CPU of httpx's
    transport (0.3 ms against 1.4 ms a request)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        url = api.http.base_url
        self.connection = http.client.HTTPConnection(url.host, url.port, timeout=30)

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, key: bool = True, **kw: Any
    ) -> Answer:
        if key:
            params = {**(params or {}), "api_key": self.api.key}
        request = self.api.http.build_request(method, path, params=params, **kw)
        target = request.url.raw_path.decode("ascii")
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                self.connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in request.headers.raw:
                    self.connection.putheader(name, value)
                self.connection.endheaders(request.content or None)
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed the kept-alive connection (after a 500) before reading the request: on a new one
                self.connection.close()
                if attempt == 2:
                    raise
                continue
            assert response.getheader("content-encoding") is None, "an encoded answer: Answer does not decode it"
            return Answer(response.status, body, time.monotonic() - started)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def wait_ready(base: str, seconds: float = 60) -> None:
    """Until the server at `base` answers its readiness check (`/_ixserver/health`) with 200;
    fails the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(base + "/_ixserver/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the server at {base} did not become ready"
        time.sleep(0.05)


def admin_query(url: str, sql: str) -> Any:
    """One value from one query, on a throwaway connection to the database at `url`."""
    engine = admin_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


class LiveServer:
    """The real app, served by uvicorn over TCP on 127.0.0.1, in a background thread; `clock`,
    the time its rate limits count by, is the test's to move. Unlike `serve`'s, its first PDF
    child and its parser process are started by the first PDF and the first large body
    (`prestart=True`: as it starts, as `serve`'s are): most tests need neither, and each costs an
    interpreter's start, some seconds on a loaded machine, at its start and at its stop."""

    def __init__(
        self,
        settings: Settings,
        writer_socket: str | None = None,
        clock: MovedClock | None = None,
        *,
        prestart: bool = False,
    ) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock = clock if clock is not None else MovedClock()
        self.app = create_app(settings, writer_socket, clock=self.clock, prestart=prestart)
        config = server_config(settings, self.app, host="127.0.0.1", port=self.port, log_level="warning")  # as `serve`
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.db = Database(settings.resolved_database_url)
        self.resources = Resources.from_settings(settings)  # accounts are made as the server makes them
        # accounts whose rows a test changed behind the rules and the seal, on purpose: `verify` finds them
        self.tampered: set[str] = set()

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + self.settings.worker_start_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/_ixserver/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        raise RuntimeError("test server did not start (its startup error is in the captured log)")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.db.dispose()

    @contextmanager
    def by_hand(self, api: Api) -> Iterator[Connection]:
        """A transaction that changes the account's rows by hand (SQL outside the write path, as
        a repair would): it takes the account's lock and moves its version on as every writer
        does, so that the read caches see it on PostgreSQL too."""
        with self.db.transaction() as conn:
            found = account_by_name(conn, api.name)
            assert found is not None, api.name
            lock_account_writes(conn, found.id)
            yield conn

    def account(self, name: str | None = None, *, registered: bool = True, **attrs: Any) -> Api:
        """A new account (fresh tenant per test), created through the service layer as the
        server creates them: in sandbox, with a test NIF and its first series registered.
        `registered=False`: as an account made before that, its first series unregistered."""
        name = name or f"t{secrets.token_hex(5)}"
        _account, key = write(
            self.db,
            of_no_account(lambda conn: create_account(conn, name, self.resources, register=registered, **attrs)),
        )
        return Api(self.url, key, name)


@contextmanager
def live_server(
    url: str, data_dir: Path, clock: MovedClock | None = None, *, prestart: bool = False, **overrides: Any
) -> Iterator[LiveServer]:
    """A LiveServer of these settings (`overrides`); `clock`: one that another server has too
    (instances of one server share its minutes); `prestart`: its PDF child and parser process
    started with it, as `serve` starts them."""
    upgrade(url)
    options: dict[str, Any] = {
        "public_url": "http://127.0.0.1",
        "rate_limit": 0,
        "public_rate_limit": 0,
        "public_address_rate_limit": 0,
        # One address (127.0.0.1) for every client of the session's shared servers, whose pools
        # keep their connections: the cap per client address is tested on servers of its own.
        "connections_per_client": 0,
        "access_log": False,
        "signing_key_file": data_file("at-sample-keys/at-sample-private-key.pem"),
        "secret_key": TEST_SECRET_KEY,
        **overrides,
    }
    settings = Settings(database_url=url, data_dir=data_dir, **options)
    # As `ixserver serve` does: on SQLite, writes go to a writer process.
    with running_writer(settings) as writer_socket:
        server = LiveServer(settings, writer_socket, clock, prestart=prestart).start()
        try:
            yield server
        finally:
            server.stop()
