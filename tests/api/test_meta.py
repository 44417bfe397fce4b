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


def test_meta_routes_answer_outside_sandbox_mode(tmp_path: Path) -> None:
    from tests.support import fresh_database, live_server

    with fresh_database("sqlite", tmp_path) as url, live_server(url, tmp_path / "data", sandbox=False) as srv:
        assert httpx.get(f"{srv.url}/_ixserver/openapi.yaml").status_code == 200
        assert httpx.get(f"{srv.url}/_ixserver/docs").status_code == 200
        assert httpx.post(f"{srv.url}/_ixserver/reset").status_code == 404, "the control API stays sandbox-only"
