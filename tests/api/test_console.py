"""The web console over HTTP (tests/test_console_browser.py uses it in Chromium): who may sign in,
the session cookie, CSRF on every POST, its headers, and where it is served: sandbox by default,
production only with IXSERVER_CONSOLE=1, and read-only there but for a job's retry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ixserver import clock
from ixserver.store import jobs as job_store
from ixserver.store.accounts import account_by_name
from tests.api.invoicing import IDENTITY
from tests.support import Api, LiveServer, fresh_database, live_server, wait_for

CONSOLE = "/_ixserver/console"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def signed_in(server: LiveServer, key: str) -> tuple[httpx.Client, str]:
    """A client signed in with `key`, and its session's CSRF token."""
    http = httpx.Client(base_url=server.url, timeout=30)
    token = csrf_of(http.get(f"{CONSOLE}/sign-in").text)
    answer = http.post(f"{CONSOLE}/sign-in", data={"csrf": token, "api_key": key})
    assert (answer.status_code, answer.headers["location"]) == (303, f"{CONSOLE}/documents"), answer.text
    return http, csrf_of(http.get(f"{CONSOLE}/documents").text)


def failed_job(server: LiveServer, api: Api) -> int:
    """A job failed for good, as a job worker leaves one."""
    with server.db.read() as conn:
        account = account_by_name(conn, api.name)
    assert account is not None
    with server.db.transaction() as conn:  # in one transaction: no worker sees it queued
        job_id = job_store.enqueue(conn, account.id, "email", {"document_id": 10**9}, clock.now())
        conn.execute(job_store.jobs.update().where(job_store.jobs.c.id == job_id).values(status=job_store.FAILED))
    return job_id


def test_a_wrong_key_does_not_sign_in(server: LiveServer) -> None:
    http = httpx.Client(base_url=server.url)
    token = csrf_of(http.get(f"{CONSOLE}/sign-in").text)
    answer = http.post(f"{CONSOLE}/sign-in", data={"csrf": token, "api_key": "0" * 40})
    assert answer.status_code == 401 and "No account has this API key." in answer.text
    assert "ixserver_console" not in http.cookies
    assert http.get(f"{CONSOLE}/documents").headers["location"] == f"{CONSOLE}/sign-in"


def test_the_session_cookie_and_the_pages_headers(server: LiveServer, api: Api) -> None:
    http = httpx.Client(base_url=server.url)
    token = csrf_of(http.get(f"{CONSOLE}/sign-in").text)
    answer = http.post(f"{CONSOLE}/sign-in", data={"csrf": token, "api_key": api.key})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("ixserver_console="))
    assert {"HttpOnly", "SameSite=strict", f"Path={CONSOLE}"} <= {part.strip() for part in cookie.split(";")}
    assert api.key not in cookie, "the key is sealed in the cookie, not readable in it"
    page = http.get(f"{CONSOLE}/documents")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'") and "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text
    http.cookies.set("ixserver_console", cookie.split(";")[0].split("=", 1)[1][:-4] + "AAAA", path=CONSOLE)
    assert http.get(f"{CONSOLE}/documents").status_code == 303, "an altered cookie is no session"


def test_a_post_without_the_sessions_csrf_token_is_refused(server: LiveServer, api: Api) -> None:
    job_id = failed_job(server, api)
    http, token = signed_in(server, api.key)
    for data in ({}, {"csrf": "x" + token[1:]}):
        answer = http.post(f"{CONSOLE}/jobs/{job_id}/retry", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert api.get("/_ixserver/jobs").json()["jobs"][0]["status"] == "failed", "nothing changed"
    no_form = httpx.post(f"{server.url}{CONSOLE}/sign-in", data={"api_key": api.key})
    assert no_form.status_code == 403, "the sign-in form's token too"
    assert http.post(f"{CONSOLE}/sign-out", data={}).status_code == 403
    assert http.post(f"{CONSOLE}/sign-out", data={"csrf": token}).headers["location"] == f"{CONSOLE}/sign-in"
    assert http.get(f"{CONSOLE}/documents").status_code == 303, "signed out"


def test_a_retry_queues_the_accounts_failed_job_only(server: LiveServer, api: Api) -> None:
    job_id = failed_job(server, api)
    http, token = signed_in(server, server.account().key)
    assert http.post(f"{CONSOLE}/jobs/{job_id}/retry", data={"csrf": token}).status_code == 404, "another's job"
    http, token = signed_in(server, api.key)
    assert http.post(f"{CONSOLE}/jobs/{job_id}/retry", data={"csrf": token}).status_code == 303
    wait_for(lambda: api.get("/_ixserver/jobs").json()["jobs"][0]["status"] != "failed", what="queued again")
    again = http.post(f"{CONSOLE}/jobs/{job_id}/retry", data={"csrf": token})
    assert again.status_code in (303, 409), "a job that has not failed is not retried"


@pytest.fixture
def production(backend: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A production server of its own database (a database keeps the mode it was made with)."""
    with fresh_database(backend, tmp_path) as url, live_server(url, tmp_path / "d", sandbox=False) as srv:
        yield srv


def test_production_serves_no_console_without_ixserver_console(production: LiveServer) -> None:
    api = production.account(**IDENTITY)
    for path in ("", "/", "/sign-in", "/documents", "/jobs"):
        assert httpx.get(f"{production.url}{CONSOLE}{path}").status_code == 404, path
    assert httpx.post(f"{production.url}{CONSOLE}/sign-in", data={"api_key": api.key}).status_code == 404
    assert httpx.get(f"{production.url}/_ixserver/docs").status_code == 200, "the API's docs are there in every mode"


def test_production_with_the_console_is_read_only_but_for_a_retry(backend: str, tmp_path: Path) -> None:
    with (
        fresh_database(backend, tmp_path) as url,
        live_server(url, tmp_path / "d", sandbox=False, console=True, job_workers=0) as production,
    ):
        api = production.account(**IDENTITY)
        job_id = failed_job(production, api)
        http, token = signed_in(production, api.key)
        assert "production" in http.get(f"{CONSOLE}/documents").text
        for path in ("/requests", "/sandbox"):
            assert http.get(f"{CONSOLE}{path}").status_code == 404, "the sandbox's pages"
        assert http.post(f"{CONSOLE}/sandbox/faults/clear", data={"csrf": token}).status_code == 403, "read-only"
        assert http.post(f"{CONSOLE}/jobs/{job_id}/retry", data={"csrf": token}).status_code == 303
        with production.db.read() as conn:
            job = job_store.get(conn, job_id)
        assert job is not None and job.status == job_store.QUEUED


def test_the_console_can_be_turned_off_in_sandbox(tmp_path: Path) -> None:
    with (
        fresh_database("sqlite", tmp_path) as url,
        live_server(url, tmp_path / "d", sandbox=True, console=False) as off,
    ):
        assert httpx.get(f"{off.url}{CONSOLE}/sign-in").status_code == 404
