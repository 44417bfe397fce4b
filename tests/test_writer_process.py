"""The writer process (ixserver/writes/): use cases and their outcomes cross it whole, a
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

import httpx
import pytest

from ixserver.config import Settings
from ixserver.domain.errors import DocumentCreationInProgress, MissingElement, ValidationFailed
from ixserver.resources import Resources
from ixserver.store.migrate import upgrade
from ixserver.writes import crossing
from ixserver.writes.process import WRITER_NICE, WriterProcess, running_writer
from ixserver.writes.remote import RemoteWriter, WriterUnavailable
from ixserver.writes.use_cases import NotAUseCase, of_account, of_no_account
from tests.api.invoicing import body, finalize
from tests.store.conftest import invoice_counter
from tests.support import LiveServer, next_number


@of_no_account
def refuse(_conn: Any, *messages: str) -> None:
    raise ValidationFailed(*messages, code="007")


@of_no_account
def a_lock(_conn: Any) -> threading.Lock:
    return threading.Lock()  # cannot be pickled


@of_no_account
def signer_version(_conn: Any, resources: Resources) -> int:
    return resources.signer.version


@of_account
def writer_of(_conn: Any, account_id: int) -> int:
    return os.getpid()


@of_no_account
def writer_of_no_account(_conn: Any) -> int:
    return os.getpid()


def unmarked(_conn: Any) -> None:
    """Not marked as a use case (writes/use_cases.py): the writer process refuses it too."""


class Odd(Exception):
    """An error whose constructor's arguments are not its `args`."""

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"odd: {reason}")
        self.reason = reason


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'ix.db'}"
    upgrade(url)
    return Settings(
        database_url=url,
        data_dir=tmp_path,
        public_url="http://127.0.0.1",
        rate_limit=0,
        signing_key_version=3,
        sandbox=True,  # its accounts issue at once
    )


@pytest.fixture
def writer(settings: Settings) -> Iterator[WriterProcess]:
    process = WriterProcess(settings).start()
    try:
        yield process
    finally:
        process.stop()


def test_errors_cross_processes_whole() -> None:
    errors = (
        MissingElement("client"),
        ValidationFailed("one", "two", code="007"),
        DocumentCreationInProgress("UID-1"),
        WriterUnavailable(),
    )
    for error in errors:
        _job, ok, copy = crossing.read_outcome(crossing.frames(bytearray(crossing.outcome(1, False, error)))[0])
        assert not ok and type(copy) is type(error)
        assert (copy.messages, copy.code, str(copy)) == (error.messages, error.code, str(error))
    _job, _ok, odd = crossing.read_outcome(crossing.frames(bytearray(crossing.outcome(2, False, Odd(reason="x"))))[0])
    assert type(odd) is Odd and odd.reason == "x" and str(odd) == "odd: x"


def test_outcomes_errors_and_services_cross_the_socket(settings: Settings, writer: WriterProcess) -> None:
    from ixserver.store.db import Database

    db = Database(settings.resolved_database_url)
    sub_id = invoice_counter(db)
    db.dispose()
    remote = RemoteWriter(writer.path)

    async def session() -> list[Any]:
        await remote.open()
        results = await asyncio.gather(
            *(remote.run(next_number, sub_id) for _ in range(50)),
            remote.run(refuse, "no", "never"),
            remote.run(a_lock),
            remote.run_with_resources(signer_version),
            remote._call(unmarked, (), False),  # past the server process's own refusal (remote.py)
            return_exceptions=True,
        )
        results.append(await remote.stats())
        remote.close()
        return results

    *numbers, refused, unsendable, version, not_a_use_case, stats = asyncio.run(session())
    assert sorted(numbers) == list(range(1, 51)), "use cases of one batch are numbered without gaps"
    assert isinstance(refused, ValidationFailed) and refused.messages == ["no", "never"] and refused.code == "007"
    assert isinstance(unsendable, RuntimeError) and "could not send back lock" in str(unsendable)
    assert version == 3, "use cases that need resources get the writer's own"
    assert isinstance(not_a_use_case, NotAUseCase) and "without a mark" in str(not_a_use_case), "answered, not a crash"
    assert stats["use_cases"] == 53 and stats["batches"] >= 1


def test_a_writer_that_dies_is_started_again_and_numbering_goes_on(settings: Settings, writer: WriterProcess) -> None:
    server = LiveServer(settings, writer.path).start()
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


def test_accounts_are_shared_between_writer_processes_by_their_number(settings: Settings) -> None:
    """PostgreSQL's `serve --workers N` runs N writers (remote.py): each account's use cases all
    go to one, the account's number modulo N; a use case of no account to the first."""
    writers = [WriterProcess(settings).start() for _ in range(2)]
    try:
        remote = RemoteWriter(os.pathsep.join(w.path for w in writers))

        async def session() -> tuple[list[int], int, dict[str, Any]]:
            await remote.open()
            pids = await asyncio.gather(*(remote.run(writer_of, account) for account in (2, 3, 4, 5, 2, 3)))
            first = await remote.run(writer_of_no_account)
            stats = await remote.stats()
            remote.close()
            return pids, first, stats

        pids, first, stats = asyncio.run(session())
        assert Path(f"/proc/{writers[0].pid}/comm").read_text().strip() == "ixserver-writer", "named in ps and top"
    finally:
        for writer in writers:
            writer.stop()
    even, odd = writers[0].pid, writers[1].pid
    assert pids == [even, odd, even, odd, even, odd]
    assert first == even
    assert stats["use_cases"] == 7 and stats["writers"] == 2


def test_running_writer_runs_unless_told_not_to(settings: Settings) -> None:
    with running_writer(settings.model_copy(update={"writer_process": False})) as path:
        assert path is None
    with running_writer(settings) as path:
        assert path is not None and Path(path).is_socket()
        assert Path(path).parent.stat().st_mode & 0o777 == 0o700, "only its user may send it pickles"
    assert not Path(path).exists(), "its socket is removed with it"


def test_documents_cross_by_position(server: LiveServer, api: Any) -> None:
    """Documents and their lines travel as their fields in order (writes/crossing.py)."""
    from ixserver.services.accounts import get_account
    from ixserver.services.documents import get_document

    issued = api.post("/invoices.json", json={"invoice": body()}).json()["invoice"]
    with server.db.read() as conn:
        document = get_document(conn, get_account(conn, api.name).id, issued["id"])
    copy = pickle.loads(crossing.dumps(document))
    assert crossing.dumps(document) != pickle.dumps(document, crossing.PROTOCOL), "by position, not by name"
    assert copy == document and copy.lines == document.lines and len(copy.lines) == len(body()["items"])


def test_the_writer_asks_for_a_larger_share_of_the_cpu(writer: WriterProcess) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    expected = max(ours + WRITER_NICE, -20) if os.geteuid() == 0 else ours  # only root may raise it
    assert os.getpriority(os.PRIO_PROCESS, writer.pid) == expected


def test_health_is_503_while_writes_cannot_be_served(settings: Settings) -> None:
    process = WriterProcess(settings).start()
    server = LiveServer(settings, process.path).start()
    try:
        assert httpx.get(f"{server.url}/_ixserver/health").status_code == 200
        process.stop()  # the writer is gone and nothing starts it again
        response = httpx.get(f"{server.url}/_ixserver/health")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.json() == {
            "status": "unavailable",
            "reason": "writes: the writer process is being started again",
        }
        assert server.account().post("/invoices.json", json={"invoice": body()}).status_code == 503
    finally:
        server.stop()
        process.stop()
