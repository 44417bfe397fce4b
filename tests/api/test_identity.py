"""The issuer's identity (issue 26): contacts through the accounts API; IBAN, SWIFT/BIC, share
capital, commercial registry and logo through /_ixserver (validated: an IBAN whose check digits
fail, a body that is not a PNG or JPEG, are refused and change nothing); frozen into each document
when it is issued and printed on its PDF (the logo an image of it: pdfimages) and its page."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from sqlalchemy import text

from ixserver.render.logo import MAX_BYTES, MAX_SIZE
from tests.api.invoicing import issue
from tests.api.test_pdf import _tool, download, text_of, words
from tests.support import Api, LiveServer

IBAN = "PT50000201231234567890154"
BANK = {"iban": "pt50 0002 0123 1234 5678 9015 4", "swift": "CGDIPTPL", "share_capital": "50000",
        "registry_office": "Conservatória do Registo Comercial de Lisboa", "registry_number": "509999999"}  # fmt: skip
CONTACTS = {"phone": "+351 210 000 000", "email": "faturas@exemplo.pt", "website": "www.exemplo.pt"}


def logo_png(width: int = 600, height: int = 200, color: tuple[int, int, int] = (20, 80, 160)) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((10, 10, width - 10, height - 10), fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def account_id(server: LiveServer, api: Api) -> int:
    with server.db.read() as conn:
        return int(conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": api.name}).scalar_one())


def set_identity(server: LiveServer, api: Api, logo: bytes | None = None) -> None:
    """The account's whole identity: contacts (accounts API), bank and registry, a logo."""
    update = api.put(f"/api/accounts/{account_id(server, api)}/update.json", json={"account": CONTACTS})
    assert update.status_code == 200, update.text
    assert api.put("/_ixserver/account.json", json={"account": BANK}).status_code == 200
    answer = api.put("/_ixserver/account/logo", content=logo or logo_png(), headers={"content-type": "image/png"})
    assert answer.status_code == 200, answer.text


