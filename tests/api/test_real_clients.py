"""Unmodified client libraries against the live server."""

from __future__ import annotations

import time

import pytest
from invoicexpress_api import invoices as ix_invoices
from invoicexpress_api.core import Client as IXClient
from invoicexpress_api.invoices import States, Types

from tests.api.invoicing import today
from tests.support import Api, LiveServer


@pytest.fixture
def pypi_client(server: LiveServer, api: Api) -> IXClient:
    client = IXClient(api.name, api.key)
    client.base_url = server.url + "/"
    return client


def test_bitmario_invoicexpress_api_life_cycle(pypi_client: IXClient) -> None:
    """PyPI `invoicexpress-api` 0.1.2: create -> finalize -> get -> cancel, as its README does."""
    data = {
        "invoice_receipt": {
            "date": today(),
            "due_date": today(),
            "client": {"name": "John Doe", "code": "XYZ123"},
            "items": [
                {
                    "name": "SRV1",
                    "description": "Service 1",
                    "unit_price": "10.0",
                    "quantity": "5.0",
                    "tax": {"name": "IVA23"},
                }
            ],
        }
    }
    created = ix_invoices.create(pypi_client, data)["invoice_receipt"]
    assert (created["status"], created["sequence_number"], created["total"]) == ("draft", "rascunho", 61.5)

    ix_invoices.change_state(pypi_client, created["id"], States.FINAL)
    issued = ix_invoices.get(pypi_client, created["id"])["invoice_receipt"]
    assert issued["status"] == "settled"
    assert issued["inverted_sequence_number"].endswith("/1") and len(issued["saft_hash"]) == 4

    # its documented update pattern PUTs back the whole GET document: refused once issued
    with pytest.raises(ValueError, match="422"):
        ix_invoices.update(pypi_client, created["id"], {"invoice_receipt": issued})

    ix_invoices.change_state(pypi_client, created["id"], States.CANCELED, message="Wrong value")
    canceled = ix_invoices.get(pypi_client, created["id"])["invoice_receipt"]
    assert canceled["status"] == "canceled"
    assert canceled["sequence_number"] == issued["sequence_number"], "a canceled document keeps its number"


def test_bitmario_update_of_a_draft_and_other_types(pypi_client: IXClient) -> None:
    data = {"invoice": {"date": today(), "due_date": today(), "client": {"name": "Jane"},
                        "items": [{"name": "P", "description": "P", "unit_price": 2, "quantity": 3}]}}  # fmt: skip
    draft = ix_invoices.create(pypi_client, data, type=Types.INVOICE)["invoice"]
    whole = ix_invoices.get(pypi_client, draft["id"], type=Types.INVOICE)
    whole["invoice"]["reference"] = "PO-1"
    ix_invoices.update(pypi_client, draft["id"], whole, type=Types.INVOICE)
    assert ix_invoices.get(pypi_client, draft["id"], type=Types.INVOICE)["invoice"]["reference"] == "PO-1"
    ix_invoices.change_state(pypi_client, draft["id"], States.DELETED, type=Types.INVOICE)
    assert ix_invoices.get(pypi_client, draft["id"], type=Types.INVOICE)["invoice"]["status"] == "deleted"


def test_bitmario_pdf_url_and_email(pypi_client: IXClient, api: Api) -> None:
    """Its `get_pdf_url` (reads `output.pdfUrl`, retries a 202 six times 50 ms apart) and
    `send_email` (a PUT whose 200 has an empty body)."""
    import httpx

    service = {"name": "SRV1", "description": "Service 1", "unit_price": "10.0", "quantity": "5.0"}
    data = {"invoice_receipt": {"date": today(), "due_date": today(), "client": {"name": "John Doe", "code": "XYZ123"},
                                "items": [service]}}  # fmt: skip
    created = ix_invoices.create(pypi_client, data)["invoice_receipt"]
    ix_invoices.change_state(pypi_client, created["id"], States.FINAL)
    url = ix_invoices.get_pdf_url(pypi_client, created["id"])
    assert httpx.get(url.replace("http://127.0.0.1", api.base_url)).content.startswith(b"%PDF-")
    ix_invoices.send_email(pypi_client, created["id"], "john@example.com", subject="Your invoice-receipt")
    for _ in range(200):
        emails = api.get("/_ixserver/emails").json()["emails"]
        if emails:
            break
        time.sleep(0.05)
    assert [(e["to"], e["subject"]) for e in emails] == [("john@example.com", "Your invoice-receipt")]
