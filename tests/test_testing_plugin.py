"""The pytest plugin (issue 25 item 4, src/ixserver/testing.py), run as an integrator's suite
would run it, with pytest's `pytester`: docs/testing.md's example passes against the session's
server, each test finds its account reset, and the entry point names the module."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).parent.parent


def example(path: str, heading: str = "") -> str:
    """The Python block of a document (after `heading`), as written there."""
    text = (ROOT / path).read_text()
    text = text.split(heading, 1)[1] if heading else text
    return text.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An integrator's project: only the plugins named (no other entry point, none of this
    project's conftest), the plugin loaded as its entry point loads it."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("IXSERVER_SANDBOX", "0")  # the test process's settings do not reach the server
    pytester.makeini("[pytest]\naddopts = -p ixserver.testing\n")
    return pytester


def test_the_documented_examples_pass_and_each_test_has_the_account_reset_in_one_server(
    suite: pytest.Pytester,
) -> None:
    """docs/testing.md's and the README's examples pass, and each test finds its account reset,
    one server serving the session: one integrator's suite of three files, in one session (a
    session starts a server: some 6 s of CPU each)."""
    suite.makepyfile(
        test_example=example("docs/testing.md"),
        test_readme=example("README.md", "\n## In a pytest suite\n"),
        test_isolation="""
        import json
        import urllib.request

        SEEN = []

        def call(account, method, path, body=None):
            request = urllib.request.Request(
                f"{account.base_url}{path}?api_key={account.api_key}", method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request) as answer:
                return json.loads(answer.read() or b"null")

        def test_first(ixserver_server, ixserver_account):
            SEEN.append(ixserver_server.url)
            made = call(ixserver_account, "POST", "/clients.json", {"client": {"name": "Left Over", "code": "L1"}})
            assert made["client"]["name"] == "Left Over"
            assert len(call(ixserver_account, "GET", "/clients.json")["clients"]) == 1

        def test_second(ixserver_server, ixserver_account):
            SEEN.append(ixserver_server.url)
            assert call(ixserver_account, "GET", "/clients.json")["clients"] == [], "reset"
            assert ixserver_account.base_url == ixserver_server.url and len(ixserver_account.api_key) == 40
            assert SEEN[0] == SEEN[1], "one server for the session"
        """,
    )
    result = suite.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=5)


def test_a_server_that_cannot_start_says_why(suite: pytest.Pytester) -> None:
    """Its port taken by another process: the test errs with the end of the server's output."""
    suite.makeconftest(
        """
        import socket

        import ixserver.testing

        TAKEN = socket.socket()
        TAKEN.bind(("127.0.0.1", 0))
        TAKEN.listen()
        ixserver.testing._free_port = lambda: TAKEN.getsockname()[1]
        """
    )
    suite.makepyfile(test_broken="def test_needs_a_server(ixserver_account):\n    pass\n")
    result = suite.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: ixserver did not start (exit code *); its output:*"])
    result.stdout.fnmatch_lines(["*address already in use*"])


def test_the_entry_point_names_the_plugin() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"] == {"ixserver": "ixserver.testing"}
