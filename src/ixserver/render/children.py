"""Where PDFs are drawn: typst, in child processes each bounded in memory (RLIMIT_AS,
IXSERVER_RENDER_MEMORY_MB) and in the time a render may take (IXSERVER_RENDER_TIMEOUT_SECONDS).

A render past either bound ends its child — killed at the timeout, or dead of an allocation
refused — and is a `RenderUnavailable` (a 503 with Retry-After); the next render has a new child.
typst keeps what it laid out (one 12,000-line document left a server process at 13.7 GB, never
given back), so a child is also replaced once its peak memory passed half its bound, or after
RENDERS_PER_CHILD renders: neither the server process nor its renderers grow with renders. A
render waits at most the timeout for a free child. Children are started with `spawn` (the server
process has threads): one in the background as the server starts, the others by the render that
first needs one; starting is not counted in the timeout.

With a certificate (pdf_signing.py), a child also signs each PDF it draws (render/pades.py):
the signature's work stays out of the server process, its event loop and its threads.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import resource
import signal
import threading
from importlib import resources as package
from pathlib import Path
from typing import Any

from ixserver.domain.errors import RenderUnavailable
from ixserver.render.pdf_certificate import PdfCertificate

RENDERS_PER_CHILD = 500
START_TIMEOUT = 60.0  # seconds a child may take to start (an interpreter and typst, on a loaded machine)
# A file, not bytes: typst's compiler loses a source given as bytes once it compiles again.
TEMPLATE = Path(str(package.files("ixserver.render").joinpath("templates/document.typ")))


class Renderers:
    """`size` child processes of this process that draw PDFs, each within `memory_mb` and `timeout`."""

    def __init__(self, size: int, timeout: float, memory_mb: int, certificate: PdfCertificate | None = None) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.certificate = certificate  # signs every PDF drawn; None: they are not signed
        self._spawn = multiprocessing.get_context("spawn")
        self._idle: queue.LifoQueue[_Child | None] = queue.LifoQueue()  # None: a child to start
        for _ in range(size):
            self._idle.put(None)
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._closed = False

    def pdf(self, inputs: dict[str, str]) -> bytes:
        """The PDF typst draws from the template with these inputs (render/pdf.py `inputs`),
        signed if the renderers have a certificate."""
        try:
            child = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise self.busy() from None
        try:
            if child is None:
                child = self._start()
            kind, value, peak_kb = child.draw(inputs, self.timeout, self.memory_mb)
        except BaseException:
            self._replace(child)
            raise
        if kind != "pdf" or peak_kb * 1024 > self.memory_mb * 1024 * 1024 // 2 or child.renders >= RENDERS_PER_CHILD:
            self._replace(child)
        else:
            self._idle.put(child)
        if kind == "memory":
            raise RenderUnavailable(f"it needed more than {self.memory_mb} MB")
        if kind != "pdf":
            raise RuntimeError(f"typst failed: {value!s}")  # the template and its data disagree: a bug
        assert isinstance(value, bytes)
        return value

    def busy(self) -> RenderUnavailable:
        """What a render that waited the timeout for a free child is answered."""
        return RenderUnavailable(f"every renderer stayed busy for {self.timeout:g} s")

    def prestart(self) -> None:
        """Start a child in the background, so that the first PDF does not wait for one (an
        interpreter and typst: about a second)."""

        def start() -> None:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                return
            try:
                child = child or self._start()
            except Exception:  # noqa: BLE001 - the first PDF starts one, and says why not
                child = None
            self._idle.put(child)

        threading.Thread(target=start, name="ixserver-render-start", daemon=True).start()

    def pids(self) -> list[int]:
        with self._lock:
            return [child.process.pid for child in self._children]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children, self._children = self._children, set()
        for child in children:
            child.end()

    def _start(self) -> _Child:
        child = _Child(self._spawn, self.memory_mb, self.certificate)
        with self._lock:
            closed = self._closed
            if not closed:
                self._children.add(child)
        if closed:
            child.end()
            raise RenderUnavailable("the server is stopping")
        return child

    def _replace(self, child: _Child | None) -> None:
        """End `child`: the next render starts a new one in its place."""
        if child is not None:
            with self._lock:
                self._children.discard(child)
            child.end()
        self._idle.put(None)


class _Child:
    def __init__(self, spawn: Any, memory_mb: int, certificate: PdfCertificate | None) -> None:
        self.conn, theirs = spawn.Pipe()
        self.process = spawn.Process(
            target=_serve, args=(theirs, memory_mb, certificate), name="ixserver-render", daemon=True
        )
        self.process.start()
        theirs.close()
        self.renders = 0
        if not self.conn.poll(START_TIMEOUT):
            self.end()
            raise RenderUnavailable(f"a renderer did not start within {START_TIMEOUT:g} s")
        try:
            self.conn.recv()
        except (EOFError, OSError):
            self.end()
            raise RenderUnavailable(f"a renderer could not start in {memory_mb} MB") from None

    def draw(self, inputs: dict[str, str], timeout: float, memory_mb: int) -> tuple[str, bytes | str | None, int]:
        """(kind, PDF or error, the child's peak memory in KB); RenderUnavailable past the bounds."""
        self.renders += 1
        try:
            self.conn.send(inputs)
            if not self.conn.poll(timeout):
                raise RenderUnavailable(f"it took longer than {timeout:g} s")
            answer: tuple[str, bytes | str | None, int] = self.conn.recv()
            return answer
        except (EOFError, OSError):
            self.process.join(1)
            if self.process.exitcode == -signal.SIGABRT:  # typst's allocation refused: Rust aborts
                raise RenderUnavailable(f"it needed more than {memory_mb} MB") from None
            raise RenderUnavailable(f"its renderer ended (exit code {self.process.exitcode})") from None

    def end(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def _serve(conn: Any, memory_mb: int, certificate: PdfCertificate | None) -> None:
    """A child: draw (and sign) each PDF asked for on `conn`, until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which ends its children
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import typst

    compiler = typst.Compiler(str(TEMPLATE), root=str(TEMPLATE.parent), ignore_system_fonts=True)
    signer = None
    if certificate is not None:
        from ixserver.render.pades import PadesSigner, blank_pdf

        signer = PadesSigner(certificate)
        signer.sign(blank_pdf())  # the first signature loads pyHanko's code and tables: not a document's
    conn.send("ready")
    while True:
        try:
            inputs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            drawn = compiler.compile(sys_inputs=inputs)  # a PDF: one document, bytes
            assert isinstance(drawn, bytes)
            if signer is not None:
                drawn = signer.sign(drawn)
            answer: tuple[str, bytes | str | None] = ("pdf", drawn)
        except MemoryError:
            answer = ("memory", None)
        except Exception as exc:  # noqa: BLE001 - told to the server, which raises it
            answer = ("error", str(exc))
        conn.send((*answer, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
        if answer[0] == "memory":
            return
