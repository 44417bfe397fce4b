"""`ixserver serve --workers 2` starts on a machine whose CPUs are saturated (serve.py's
Supervisor): its server processes, slower to import the app than uvicorn's 5 s ping allows,
are not killed while they start; each starts once, and the health check answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

pytestmark = pytest.mark.slow

BUSY = "while True: pass"


def test_serve_with_two_workers_starts_while_the_cpus_are_saturated(tmp_path: Path) -> None:
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(3 * (os.cpu_count() or 1))]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_SANDBOX="1", IXSERVER_LOG_LEVEL="info", TMPDIR=str(tmp_path))
    log = tmp_path / "serve.log"
    serve = None
    try:
        time.sleep(1)  # the load is there before serve starts
        with log.open("w") as out:
            serve = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port), "--workers", "2"],
                                     env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        started, ready_after = time.monotonic(), None
        while time.monotonic() - started < 150 and serve.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_ixserver/health", timeout=2).status_code == 200:
                    ready_after = time.monotonic() - started
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert ready_after is not None, f"serve was not ready in 150 s under load:\n{log.read_text()}"
        time.sleep(5)  # a server process still starting would be killed by now
        text = log.read_text()
        children = re.findall(r"Started server process \[(\d+)\]", text)
        assert len(children) == 2, f"each server process started once:\n{text}"
        assert "died" not in text and "did not start" not in text, text
        assert all(_alive(int(pid)) for pid in children)
        assert httpx.get(f"http://127.0.0.1:{port}/_ixserver/health", timeout=5).status_code == 200
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
        if serve is not None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
