"""The writer process (writer_process.py): use cases and their outcomes cross it whole, a
failure stays with its use case, and a writer that dies is started again without a gap."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ixserver.config import Settings
from ixserver.domain.errors import MissingElement, ValidationFailed, WriterUnavailable
from ixserver.store.counters import next_number
from ixserver.store.migrate import upgrade
from ixserver.writer_process import WRITER_NICE, RemoteWriter, WriterProcess, running_writer, services
from tests.api.invoicing import body, finalize
from tests.store.conftest import invoice_counter
from tests.support import LiveServer


def refuse(_conn: Any, *messages: str) -> None:
    raise ValidationFailed(*messages, code="007")


def a_lock(_conn: Any) -> threading.Lock:
    return threading.Lock()  # cannot be pickled


def signer_version(_conn: Any, signer: Any) -> int:
    return int(signer.version)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'ix.db'}"
    upgrade(url)
    return Settings(database_url=url, data_dir=tmp_path, public_url="http://127.0.0.1", rate_limit=0)


@pytest.fixture
def writer(settings: Settings) -> Iterator[WriterProcess]:
    process = WriterProcess(settings).start()
    try:
        yield process
    finally:
        process.stop()


def test_domain_errors_cross_processes_whole() -> None:
    for error in (MissingElement("client"), ValidationFailed("one", "two", code="007"), WriterUnavailable()):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.messages, copy.code, str(copy)) == (error.messages, error.code, str(error))


def test_outcomes_errors_and_services_cross_the_socket(settings: Settings, writer: WriterProcess) -> None:
    from ixserver.store.db import Database

    db = Database(settings.resolved_database_url)
    sub_id = invoice_counter(db)
    db.dispose()
    ours = services(settings)
    remote = RemoteWriter(writer.path, ours)

    async def session() -> list[Any]:
        await remote.open()
        results = await asyncio.gather(
            *(remote.run(next_number, sub_id) for _ in range(50)),
            remote.run(refuse, "no", "never"),
            remote.run(a_lock),
            remote.run(signer_version, ours["signer"]),
            return_exceptions=True,
        )
        results.append(await remote.stats())
        remote.stop()
        return results

    *numbers, refused, unsendable, version, stats = asyncio.run(session())
    assert sorted(numbers) == list(range(1, 51)), "use cases of one batch are numbered without gaps"
    assert isinstance(refused, ValidationFailed) and refused.messages == ["no", "never"] and refused.code == "007"
    assert isinstance(unsendable, RuntimeError) and "could not send back lock" in str(unsendable)
    assert version == ours["signer"].version, "the signer travels by name; the writer uses its own"
    assert stats["use_cases"] == 53 and stats["batches"] >= 1


def test_a_writer_that_dies_is_started_again_and_numbering_goes_on(settings: Settings, writer: WriterProcess) -> None:
    server = LiveServer(settings.model_copy(update={"writer_socket": writer.path})).start()
    try:
        api = server.account()
        first = api.post("/invoices.json", json={"invoice": body()})
        assert finalize(api, "invoice", first.json()["invoice"]["id"])["sequence_number"].startswith("1/")
        killed = writer.pid
        os.kill(killed, signal.SIGKILL)
        deadline, statuses = time.monotonic() + 30, []
        while True:
            response = api.post("/invoices.json", json={"invoice": body()})
            statuses.append(response.status_code)
            if response.status_code == 201 or time.monotonic() > deadline:
                break
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "1"
            assert "writer" in response.json()["errors"][0]["error"]
            time.sleep(0.1)
        assert statuses[-1] == 201, statuses
        assert writer.pid != killed
        assert finalize(api, "invoice", response.json()["invoice"]["id"])["sequence_number"].startswith("2/")
    finally:
        server.stop()


def test_running_writer_is_for_sqlite_only(settings: Settings) -> None:
    with running_writer(settings.model_copy(update={"writer_process": False})) as path:
        assert path is None
    with running_writer(settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1/none"})) as path:
        assert path is None
    with running_writer(settings) as path:
        assert path is not None and Path(path).is_socket()
        assert Path(path).parent.stat().st_mode & 0o777 == 0o700, "only its user may send it pickles"
    assert not Path(path).exists(), "its socket is removed with it"


def test_documents_cross_by_position(server: LiveServer, api: Any) -> None:
    """Documents and their lines travel as their fields in order (domain/documents.py)."""
    from ixserver.services.accounts import get_account
    from ixserver.services.documents import get_document

    issued = api.post("/invoices.json", json={"invoice": body()}).json()["invoice"]
    with server.db.read() as conn:
        document = get_document(conn, get_account(conn, api.name).id, issued["id"])
    copy = pickle.loads(pickle.dumps(document))
    assert copy == document and copy.lines == document.lines and len(copy.lines) == len(body()["items"])


def test_the_writer_asks_for_a_larger_share_of_the_cpu(writer: WriterProcess) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    expected = max(ours + WRITER_NICE, -20) if os.geteuid() == 0 else ours  # only root may raise it
    assert os.getpriority(os.PRIO_PROCESS, writer.pid) == expected
