"""The processes of `ixserver serve`: what it says at start, the writer process (SQLite), and
the server processes — one in this process, or N under a supervisor that starts them again when
they die — each serving HTTP connections held to `protocol.py`'s limits."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from socket import socket
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process, logger

from ixserver.config import Settings
from ixserver.files import write_private
from ixserver.pdf_signing import load_pdf_certificate
from ixserver.render.pdf_certificate import PdfCertificate
from ixserver.resources import Resources
from ixserver.store.db import Database
from ixserver.web.protocol import Connection, ConnectionLimits
from ixserver.writes.direct import DirectWrites

DEMO_ACCOUNT = "demo"

STARTUP_FAILED = 3  # the exit code, as uvicorn.run's


def serve(host: str, port: int, workers: int, demo: bool, database: Callable[[Settings], Database]) -> None:
    """Serve until SIGTERM or Ctrl-C; `database` opens the settings' database, migrated."""
    with _metrics_directory():
        _serve(host, port, workers, demo, database)


def _serve(host: str, port: int, workers: int, demo: bool, database: Callable[[Settings], Database]) -> None:
    from ixserver.writes.process import running_writer

    settings = Settings()
    if "IXSERVER_PUBLIC_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    say = functools.partial(_say, settings.log_format)
    try:
        certificate = load_pdf_certificate(settings)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: the certificate that signs PDFs: {exc}") from None
    say(*start_lines(settings, host, port, workers), pdf_line(certificate))
    db = database(settings)
    try:
        if demo:
            key = _demo_key(settings, db)
            say(
                f"Account: {DEMO_ACCOUNT}",
                f"API key: {key}",
                f"Try:     curl '{settings.base_url}/sequences.json?api_key={key}'",
            )
    finally:
        db.dispose()
    _raise_open_files_limit()
    # uvicorn answers SIGTERM by shutting down, then raises it again for the handler it found:
    # make that handler an exception, so that the writer process is stopped as on Ctrl-C.
    signal.signal(signal.SIGTERM, exit_on_signal)
    with running_writer(settings, workers) as writer_socket:
        _run_servers(settings, writer_socket, host, port, workers)


def start_lines(settings: Settings, host: str, port: int, workers: int) -> list[str]:
    """What `serve` says first: the mode, the database (without its password), where it serves."""
    from ixserver import __version__

    at = (
        "AT simulated offline" if settings.resolved_at_adapter == "simulator" else f"AT: {settings.resolved_at_adapter}"
    )
    mode = f"sandbox mode (training documents; {at})" if settings.sandbox else f"production mode ({at})"
    database = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    processes = f" ({workers} server processes)" if workers > 1 else ""
    return [f"ixserver {__version__}: {mode}", f"database: {database}", f"serving:  http://{host}:{port}{processes}"]


def pdf_line(certificate: PdfCertificate | None) -> str:
    """What `serve` says of its PDFs' signature (pdf_signing.py)."""
    if certificate is None:
        return (
            "PDFs:     NOT SIGNED: IXSERVER_PDF_SIGNING_P12 is not set. From 1 January 2027 a PDF invoice is an"
            " electronic invoice only with a qualified electronic signature or seal (docs/operations.md)"
        )
    until = certificate.not_after
    expired = " — EXPIRED: renew it" if until <= datetime.now(UTC) else ""
    return f"PDFs:     signed (PAdES B-B) by {certificate.subject}, valid until {until:%Y-%m-%d}{expired}"


def _say(log_format: str, *lines: str) -> None:
    """On standard output, before any log record; with IXSERVER_LOG_FORMAT=json, as JSON records."""
    if log_format == "json":
        lines = tuple(json.dumps({"level": "info", "logger": "ixserver.serve", "event": line}) for line in lines)
    print(*lines, sep="\n", flush=True)


