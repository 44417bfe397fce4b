"""The writer in a process of its own, for the server processes of one SQLite database.

In a writer thread (store/writer.py), the one serial part of writing — the use cases that run
while the database's write lock is held — shares the interpreter lock with the process's event
loop: each SQL statement releases it, the loop takes it, and the writer waits. Under the
documents benchmark a use case held the write lock 2.4 times as long as the same use case run
alone. So `ixserver serve` on SQLite starts one writer process, and its server processes hand
their write use cases to it over a Unix socket:

- `WriterProcess` (in `serve`) starts it, waits until it listens, starts it again if it dies,
  and stops it once the server processes are gone;
- `serve_writes` (the process) reads use cases from every connection, runs what has arrived
  as one batch with the writer thread's rules (`Batches`), and answers each connection with one
  write per batch;
- `RemoteWriter` (in each server process) has the writer thread's interface: `open`, `run`,
  `run_sync`, `stats`.

A use case travels as a pickle of `(id, function, args)`: the function by module and name, the
arguments by value, except the process's own services (`services(settings)`: signer, vault, AT
adapter), which travel by name and are replaced with the writer process's own, built from the
same settings. Its outcome travels back as `(id, succeeded, value or exception)`. If the
connection is lost before the outcome arrives, the request fails with `WriterUnavailable`
(503): its use case may or may not have been committed, and a repeat with the same
`proprietary_uid` is safe. Nothing is answered before its commit, so nothing acknowledged is
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import selectors
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection as Pipe
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from ixserver.at import make_adapter
from ixserver.config import Settings
from ixserver.domain.errors import WriterUnavailable
from ixserver.keys import load_signer
from ixserver.store.db import Database
from ixserver.store.documents import fold_count_changes
from ixserver.store.writer import Batches, Job, Outcome
from ixserver.vault import Vault

log = logging.getLogger("ixserver.writer")

T = TypeVar("T")
STATS = "stats"  # a request whose function is this asks for the writer's counters
PROTOCOL = pickle.HIGHEST_PROTOCOL
WRITER_NICE = -10


@contextlib.contextmanager
def running_writer(settings: Settings) -> Iterator[str | None]:
    """The writer process of the servers of `settings`, while the block runs: its socket's path,
    or None when each server process writes in a thread of its own (PostgreSQL, which takes
    writers from several processes at once, or IXSERVER_WRITER_PROCESS=0)."""
    if not settings.writer_process or make_url(settings.resolved_database_url).get_backend_name() != "sqlite":
        yield None
        return
    process = WriterProcess(settings)
    try:
        process.start()
        yield process.path
    finally:
        process.stop()


def services(settings: Settings) -> dict[str, Any]:
    """The objects use cases are given that belong to a process rather than to a request."""
    return {
        "signer": load_signer(settings),
        "vault": Vault.from_settings(settings),
        "at": make_adapter(settings.at_adapter, delay=settings.at_simulator_delay),
    }


class _Service:
    """One of `services(settings)`, sent by name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Service, (self.name,))


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def _frames(buffer: bytearray) -> list[bytes]:
    """The complete frames at the start of `buffer`, taken out of it."""
    frames: list[bytes] = []
    offset, size = 0, len(buffer)
    with memoryview(buffer) as view:
        while size - offset >= 4:
            length = int.from_bytes(view[offset : offset + 4], "big")
            if size - offset - 4 < length:
                break
            frames.append(bytes(view[offset + 4 : offset + 4 + length]))
            offset += 4 + length
    if offset:
        del buffer[:offset]
    return frames


# -- the writer process --------------------------------------------------------------------


def serve_writes(settings: Settings, path: str, control: Pipe) -> None:
    """The writer process: answers use cases on `path` until `control` is closed."""
    # Ctrl-C reaches the whole process group; `serve` stops the writer after its servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The writer is the serial part of every write: when it competes with the server processes
    # for the CPU, it should win. Allowed to root (or with CAP_SYS_NICE); else it stays even.
    with contextlib.suppress(OSError):
        os.nice(WRITER_NICE)
    db = Database(settings.resolved_database_url)
    try:
        _Server(settings, db, path).serve(control)
    finally:
        db.dispose()


