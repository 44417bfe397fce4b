from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import PG_ENV, Api, LiveServer, fresh_database, live_server

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
    if getattr(made, "shared", False):
        return
    default = made()

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None and trust_env:
            return default
        return made(verify=verify, cert=cert, trust_env=trust_env)

    create_ssl_context.shared = True  # type: ignore[attr-defined]
    transports.create_ssl_context = create_ssl_context


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(PG_ENV):
        return
    skip = pytest.mark.skip(reason=f"{PG_ENV} is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(backend, tmp_path_factory.mktemp(f"db-{backend}")) as url:
        yield url


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One sandbox server per backend for the whole session; tests isolate by account."""
    with live_server(database_url, tmp_path_factory.mktemp("data"), sandbox=True) as srv:
        yield srv


@pytest.fixture
def api(server: LiveServer) -> Api:
    """A brand-new account on the shared server."""
    return server.account()


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    return tmp_path