def images_of(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    """The images of a PDF (pdfimages -list), each as its columns: page, num, type, width, height…"""
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    listed = subprocess.run([_tool("pdfimages"), "-list", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in listed.stdout.splitlines()[2:]]


def test_the_identity_is_kept_validated_and_answered(server: LiveServer, api: Api) -> None:
    answer = api.put("/_ixserver/account.json", json={"account": BANK})
    assert answer.status_code == 200, answer.text
    assert answer.json()["account"] == {**BANK, "iban": IBAN, "share_capital": "50000.00", "logo": None}
    assert api.get("/_ixserver/account.json").json() == answer.json()
    bad = api.put("/_ixserver/account.json", json={"account": {"iban": IBAN[:-1] + "5", "swift": "NOTABIC!"}})
    assert bad.status_code == 422
    assert bad.json() == {"errors": [
        {"error": "IBAN is invalid (its check digits do not match)"},
        {"error": "SWIFT/BIC is invalid (8 or 11 letters and digits: bank, country, place, branch)"},
    ]}  # fmt: skip
    negative = api.put("/_ixserver/account.json", json={"account": {"share_capital": "-1"}})
    assert negative.status_code == 422 and "Share capital" in negative.text
    assert api.get("/_ixserver/account.json").json() == answer.json(), "a refusal changes nothing"
    cleared = api.put("/_ixserver/account.json", json={"account": {"swift": None, "registry_number": ""}}).json()
    assert cleared["account"]["swift"] is None and cleared["account"]["registry_number"] is None
    assert cleared["account"]["iban"] == IBAN, "what is not given stays"
    assert httpx.put(f"{api.base_url}/_ixserver/account.json", json={"account": BANK}).status_code == 401


def test_a_logo_is_a_png_or_jpeg_reencoded_within_bounds(api: Api) -> None:
    huge = logo_png(3000, 1000)
    answer = api.put("/_ixserver/account/logo", content=huge)
    assert answer.status_code == 200, answer.text
    digest = answer.json()["account"]["logo"]
    kept = api.get("/_ixserver/account/logo")
    assert kept.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(kept.content)) as image:
        assert image.size[0] <= MAX_SIZE[0] and image.size[1] <= MAX_SIZE[1] and image.size == (1200, 400)
    out = io.BytesIO()
    Image.new("RGB", (300, 100), "red").save(out, "JPEG")
    jpeg = api.put("/_ixserver/account/logo", content=out.getvalue())
    assert jpeg.status_code == 200 and api.get("/_ixserver/account/logo").headers["content-type"] == "image/jpeg"
    for refused in (b"GIF89a" + b"\0" * 100, b"<svg xmlns='http://www.w3.org/2000/svg'/>", logo_png()[:200], b""):
        bad = api.put("/_ixserver/account/logo", content=refused)
        assert bad.status_code == 422 and bad.json() == {"errors": [{"error": "The logo must be a PNG or JPEG image"}]}
    too_large = api.put("/_ixserver/account/logo", content=logo_png() + b"\0" * MAX_BYTES)
    assert too_large.status_code == 413
    too_many = logo_png(4000, 2600)  # 10.4 million pixels in a few kB: refused before it is decoded
    assert len(too_many) < MAX_BYTES
    refused_size = api.put("/_ixserver/account/logo", content=too_many)
    assert refused_size.status_code == 422, refused_size.text
    assert refused_size.json() == {"errors": [{"error": "The logo must have at most 10 000 000 pixels"}]}
    photo = io.BytesIO()
    Image.new("RGB", (3800, 2600), "navy").save(photo, "JPEG", quality=50)  # decoded at a quarter's scale
    scaled = api.put("/_ixserver/account/logo", content=photo.getvalue())
    assert scaled.status_code == 200, scaled.text
    with Image.open(io.BytesIO(api.get("/_ixserver/account/logo").content)) as image:
        assert image.size[0] <= MAX_SIZE[0] and image.size[1] <= MAX_SIZE[1]
    assert api.get("/_ixserver/account.json").json()["account"]["logo"] != digest, "the JPEG is the logo now"
    assert api.delete("/_ixserver/account/logo").json()["account"]["logo"] is None
    assert api.get("/_ixserver/account/logo").status_code == 404


def test_a_document_prints_its_issuers_identity_as_issued(server: LiveServer, api: Api, tmp_path: Path) -> None:
    """Frozen at issue (Despacho 8632/2014 §2.2.15) like the issuer's name and address: a new
    IBAN and logo later leave the issued document's PDF and page as they were."""
    set_identity(server, api)
    invoice = issue(api)
    pdf = download(api, invoice["id"])
    printed = words(text_of(pdf, tmp_path))
    for expected in ("Tel. +351 210 000 000", "E-mail faturas@exemplo.pt", "Web www.exemplo.pt",
                     "IBAN PT50 0002 0123 1234 5678 9015 4", "SWIFT/BIC CGDIPTPL", "Capital social 50 000,00 €",
                     "Matrícula Conservatória do Registo Comercial de Lisboa n.º 509999999"):  # fmt: skip
        assert expected in printed, f"{expected!r} is not in {printed!r}"
    images = images_of(pdf, tmp_path)
    assert [(row[0], row[3], row[4]) for row in images if row[2] == "image"] == [("1", "600", "200")], images
    other = "DE89370400440532013000"
    assert api.put("/_ixserver/account.json", json={"account": {"iban": other}}).status_code == 200
    assert api.put("/_ixserver/account/logo", content=logo_png(300, 300, (200, 0, 0))).status_code == 200
    assert download(api, invoice["id"]) == pdf, "the issued document prints what it was issued with"
    later = words(text_of(download(api, issue(api)["id"]), tmp_path))
    assert "IBAN DE89 3704 0044 0532 0130 00" in later
    page = api.http.get("/documents/" + invoice["permalink"].rsplit("/", 1)[1])
    assert (
        "PT50 0002 0123 1234 5678 9015 4" in page.text and "Conservatória do Registo Comercial de Lisboa" in page.text
    )
    logo = re.search(r'<img [^>]*src="([^"]*/logo)"', page.text)
    assert logo is not None, page.text
    with Image.open(io.BytesIO(api.http.get(logo.group(1)).content)) as image:
        assert image.size == (600, 200), "the page shows the logo the document was issued with"
