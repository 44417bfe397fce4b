"""IMPLEMENTATION_COVERAGE.md is generated from the route table and the official OpenAPI: the
committed file must be what the generator writes now."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from ixserver.coverage import COMMAND, OUTPUT_NAME, coverage_markdown, default_output, generate, normalise

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_coverage_table_is_up_to_date() -> None:
    committed = ROOT / OUTPUT_NAME
    assert default_output() == committed
    expected = generate()
    assert committed.exists(), f"{OUTPUT_NAME} is missing: run `{COMMAND}`"
    assert committed.read_text(encoding="utf-8") == expected, (
        f"{OUTPUT_NAME} is out of date with the routes or the OpenAPI: run `{COMMAND}` and commit the result"
    )


def test_parameters_are_one_whatever_their_spelling() -> None:
    assert normalise("/invoices/{document-id}.json") == normalise("/invoices/{document_id:id}.json")
    assert (
        normalise("/api/v3/clients/{client_id}/regularization/{id}.json") == "/api/v3/clients/{}/regularization/{}.json"
    )


async def _handler(_request: object) -> None:  # never called
    return None


def test_enum_placeholders_count_per_value_and_extras_are_listed() -> None:
    document = {
        "info": {"title": "T", "version": "1"},
        "tags": [{"name": "Invoices"}],
        "paths": {
            "/{invoices-type}/{document-id}.json": {
                "parameters": [
                    {"$ref": "#/components/parameters/type"},
                    {"name": "document-id", "in": "path", "schema": {"type": "integer"}},
                ],
                "get": {"operationId": "getInvoice", "summary": "Get Invoice", "tags": ["Invoices"]},
                "put": {"operationId": "updateInvoice", "summary": "Update Invoice", "tags": ["Invoices"]},
            },
            "/invoices.json": {"get": {"operationId": "listInvoices", "summary": "List All", "tags": ["Invoices"]}},
        },
        "components": {
            "parameters": {
                "type": {"name": "invoices-type", "in": "path", "schema": {"enum": ["invoices", "credit_notes"]}}
            }
        },
    }
    routes = [
        Route("/invoices/{document_id:int}.json", _handler, methods=["GET", "PUT"]),
        Route("/credit_notes/{document_id:int}.json", _handler, methods=["GET"]),
        Route("/_ixserver/health", _handler, methods=["GET"]),
    ]
    text = coverage_markdown(routes, document)
    assert "**1 of 3 operations implemented**, 1 partially; 3 of 5 endpoints" in text
    assert "| ✓ | Get Invoice | `GET /{invoices-type}/{document-id}.json` | getInvoice | all 2 types |" in text
    assert "| ◐ | Update Invoice |" in text and "1 of 2 types; missing credit_notes" in text
    assert "| ✗ | List All | `GET /invoices.json` | listInvoices |" in text
    assert "## Invoices (1 of 3)" in text
    assert "- `GET /_ixserver/health`" in text
    assert "HEAD" not in text
