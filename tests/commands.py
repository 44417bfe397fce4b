"""`ixserver` commands run as processes of their own, forked from one that has imported the
command's modules once (multiprocessing's fork server, started with the first command).

`python -m ixserver accounts list` spends about 1 s of CPU importing (the settings, the
database, the use cases) for some 0.1 s of work; the tests run a hundred commands. Each command
here is still a process of its own: its own environment (the IXSERVER_* settings given, nothing
of the test process's), its own standard output and error, its exit status, and `main()`, the
`ixserver` entry point's function, with the command line as its arguments. What a fork does not
prove, that `python -m ixserver` and the `ixserver` script start that function, the tests that
run them do (tests/test_cli.py's, the serve tests, the pytest plugin's)."""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.forkserver
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# What the commands import when they run (cli.py imports each command's modules in it): imported
# once, in the fork server, before any command.
PRELOAD = [
    "ixserver.cli",
    "ixserver.config",
    "ixserver.journal",
    "ixserver.resources",
    "ixserver.services.accounts",
    "ixserver.services.jobs",
    "ixserver.services.modes",
    "ixserver.services.seal",
    "ixserver.services.verify",
    "ixserver.store.db",
    "ixserver.store.migrate",
    "ixserver.writes.direct",
    "sqlalchemy.dialects.sqlite",
    "tests.commands",
]

_context: Any = None


def _forks() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
        # stopped and waited for at the end: its commands' CPU is then the test process's children's
        atexit.register(getattr(multiprocessing.forkserver, "_forkserver")._stop)  # noqa: B009 - private
    return _context


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`ixserver *args` with exactly `env` as its environment, as `subprocess.run` with
    `capture_output=True, text=True` answers it."""
    with tempfile.TemporaryDirectory(prefix="ixserver-command-") as scratch:
        out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
        process = _forks().Process(target=_command, args=(args, env, str(out), str(err)), name="ixserver")
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["ixserver", *args], timeout)
        return subprocess.CompletedProcess(["ixserver", *args], process.exitcode, out.read_text(), err.read_text())


def _command(args: list[str], env: dict[str, str], out: str, err: str) -> None:
    """In the forked process: the environment, the standard streams (files), then the command."""
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.argv = ["ixserver", *args]
    from ixserver.cli import main

    try:
        main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
