"""The writer in a process of its own, for the server processes of one `ixserver serve`.

In a writer thread (thread.py), the one serial part of writing — the use cases that run while
the database's write lock is held — shares the interpreter lock with the process's event loop:
each SQL statement releases it, the loop takes it, and the writer waits. Under the documents
benchmark a use case held the write lock 2.4 times as long as the same use case run alone. So
`ixserver serve` starts one writer process, and its server processes hand their write use cases
to it over a Unix socket (remote.py). On PostgreSQL too (issue 27): with a writer thread in each
server process, the two processes' writers took turns on one account's lock, each batch of each
a transaction and a commit of its own; one writer process makes one batch of both processes'
use cases, one commit per account. PostgreSQL takes writers from several processes at once:
there `serve --workers N` starts N writer processes, and each account's use cases go to one of
them (remote.py), so that the writes of several accounts use several cores, and one account's
still share one writer's batches (measured: bench/README.md).

- `WriterProcess` (in `serve`) starts it, waits until it listens, starts it again if it dies,
  and stops it once the server processes are gone;
- `serve_writes` (the process) reads use cases from every connection, runs what has arrived as
  one batch with the rules of batches.py, and answers each connection with one write per batch.

The writer process builds its own `Resources` from the same settings: use cases that need the
signer get the writer's.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import logging.config
import multiprocessing
import os
import selectors
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection as Pipe
from typing import Any

from sqlalchemy.engine import make_url

from ixserver.config import Settings
from ixserver.journal import attach
from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.writes import crossing
from ixserver.writes.batches import Batches, Outcome, UseCase, take_batch
from ixserver.writes.use_cases import NotAUseCase

log = logging.getLogger("ixserver.writer")

WRITER_NICE = -10
WRITER_NAME = b"ixserver-writer"  # its name in ps, top and /proc/<pid>/comm (Linux: 15 bytes at most)
PARENT_CHECK = 1.0  # seconds between looks at whether `serve` is still there


@contextlib.contextmanager
def running_writer(settings: Settings, writers: int = 1) -> Iterator[str | None]:
    """The writer process of the servers of `settings`, while the block runs: its socket's path,
    or None when each server process writes in a thread of its own (IXSERVER_WRITER_PROCESS=0).
    On PostgreSQL, `writers` processes (`serve --workers N` asks for N), their sockets' paths
    joined by os.pathsep: each writes a share of the accounts (remote.py); SQLite has one."""
    if not settings.writer_process:
        yield None
        return
    if make_url(settings.resolved_database_url).get_backend_name() == "sqlite":
        writers = 1
    processes = [WriterProcess(settings) for _ in range(max(1, writers))]
    try:
        for process in processes:
            process.start()
        yield os.pathsep.join(process.path for process in processes)
    finally:
        for process in processes:
            process.stop()


def serve_writes(settings: Settings, path: str, control: Pipe) -> None:
    """The writer process: answers use cases on `path` until `control` is closed."""
    # Ctrl-C reaches the whole process group; `serve` stops the writer after its servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The writer is the serial part of every write: when it competes with the server processes
    # for the CPU, it should win. Allowed to root (or with CAP_SYS_NICE); else it stays even.
    with contextlib.suppress(OSError):
        os.nice(WRITER_NICE)
    _name_process(WRITER_NAME)
    # What the server processes do (app.tune_garbage_collector): the writer allocates as many
    # short-lived objects per use case, and the cyclic collector's default thresholds took ~6 %
    # of its samples under the documents benchmark.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    from ixserver.logs import uvicorn_log_config

    # its records (a lost race, a failed housekeeping) as the server processes write theirs
    logging.config.dictConfig(uvicorn_log_config(settings.log_level, settings.log_format))
    db = Database(settings.resolved_database_url)
    journal = attach(db, settings)  # the heads the writer seals, outside the database
    runner = Batches(db, Resources.from_settings(settings))
    server = _Server(runner, settings.writer_batch_max, settings.writer_batch_cost, path)
    try:
        server.serve(control)
    finally:
        db.dispose()
        journal.close()
        if server.orphaned:  # `serve` was killed: nobody else will remove the socket's directory
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


class _Server:
    def __init__(self, runner: Batches, batch_max: int, cost_max: int, path: str) -> None:
        self.runner = runner
        self.batch_max = batch_max
        self.cost_max = cost_max
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytearray] = {}
        self.pending: list[UseCase] = []
        self.parent = os.getppid()
        self.orphaned = False
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
            timeout = 0 if self.pending else self.runner.wait_at_most(PARENT_CHECK)
            if os.getppid() != self.parent:
                log.error("writer: the serve process %s is gone; finishing what was given, then leaving", self.parent)
                self.orphaned = stopping = True
            for key, _events in self.selector.select(timeout):
                if key.fileobj is self.listener:
                    conn, _ = self.listener.accept()
                    self.buffers[conn] = bytearray()
                    self.selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj is control:
                    self.selector.unregister(control)
                    stopping = True
                    self.orphaned = _orphaned(control)
                else:
                    self._receive(key.fileobj)  # type: ignore[arg-type]
            if self.pending:
                batch, self.pending = take_batch(self.pending, self.batch_max, self.cost_max)
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
        for payload in crossing.frames(buffer):
            try:
                call_id, fn, args, with_resources = crossing.read_request(payload)
            except Exception:  # noqa: BLE001 - a request that cannot be read ends its connection
                log.exception("writer: unreadable request; closing the connection")
                self._close(conn)
                return
            if fn == crossing.STATS:
                self._send(conn, [crossing.outcome(call_id, True, self.runner.stats())])
                continue
            if fn == crossing.FAULT:
                self._send(conn, [crossing.outcome(call_id, True, self.runner.fault)])
                continue
            try:
                case = UseCase(fn, args, with_resources, (conn, call_id))
            except NotAUseCase as exc:  # the server process refuses it first (remote.py); not a crash here
                self._send(conn, [crossing.outcome(call_id, False, exc)])
                continue
            self.pending.append(case)

    def _answer(self, outcomes: list[Outcome]) -> None:
        frames: dict[socket.socket, list[bytes]] = {}
        for case, ok, value in outcomes:
            conn, call_id = case.reply
            frames.setdefault(conn, []).append(crossing.outcome(call_id, ok, value))
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


def _name_process(name: bytes) -> None:
    """The process's name as the system shows it (Linux's prctl(PR_SET_NAME); elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None, use_errno=True).prctl(15, name, 0, 0, 0)  # 15: PR_SET_NAME


def _orphaned(control: Pipe) -> bool:
    """Whether the control pipe ended because `serve` died (closed without a word) rather than
    by `WriterProcess.stop` (which says "stop" first)."""
    try:
        return control.recv() != "stop"
    except (EOFError, OSError):
        return True


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

    def start(self) -> WriterProcess:
        """Once the writer listens; it may take IXSERVER_WORKER_START_SECONDS (a loaded machine)."""
        self._launch(self.settings.worker_start_seconds)
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
                self._launch(self.settings.worker_start_seconds)
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
        if self._control is not None and not self._control.closed:
            with contextlib.suppress(OSError):
                self._control.send("stop")
            self._control.close()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.exitcode is None:
                self._process.kill()
                self._process.join()
        shutil.rmtree(self._dir, ignore_errors=True)
