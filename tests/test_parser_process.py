"""The parser process of large bodies (web/parsing.py): what it reads and refuses comes back as
in place, and it leaves by itself when its server process is killed."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import time

import pytest

from ixserver.domain.errors import MalformedRequest
from ixserver.web.parsing import BodyParser
from ixserver.web.wire import _as_is, _parsed

KILLED_SERVER = """
import asyncio, os, sys
from ixserver.web.parsing import BodyParser
from ixserver.web.wire import _as_is, _parsed

async def main():
    await BodyParser().parse(_parsed, b'{"a": 1}', "", _as_is)
    print(os.popen(f"pgrep -P {os.getpid()}").read().split(), flush=True)
    os._exit(0)  # as SIGKILL: nothing closes the parser

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_what_the_parser_process_reads_or_refuses_comes_back() -> None:
    async def run() -> None:
        parser = BodyParser()
        parser._started()
        while not parser._ready:  # the first bodies are parsed in a thread meanwhile
            await asyncio.sleep(0.05)
        try:
            assert await parser.parse(_parsed, b'{"invoice": {"n": 1.50}}', "application/json", _as_is) == {
                "invoice": {"n": __import__("decimal").Decimal("1.50")}
            }
            with pytest.raises(MalformedRequest, match="nested more than 32 levels"):
                await parser.parse(_parsed, b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "", _as_is)
        finally:
            parser.close()

    asyncio.run(run())


def test_the_parser_process_leaves_when_its_server_process_is_killed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "killed_server.py"
    script.write_text(KILLED_SERVER)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True).stdout
    children = [int(pid) for pid in ast.literal_eval(out.strip())]
    assert children, "the parser process was started"
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in children):
        assert time.monotonic() < deadline, f"the parser process {children} outlived its server process"
        time.sleep(0.2)


def test_a_parse_past_its_deadline_is_a_503_and_the_parser_process_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from ixserver.domain.errors import ParseUnavailable
    from ixserver.web import parsing
    from ixserver.web.errors import domain_error_response

    monkeypatch.setattr(parsing, "PARSE_SECONDS", 0.5)

    async def ready(parser: BodyParser) -> None:
        while not parser._ready:
            await asyncio.sleep(0.05)

    async def run() -> None:
        parser = BodyParser()
        parser.prestart()
        await ready(parser)
        stuck = [p.pid for p in parser._pool._processes.values()]  # type: ignore[union-attr]
        try:
            with pytest.raises(ParseUnavailable) as refused:
                await parser.parse(time.sleep, 30)  # a body that never ends being read
            answer = domain_error_response(refused.value)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            deadline = time.monotonic() + 10
            while any(os.path.exists(f"/proc/{pid}") and "Z" not in _state(pid) for pid in stuck):
                assert time.monotonic() < deadline, "the stuck parser process was stopped"
                await asyncio.sleep(0.05)
            await ready(parser)  # started again at once
            monkeypatch.setattr(parsing, "PARSE_SECONDS", 30.0)  # (its first parse imports the modules)
            assert await parser.parse(_parsed, b'{"a": 1}', "", _as_is) == {"a": 1}
        finally:
            parser.close()

    asyncio.run(run())


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_an_account_past_its_parsing_budget_waits_and_others_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from ixserver.domain.errors import ParsingBudgetSpent
    from ixserver.web import parsing

    body = ('{"invoice": {' + ",".join(f'"k{i}": {i}' for i in range(40_000)) + "}}").encode()  # ~0.6 MB

    async def run() -> None:
        parser = BodyParser(account_parse_ms=20)  # 20 ms of CPU a second, a second's worth saved
        parser.prestart()
        while not parser._ready:
            await asyncio.sleep(0.05)
        try:
            await parser.parse(_parsed, body, "", _as_is, account=1)
            left, _since = parser._budgets[1]
            assert left < 0.020 - 0.005, "the parse's CPU (some 15 ms or more) is charged to its account"
            parser._budgets[1] = (-0.010, time.monotonic())  # 10 ms over: half a second to come back
            started = time.monotonic()
            await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=1)
            assert time.monotonic() - started >= 0.45, "it waited for its budget"
            parser._budgets[1] = (-0.010, time.monotonic())
            started = time.monotonic()
            await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=2)
            assert time.monotonic() - started < 0.4, "another account's body does not wait"
            monkeypatch.setattr(parsing, "MAX_WAIT", 0.1)
            with pytest.raises(ParsingBudgetSpent) as refused:
                await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=1)
            assert refused.value.retry_after == 1
        finally:
            parser.close()

    asyncio.run(run())
