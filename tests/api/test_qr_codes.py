"""`GET /api/qr_codes/{id}.json` (api-v2 §4.9): the URL of a PNG of the document's AT QR code,
served without the key; the symbol decodes (zbarimg) to the document's fields (pt-compliance §4)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from ixserver.domain.qr import parse
from tests.api.invoicing import change, create, finalize, issue
from tests.support import Api, LiveServer

LINES = [
    {"name": "Azeite", "description": "Azeite 5 L", "unit_price": "12.50", "quantity": "3", "tax": {"name": "IVA23"}},
    {"name": "Livro", "description": "Receitas", "unit_price": "10", "quantity": "1", "tax": {"name": "IVA6"}},
]
CONSUMER = {"name": "Consumidor", "code": "CF"}


def decoded(png: bytes, tmp_path: Path) -> str:
    """The text of the QR symbol in a PNG, read by zbarimg (Debian's zbar-tools)."""
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is missing: `make install` installs zbar-tools")
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sbinary", str(image)], capture_output=True, check=True)
    return out.stdout.decode("utf-8").rstrip("\n")


def qr_of(api: Api, document_id: int) -> httpx.Response:
    return api.get(f"/api/qr_codes/{document_id}.json")


def fetch(api: Api, url: str) -> httpx.Response:
    """A public address (no key), on the test server's port (public_url has none)."""
    return httpx.get(url.replace("http://127.0.0.1", api.base_url))


def qr_fields(api: Api, document_id: int, tmp_path: Path) -> dict[str, str]:
    return dict(parse(decoded(fetch(api, qr_of(api, document_id).json()["qr_code"]["url"]).content, tmp_path)))


def test_an_invoice_qr_code_decodes_to_its_fields(server: LiveServer, api: Api, tmp_path: Path) -> None:
    invoice = issue(api, client=CONSUMER, items=LINES)
    answer = qr_of(api, invoice["id"])
    assert answer.status_code == 200, answer.text
    url = answer.json()["qr_code"]["url"]
    assert url == f"{invoice['permalink']}/qr.png"
    image = fetch(api, url)  # no key: the client prints it
    assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
    fields = dict(parse(decoded(image.content, tmp_path)))
    serie = invoice["sequence_number"].split("/")[1]
    assert fields["B"] == "999999990" and fields["C"] == "PT" and fields["D"] == "FT" and fields["E"] == "N"
    assert fields["G"] == f"FT {serie}/1" and fields["H"] == invoice["atcud"] and fields["Q"] == invoice["saft_hash"]
    assert fields["F"] == "".join(reversed(invoice["date"].split("/")))
    # 3 × 12.50 at 23 % and 1 × 10.00 at 6 %: VAT per rate, half-up (pt-compliance §4.2's worked example)
    assert (fields["I1"], fields["I3"], fields["I4"], fields["I7"], fields["I8"]) == (
        "PT",
        "10.00",
        "0.60",
        "37.50",
        "8.63",
    )
    assert (fields["N"], fields["O"], fields["R"]) == ("9.23", "56.73", "0")
    assert "P" not in fields and "L" not in fields
    assert len(fields["A"]) == 9 and fields["A"].isdigit()


def test_a_canceled_document_a_receipt_and_a_guide(server: LiveServer, api: Api, tmp_path: Path) -> None:
    invoice = issue(api, client=CONSUMER, items=LINES, retention="10")
    receipt = api.post(f"/documents/{invoice['id']}/partial_payments.json", json={"partial_payment": {"amount": "10"}})
    assert receipt.status_code == 200, receipt.text
    paid = receipt.json()["receipt"]
    fields = qr_fields(api, paid["id"], tmp_path)
    assert (fields["D"], fields["I1"], fields["Q"], fields["H"]) == ("RG", "0", "0", paid["atcud"])
    assert (
        api.put(
            f"/receipts/{paid['id']}/change-state.json", json={"receipt": {"state": "canceled", "message": "x"}}
        ).status_code
        == 200
    )
    canceled = issue(api, client=CONSUMER, items=LINES)
    assert change(api, "invoice", canceled["id"], "canceled", "wrong").status_code == 200
    fields = qr_fields(api, canceled["id"], tmp_path)
    assert fields["E"] == "A"
    fields = qr_fields(api, invoice["id"], tmp_path)
    assert fields["P"] == "4.75", "the withholding (10 % of 47.50)"


def test_drafts_and_unknown_documents_have_none(api: Api) -> None:
    draft = create(api, items=LINES)
    refused = qr_of(api, draft["id"])
    assert (refused.status_code, refused.json()) == (422, {"error": (
        f"Document with ID {draft['id']} is still in draft."
        " QR Codes are only available for final, canceled or settled documents."
    )})  # fmt: skip
    missing = qr_of(api, 999_999_999)
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "No document with ID 999999999 was found in this account"},
    )
    order = finalize(api, "purchase_order", create(api, "purchase_order", items=LINES)["id"])
    assert qr_of(api, order["id"]).status_code == 422, "not a SAF-T document"
    assert fetch(api, draft["permalink"] + "/qr.png").status_code == 404
