"""/_ixserver/openapi.yaml and /_ixserver/docs: the official description, served unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import yaml

from tests.support import LiveServer

PACKAGED = Path(__file__).resolve().parents[2] / "src" / "ixserver" / "api" / "openapi.yaml"
SHA256 = "15d785823281abb82138ab8dfcdd0f9758ded1a63f6d5393651b7ccbfa6b2f05"  # api/OPENAPI-SOURCE.md


def test_the_packaged_file_is_the_official_one() -> None:
    assert hashlib.sha256(PACKAGED.read_bytes()).hexdigest() == SHA256


def test_openapi_yaml_is_served_byte_for_byte_without_a_key(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/_ixserver/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] in ("application/yaml", "application/x-yaml")
    assert response.content == PACKAGED.read_bytes()
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == "2.0.0"
    assert "/sequences.json" in document["paths"]


def test_docs_page_loads_the_yaml(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/_ixserver/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "'/_ixserver/openapi.yaml'" in response.text or '"/_ixserver/openapi.yaml"' in response.text


SWAGGER_UI = PACKAGED.parent / "assets" / "swagger-ui"
SWAGGER_SHA256 = {  # api/assets/swagger-ui/SOURCE.md
    "swagger-ui-bundle.js": "b164c5a22535e40dae08c00271674a67e437ec195098c55fcedf8ffac7ac3c88",
    "swagger-ui.css": "7eb9f5a125e4bc9b3f0b71869b66d1a3d7c501f972f53d44ef91c2ae6c5bda5e",
}


def test_the_vendored_swagger_ui_is_the_one_its_note_names() -> None:
    for name, digest in SWAGGER_SHA256.items():
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, name


def test_the_docs_page_loads_only_the_servers_own_files(server: LiveServer) -> None:
    """Offline, under a strict policy: no CDN, no inline script or style (the browser test of
    tests/test_console_browser.py draws it in Chromium)."""
    response = httpx.get(f"{server.url}/_ixserver/docs")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http" not in response.text.lower().replace("http-equiv", ""), "every address is the server's own"
    assert "<style" not in response.text and "<script>" not in response.text
    for name in SWAGGER_SHA256:
        served = httpx.get(f"{server.url}/_ixserver/assets/swagger-ui/{name}")
        assert served.status_code == 200 and served.content == (SWAGGER_UI / name).read_bytes()
    assert httpx.get(f"{server.url}/_ixserver/assets/swagger-ui/LICENSE").status_code == 404, "only the files listed"


def test_meta_routes_answer_outside_sandbox_mode(tmp_path: Path) -> None:
    from tests.support import fresh_database, live_server

    with fresh_database("sqlite", tmp_path) as url, live_server(url, tmp_path / "data", sandbox=False) as srv:
        assert httpx.get(f"{srv.url}/_ixserver/openapi.yaml").status_code == 200
        assert httpx.get(f"{srv.url}/_ixserver/docs").status_code == 200
        assert httpx.get(f"{srv.url}/_ixserver/assets/docs.js").status_code == 200
        assert httpx.post(f"{srv.url}/_ixserver/reset").status_code == 404, "the control API stays sandbox-only"
