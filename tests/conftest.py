from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PG_ENV, Api, LiveServer, fresh_database, live_server

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against IXSERVER_TEST_DATABASE_URL")


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