class _Server:
    def __init__(self, settings: Settings, db: Database, path: str) -> None:
        self.services = services(settings)
        self.runner = Batches(db, housekeeping=fold_count_changes)
        self.batch_max = settings.writer_batch_max
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytearray] = {}
        self.pending: list[Job] = []
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(128)

    def serve(self, control: Pipe) -> None:
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(control, selectors.EVENT_READ)
        control.send("ready")
        stopping = False
        while not stopping or self.pending:
            timeout = 0 if self.pending else self.runner.housekeeping_due_in()
            for key, _events in self.selector.select(timeout):
                if key.fileobj is self.listener:
                    conn, _ = self.listener.accept()
                    self.buffers[conn] = bytearray()
                    self.selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj is control:
                    self.selector.unregister(control)
                    stopping = True
                else:
                    self._receive(key.fileobj)  # type: ignore[arg-type]
            if self.pending:
                batch, self.pending = self.pending[: self.batch_max], self.pending[self.batch_max :]
                outcomes, retry = self.runner.run(batch)
                self._answer(outcomes)
                self.pending.extend(retry)
            self.runner.housekeep(due_only=True)
        self.runner.housekeep(due_only=False)
        for conn in list(self.buffers):
            self._close(conn)
        self.listener.close()

    def _receive(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        buffer = self.buffers[conn]
        buffer += data
        for payload in _frames(buffer):
            try:
                job_id, fn, args = pickle.loads(payload)
            except Exception:  # noqa: BLE001 - a request that cannot be read ends its connection
                log.exception("writer: unreadable request; closing the connection")
                self._close(conn)
                return
            if fn == STATS:
                self._send(conn, [_frame(_outcome(job_id, True, self.runner.stats()))])
                continue
            args = tuple(self.services[a.name] if type(a) is _Service else a for a in args)
            self.pending.append(Job(fn, args, (conn, job_id)))

    def _answer(self, outcomes: list[Outcome]) -> None:
        frames: dict[socket.socket, list[bytes]] = {}
        for job, ok, value in outcomes:
            conn, job_id = job.reply
            frames.setdefault(conn, []).append(_frame(_outcome(job_id, ok, value)))
        for conn, answers in frames.items():
            self._send(conn, answers)

    def _send(self, conn: socket.socket, frames: list[bytes]) -> None:
        try:
            conn.sendall(b"".join(frames))
        except OSError:
            log.warning("writer: a server process left before its answers were sent")
            self._close(conn)

    def _close(self, conn: socket.socket) -> None:
        if self.buffers.pop(conn, None) is not None:
            self.selector.unregister(conn)
        conn.close()


def _outcome(job_id: int, ok: bool, value: Any) -> bytes:
    try:
        return pickle.dumps((job_id, ok, value), protocol=PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - answered as an error instead
        log.exception("writer: an outcome could not be sent")
        error = RuntimeError(f"the writer could not send back {type(value).__name__}: {exc}")
        return pickle.dumps((job_id, False, error), protocol=PROTOCOL)


class WriterProcess:
    """Starts the writer process for `settings`, keeps it running, stops it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Short (Unix socket paths are limited), and private: mkdtemp makes it 0700, so only this
        # user can connect, and what arrives there is trusted enough to unpickle.
        self._dir = tempfile.mkdtemp(prefix="ixserver-")
        self.path = os.path.join(self._dir, "writer.sock")
        self._spawn = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._control: Pipe | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> WriterProcess:
        self._launch(timeout)
        self._watcher = threading.Thread(target=self._watch, name="ixserver-writer-watch", daemon=True)
        self._watcher.start()
        return self

    def _launch(self, timeout: float) -> None:
        ours, theirs = self._spawn.Pipe()
        process = self._spawn.Process(
            target=serve_writes, args=(self.settings, self.path, theirs), name="ixserver-writer", daemon=True
        )
        process.start()
        theirs.close()
        if not ours.poll(timeout):
            process.kill()
            raise RuntimeError(f"the writer process did not start within {timeout:.0f} s")
        try:
            ours.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"the writer process failed to start (exit code {process.exitcode})") from None
        if self._control is not None:
            self._control.close()  # the pipe of a writer that died
        self._process, self._control = process, ours

    def _watch(self) -> None:
        """Start the writer again if it dies; the server processes reconnect on their next write."""
        while not self._stopping.is_set():
            process = self._process
            process.join(0.5)
            if process.exitcode is None or self._stopping.is_set():
                continue
            log.error("the writer process ended (exit code %s); starting it again", process.exitcode)
            try:
                self._launch(60.0)
            except RuntimeError:
                log.exception("the writer process could not be started again")
                self._stopping.wait(1.0)

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Let the writer finish what it was given, then end it."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        if self._control is not None:
            self._control.close()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.exitcode is None:
                self._process.kill()
                self._process.join()
        shutil.rmtree(self._dir, ignore_errors=True)


# -- in each server process ----------------------------------------------------------------


class RemoteWriter:
    """The writer thread's interface, answered by the writer process at `path`."""

    def __init__(self, path: str, services: dict[str, Any]) -> None:
        self.path = path
        self._services = {id(obj): _Service(name) for name, obj in services.items()}
        self._ids = itertools.count(1)
        self._link: _Link | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    def start(self) -> None:
        """Nothing to start here: the connection is opened on the server's loop (`open`)."""

    def stop(self) -> None:
        if self._link is not None:
            self._link.transport.close()

    async def open(self) -> None:
        await self._connected()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a write transaction; return once it is committed."""
        services = self._services
        return await self._call(fn, tuple(services.get(id(a), a) for a in args))  # type: ignore[no-any-return]

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same, for a plain thread of a server process whose loop is running."""
        if self._loop is None:
            raise WriterUnavailable()
        return asyncio.run_coroutine_threadsafe(self.run(fn, *args), self._loop).result()

    async def stats(self) -> dict[str, Any]:
        return await self._call(STATS, ())  # type: ignore[no-any-return]

    async def _call(self, fn: Any, args: tuple[Any, ...]) -> Any:
        job_id = next(self._ids)
        frame = _frame(pickle.dumps((job_id, fn, args), protocol=PROTOCOL))
        link = await self._connected()
        future = link.loop.create_future()
        link.pending[job_id] = future
        link.send(frame)
        return await future

    async def _connected(self) -> _Link:
        link = self._link
        if link is not None and not link.lost:
            return link
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._link is None or self._link.lost:
                loop = asyncio.get_running_loop()
                try:
                    _transport, self._link = await loop.create_unix_connection(lambda: _Link(loop), self.path)
                except OSError as exc:
                    raise WriterUnavailable() from exc
                self._loop = loop
            return self._link


class _Link(asyncio.Protocol):
    """One connection to the writer process, and the use cases sent over it not yet answered."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []
        self.lost = False

    def send(self, frame: bytes) -> None:
        """Queue a use case; those queued in one turn of the event loop leave in one write."""
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(frame)

    def _flush(self) -> None:
        frames, self.outgoing = self.outgoing, []
        if not self.lost:
            self.transport.write(b"".join(frames))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # a uvloop transport is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        pending = self.pending
        for payload in _frames(self.buffer):
            job_id, ok, value = pickle.loads(payload)
            future = pending.pop(job_id, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WriterUnavailable())
