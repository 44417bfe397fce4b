"""PDFs are drawn in child processes bounded in time and memory (render/children.py): a render
past either bound is a 503 with Retry-After in the API's error shape, the server process goes on,
and the next render works; the server process does not grow with the PDFs it serves; the bytes
are typst's own, as drawn in the server before."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typst

from ixserver.domain.limits import MAX_LINES
from ixserver.render.children import TEMPLATE
from ixserver.services import pdfs
from tests.api.invoicing import issue
from tests.support import Api, LiveServer, free_port, ixserver_command, live_server, wait_for, wait_ready

# The largest document a request body carries: the most lines, each with as much text as fits.
LONGEST = [{"name": f"Artigo {n}", "description": f"Artigo {n} " + "palavra " * 475, "unit_price": "12.34",
            "quantity": "2", "tax": {"name": "IVA23"}} for n in range(MAX_LINES)]  # fmt: skip
MOST = [{"name": f"Artigo {n}", "description": "Parafuso", "unit_price": "1.5", "quantity": "3",
         "tax": {"name": "IVA23"}} for n in range(MAX_LINES)]  # fmt: skip


def pdf(api: Api, document: dict[str, Any], client: Any = httpx) -> httpx.Response:
    return client.get(document["permalink"].replace("http://127.0.0.1", api.base_url) + "/original.pdf", timeout=120)


def rss_kb(pid: int) -> int:
    """A process's resident memory, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def bounded(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(database_url, tmp_path, sandbox=True, render_workers=1, prestart=True, **request.param) as server:
        yield server


@pytest.mark.parametrize(
    ("bounded", "reason"),
    [
        ({"render_timeout_seconds": 1}, "it took longer than 1 s"),
        ({"render_memory_mb": 500}, "it needed more than 500 MB"),
    ],
    indirect=["bounded"],
    ids=["time", "memory"],
)
def test_a_render_past_its_bounds_is_a_503_and_the_next_render_works(bounded: LiveServer, reason: str) -> None:
    api = bounded.account()
    largest, small = issue(api, items=LONGEST), issue(api)
    # the child a server started as `serve`'s are starts at once (typst, pyHanko): not this render's time
    wait_for(bounded.ctx.renderers.pids, 60, "the PDF child started with the server")
    assert bounded.ctx.parser._pool is not None, "the parser process started with the server"
    answer = pdf(api, largest)
    assert (answer.status_code, answer.headers.get("retry-after")) == (503, "5"), answer.text[:300]
    assert answer.json() == {
        "errors": [{"error": f"The PDF could not be drawn ({reason}). Repeat the request in 5 s."}]
    }
    after = pdf(api, small)
    assert (after.status_code, after.content[:5]) == (200, b"%PDF-"), after.text[:300]
    assert api.get(f"/invoices/{small['id']}.json").status_code == 200  # the server process went on


def test_the_server_does_not_grow_with_the_pdfs_it_serves(tmp_path: Path) -> None:
    """`ixserver serve` alone (its server process is the one measured: a test server shares the
    test's process with everything else the session runs), 60 downloads of the PDF of a document
    of the most lines after 20 that settle its threads and caches."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")}
    env.update(IXSERVER_DATA_DIR=str(tmp_path), IXSERVER_SANDBOX="1", IXSERVER_LOG_LEVEL="warning",
               IXSERVER_RATE_LIMIT="0", IXSERVER_PUBLIC_RATE_LIMIT="0",
               IXSERVER_PUBLIC_ADDRESS_RATE_LIMIT="0")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    made = ixserver_command(env, "accounts", "create", "renders")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    server = subprocess.Popen([sys.executable, "-m", "ixserver", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(base)
        api = Api(base, key, "renders")
        document = issue(api, items=MOST)  # the most lines (the longest text: bench/renders.py)
        document["permalink"] = document["permalink"].replace(base, "http://127.0.0.1")
        with httpx.Client() as client:  # one connection: its server's threads settle first
            first = pdf(api, document, client)
            assert first.status_code == 200, first.text[:300]
            for _ in range(19):
                assert pdf(api, document, client).content == first.content
            settled = rss_kb(server.pid)
            for _ in range(60):
                assert pdf(api, document, client).content == first.content
            grown = rss_kb(server.pid) - settled
        assert grown < 8 * 1024, f"the server process grew {grown // 1024} MB over 60 PDFs of {MAX_LINES} lines"
    finally:
        server.terminate()
        server.wait(30)


def test_a_child_draws_the_bytes_typst_draws_in_the_server(server: LiveServer, api: Api) -> None:
    document = issue(api, items=MOST[:40])
    with server.db.read() as conn:
        token = document["permalink"].rsplit("/", 1)[1]
        found = pdfs.public_document(conn, token)
        assert found is not None
        inputs = pdfs.pdf_inputs(conn, found, server.settings.software_certificate, second_copy=False)
    compiler = typst.Compiler(str(TEMPLATE), root=str(TEMPLATE.parent), ignore_system_fonts=True)
    drawn = bytes(compiler.compile(sys_inputs=inputs))
    served = pdf(api, document).content
    assert served.startswith(drawn) and len(served) > len(drawn), "typst's bytes, then the signature's update"
