"""The README's first invoice, run as written against `ixserver serve --demo` (what `make run`
starts): a newcomer's first commands must not fail."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support import free_port, wait_ready

ROOT = Path(__file__).parent.parent


def readme_block(heading: str) -> str:
    """The first shell block after `heading` in the README."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0]


def test_the_first_invoice_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATA_DIR=str(tmp_path / "var"), IXSERVER_SANDBOX="1", IXSERVER_LOG_LEVEL="warning")
    server = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port), "--demo"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        key, said = "", []
        for line in server.stdout:
            said.append(line.rstrip("\n"))
            if line.startswith("API key: "):
                key = line.split()[-1]
                break
        # the start lines, as the README shows them (the path and the key are the reader's)
        shown = (ROOT / "README.md").read_text().split("\nixserver ", 1)[1].split("\n```", 1)[0].splitlines()
        assert said[0].split(":")[1] == shown[0].split(":")[1]  # the mode
        assert [line.split(":")[0] for line in said] == [
            line.split(":")[0] for line in ["ixserver " + shown[0], *shown[1:6]]
        ]
        wait_ready(f"http://127.0.0.1:{port}")
        block = readme_block("A first invoice")
        assert "KEY=<the demo key>; B=http://127.0.0.1:8000" in block
        answers = tmp_path / "answers"
        # What the reader does by hand: paste the key, read the id off the answer above.
        block = block.replace("KEY=<the demo key>; B=http://127.0.0.1:8000", f"KEY={key}; B=http://127.0.0.1:{port}")
        block = re.sub(r'ID=<the "id" it answered>.*',
                       f"ID=$(tail -n 1 {answers} | {shlex.quote(sys.executable)} -c "
                       "'import json, sys; print(json.load(sys.stdin)[\"invoice\"][\"id\"])')", block)  # fmt: skip
        block = block.replace(".venv/bin/ixserver", f"{shlex.quote(sys.executable)} -m ixserver")
        script = ("set -euo pipefail\n"
                  f"curl() {{ command curl --fail-with-body \"$@\" | tee -a {answers}; echo >> {answers}; }}\n"
                  + block)  # fmt: skip
        result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        finalized = json.loads(answers.read_text().splitlines()[1])["invoice"]
        assert finalized["status"] == "final" and finalized["sequence_number"].startswith("1/")
        assert "pdfUrl" in json.loads(answers.read_text().splitlines()[2])["output"]
        assert "ok: no problems found" in result.stdout
    finally:
        server.terminate()
        server.wait(30)
