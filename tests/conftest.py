from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from tests.support import PG_ENV, Api, LiveServer, fresh_database, live_server

T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against IXSERVER_TEST_DATABASE_URL")
    one_tls_context_for_every_client()


def one_tls_context_for_every_client() -> None:
    """Every httpx client the tests make (each test's `Api`, each `httpx.get` of a poll) would load
    the CA bundle into a TLS context of its own: some 20 ms of CPU each, a third of what a plain
    API test costs, for tests that speak plain HTTP to 127.0.0.1. The default context (verified,
    no client certificate) is made once; any other `verify` or `cert` is made as asked."""
    import httpx._transports.default as transports  # where httpx's transports make their context

    made = transports.create_ssl_context
    if getattr(made, "one_for_every_client", False):
        return
    default = made()

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None and trust_env:
            return default
        return made(verify=verify, cert=cert, trust_env=trust_env)

    create_ssl_context.one_for_every_client = True  # type: ignore[attr-defined]
    transports.create_ssl_context = create_ssl_context


# The files that take longest in `make test`'s parallel part, longest first (test-seconds over
# both databases, measured on the project machine): they run first, and the many short ones
# fill the processes' ends. With `--no-loadscope-reorder` (Makefile) xdist's `--dist loadfile`
# hands files to its processes in the order collected; by default it orders them by their
# number of tests, which put the files of few long tests (servers and CLIs started) last, one
# process busy with them for minutes after the others had finished.
LONGEST_FIRST = (
    "tests/test_job_claims.py",  # ~60 s, mostly waiting: beside the others' CPU
    "tests/test_faults.py",  # the same, ~25 s
    "tests/api/test_fuzz.py",
    "tests/api/test_correction_races.py",
    "tests/test_cli.py",
    "tests/test_database_mode.py",
    "tests/api/test_adversarial.py",
    "tests/api/test_modes.py",
    "tests/api/test_list_filters.py",
    "tests/api/test_emails.py",
    "tests/api/test_renders.py",
    "tests/test_jobs_cli.py",
    "tests/api/test_accounts_api.py",
    "tests/api/test_pdf.py",
    "tests/api/test_invoices.py",
    "tests/test_testing_plugin.py",
    "tests/api/test_sandbox_seed.py",
    "tests/api/test_auth_and_errors.py",
    "tests/api/test_pages_in_chromium.py",
    "tests/test_verify_saft.py",
    "tests/api/test_saft.py",
    "tests/api/test_sandbox.py",
    "tests/api/test_lifecycle_machine.py",
    "tests/api/test_pdf_signatures.py",
    "tests/test_console_browser.py",
    "tests/test_writer_process.py",
    "tests/api/test_console.py",
    "tests/api/test_sandbox_recorder.py",
    "tests/api/test_large_lists.py",
    "tests/test_backup.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest as collected
    if os.environ.get(PG_ENV):
        return
    skip = pytest.mark.skip(reason=f"{PG_ENV} is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Kept:
    """What the session keeps of each backend (its database, its servers), made at its first use
    and stopped at the session's end. A session fixture parametrized by the backend is made again
    each time the backend changes, and `--dist loadfile` runs each file's SQLite tests, then its
    PostgreSQL ones: the session's databases and servers were made twice per file (a server's
    writer process alone ~2 s of CPU)."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.made: dict[tuple[str, str], Any] = {}

    def get(self, what: str, backend: str, make: Callable[[], AbstractContextManager[T]]) -> T:
        if (what, backend) not in self.made:
            self.made[what, backend] = self.stack.enter_context(make())
        return cast(T, self.made[what, backend])


@pytest.fixture(scope="session")
def kept_per_backend() -> Iterator[Kept]:
    with ExitStack() as stack:  # at the end: the servers, then their databases
        yield Kept(stack)


@pytest.fixture(scope="module")
def database_url(backend: str, kept_per_backend: Kept, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's sandbox database of this backend."""
    return kept_per_backend.get(
        "database", backend, lambda: fresh_database(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    )


@pytest.fixture(scope="module")
def server(
    backend: str, database_url: str, kept_per_backend: Kept, tmp_path_factory: pytest.TempPathFactory
) -> LiveServer:
    """One sandbox server per backend for the whole session; tests isolate by account."""
    return kept_per_backend.get(
        "server", backend, lambda: live_server(database_url, tmp_path_factory.mktemp("data"), sandbox=True)
    )


@pytest.fixture(scope="module")
def production(backend: str, kept_per_backend: Kept, tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """One production server per backend for the whole session, of a database of its own (a
    database keeps the mode it was made in); tests isolate by account."""
    return kept_per_backend.get(
        "production", backend, lambda: _production(backend, tmp_path_factory.mktemp("production"))
    )


@contextmanager
def _production(backend: str, tmp: Path) -> Iterator[LiveServer]:
    with fresh_database(backend, tmp) as url, live_server(url, tmp, sandbox=False) as srv:
        yield srv


@pytest.fixture
def api(server: LiveServer) -> Api:
    """A brand-new account on the shared server."""
    return server.account()


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    return tmp_path