def server_config(settings: Settings, app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration of a server process of `settings` (`serve`, and the tests' servers)."""
    return ServerConfig(
        app,
        limits=ConnectionLimits(
            settings.header_timeout_seconds, settings.body_timeout_seconds, settings.connections_per_client
        ),
        access_log=False,  # ixserver's request log (web/requestlog.py) replaces uvicorn's
        server_header=False,
        timeout_keep_alive=settings.keep_alive_seconds,  # a timer's delay: a float is fine
        lifespan="on",  # a failed startup must stop the server, not serve without its writer
        **options,
    )


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration with ixserver's connection (protocol.py) and the limits it keeps."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(app, http=Connection, **options)
        self.limits = limits


def _run_servers(settings: Settings, writer_socket: str | None, host: str, port: int, workers: int) -> None:
    """uvicorn's own way of running (`uvicorn.run`), with the app given as a factory of its
    settings and writer socket: each server process builds its app from what it is handed,
    nothing from the environment."""
    from ixserver.app import create_app
    from ixserver.logs import uvicorn_log_config

    config = server_config(
        settings,
        functools.partial(create_app, settings, writer_socket, os.getpid() if workers > 1 else None),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(settings.log_level, settings.log_format),
        log_level=settings.log_level,
    )
    if workers > 1:
        Supervisor(config, [config.bind_socket()], settings.worker_start_seconds).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILED)


class Supervisor(Multiprocess):
    """uvicorn's supervisor of N server processes, which pings each every 0.5 s and kills one
    that does not answer within 5 s; but a process answers only once it has imported the app,
    which on a loaded machine took 6.6-7 s: each was killed while starting, forever. Here a
    process that has not answered yet may take `start_seconds` (and is started again if it dies
    or takes longer); from its first answer on, uvicorn's liveness check applies."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], start_seconds: float) -> None:
        super().__init__(config, sockets)
        self.start_seconds = start_seconds

    def _start(self) -> Process:
        process = _Starting(self.config, self.sockets, self.start_seconds)
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes.extend(self._start() for _ in range(self.processes_num))

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's, starting its replacements with a start grace."""
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app cannot start: it would not the next time
                logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[index] = self._start()


class _Starting(Process):
    """A server process whose first answer to the supervisor's ping may take `start_seconds`."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], start_seconds: float) -> None:
        super().__init__(config, sockets)
        self.start_seconds = start_seconds
        self.deadline = 0.0
        self.answered = False

    def start(self) -> None:
        super().start()
        self.deadline = time.monotonic() + self.start_seconds
        self.parent_conn.send(b"ping")  # read by the process once it has imported the app

    def is_alive(self, timeout: float = 5) -> bool:
        if self.answered:
            return super().is_alive(timeout)
        if not self.process.is_alive():
            return False
        try:
            if self.parent_conn.poll(0):
                self.parent_conn.recv()
                self.answered = True
                return True
        except (OSError, EOFError):
            return False
        if time.monotonic() < self.deadline:
            return True
        logger.error(f"Child process [{self.pid}] did not start within {self.start_seconds:g} s")
        return False


def _raise_open_files_limit() -> None:
    """Each connection is a file descriptor: the soft limit (often 1,024) up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))


@contextlib.contextmanager
def _metrics_directory() -> Iterator[None]:
    """Where every process of this server writes its metrics' samples (PROMETHEUS_MULTIPROC_DIR,
    unless the operator gave one), made before any of them imports prometheus_client; removed at
    the end, or, when a serve was killed, by the next one (the directory names its pid)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    assert "prometheus_client" not in sys.modules, (
        "the metrics' directory must be set before prometheus_client is imported"
    )
    for stale in Path(tempfile.gettempdir()).glob("metrics-ixserver-*-*"):
        pid = stale.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    made = tempfile.mkdtemp(prefix=f"metrics-ixserver-{os.getpid()}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(made, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _demo_key(settings: Settings, db: Database) -> str:
    """The demo account's key, kept in the data directory so that every `make run` prints the
    same one (the database itself only stores a hash)."""
    from ixserver.services import accounts as service

    key_file = settings.data_dir / "demo-api-key"
    with db.read() as conn:
        exists = service.find_account(conn, DEMO_ACCOUNT) is not None
        known = key_file.read_text().strip() if key_file.exists() else ""
        if exists and known and service.authenticate(conn, known) is not None:
            return known
    if exists:
        account = DirectWrites(db).run_sync(service.get_account, DEMO_ACCOUNT)
        key = DirectWrites(db).run_sync(service.issue_key, account.id)
    else:
        _account, key = DirectWrites(db).run_sync(
            service.create_account, DEMO_ACCOUNT, Resources.from_settings(settings)
        )
    write_private(key_file, (key + "\n").encode())
    return key
