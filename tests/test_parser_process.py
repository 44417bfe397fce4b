"""The parser process of large bodies (web/parsing.py): what it reads and refuses comes back as
in place, and it leaves by itself when its server process is killed."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ixserver.domain.errors import MalformedRequest
from ixserver.store.rate_counts import RateCounts
from ixserver.web.parsing import PARSE_BUDGET, BodyParser
from ixserver.web.ratelimit import SharedRateLimit
from ixserver.web.wire import _as_is, _parsed
from tests.support import MovedClock

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


def _budget(path: Path, clock: MovedClock) -> SharedRateLimit:
    """A server process's parsing budget, counted in the shared counts of the database at `path`
    (as app.py builds it)."""
    return SharedRateLimit(0, RateCounts(f"sqlite:///{path}"), clock=clock, window=1.0, prefix=PARSE_BUDGET)


def test_the_parsing_budget_is_one_for_all_processes_and_carries_what_went_past(tmp_path: Path) -> None:
    clock = MovedClock()
    clock.move(1 - clock.time() % 1 + 0.001)  # the start of a second
    one, other = _budget(tmp_path / "db", clock), _budget(tmp_path / "db", clock)  # two server processes
    try:
        assert other.wait(1, 20_000) == 0.0
        one.spend(1, 50_000, 20_000)  # 50 ms where 20 a second are allowed: this second, the next, half the third
        one._flush()
        other._flush()  # (its thread's, every 0.1 s)
        wait = other.wait(1, 20_000)
        assert 1.9 < wait <= 2.0, "the other process waits for what went past, two seconds on"
        assert other.wait(2, 20_000) == 0.0, "another account has its own budget"
        clock.move(2)
        assert other.wait(1, 20_000) == 0.0
    finally:
        one.counts.dispose()
        other.counts.dispose()


def test_an_account_past_its_parsing_budget_waits_and_others_do_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ixserver.domain.errors import ParsingBudgetSpent
    from ixserver.web import parsing

    body = ('{"invoice": {' + ",".join(f'"k{i}": {i}' for i in range(40_000)) + "}}").encode()  # ~0.6 MB
    clock = MovedClock()
    budget = _budget(tmp_path / "db", clock)
    name = f"{PARSE_BUDGET}1"

    def spent() -> int:
        now = int(clock.time())
        with budget._lock:
            return budget._total((name, now)) + budget._total((name, now + 1))

    async def run() -> None:
        parser = BodyParser(account_parse_ms=20, budget=budget)  # 20 ms of CPU a second
        parser.prestart()
        while not parser._ready:
            await asyncio.sleep(0.05)
        try:
            await parser.parse(_parsed, body, "", _as_is, account=1)
            assert spent() >= 5_000, "the parse's CPU (some 15 ms or more) is charged to its account"
            budget.spend(1, 20_000, 20_000)  # this second's budget spent
            started = time.monotonic()
            await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=1)
            assert time.monotonic() - started >= 0.05 or clock.time() % 1 < 0.1, "it waited for the next second"
            budget.spend(1, 40_000, 20_000)
            started = time.monotonic()
            await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=2)
            assert time.monotonic() - started < 0.4, "another account's body does not wait"
            monkeypatch.setattr(parsing, "MAX_WAIT", 0.1)
            with pytest.raises(ParsingBudgetSpent) as refused:
                await parser.parse(_parsed, b'{"a": 1}', "", _as_is, account=1)
            assert refused.value.retry_after in (1, 2)
        finally:
            parser.close()
            budget.counts.dispose()

    asyncio.run(run())
