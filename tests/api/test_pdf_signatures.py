"""PAdES signatures of PDFs (issue 26; docs/operations.md, "Signed PDFs"): every PDF is signed in
sandbox mode by the server's test certificate and in production by the operator's P12; pyHanko's
validator finds the signature intact, over the whole file, PAdES (ETSI.CAdES.detached, no CMS
signing time) and made by that certificate, trusted explicitly; a document's PDF is signed once
and served the same bytes afterwards, and signed again only when the document changes."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from ixserver.config import Settings
from ixserver.pdf_signing import SANDBOX_FILE, SANDBOX_NAME, from_p12, load_pdf_certificate
from ixserver.serve import pdf_line
from ixserver.vault import Vault
from tests.api.invoicing import body, change, create, issue
from tests.api.test_pdf import CLIENT, LINES, download, text_of
from tests.support import TEST_SECRET_KEY, Api, LiveServer, fresh_database, live_server


def validated(pdf: bytes, trusted: bytes) -> PdfSignatureStatus:
    """pyHanko's verdict on the PDF's one signature, with `trusted` (DER) as the only trust root."""
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1, "one signature"
    signature = signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached", "PAdES, not adbe.pkcs7.detached"
    assert "/M" in signature.sig_object, "PAdES puts the signing time in the dictionary"
    attributes = [a["type"].native for a in signature.signer_info["signed_attrs"]]
    assert "signing_time" not in attributes and "signing_certificate_v2" in attributes, attributes
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[asn1_x509.Certificate.load(trusted)]))
    assert status.intact and status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE" and status.modification_level.name == "NONE"
    return status


def sandbox_certificate(server: LiveServer) -> x509.Certificate:
    pem = (server.settings.data_dir / SANDBOX_FILE).read_bytes()
    return x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])


def test_sandbox_pdfs_are_signed_by_the_servers_test_certificate(api: Api, server: LiveServer, tmp_path: Path) -> None:
    certificate = sandbox_certificate(server)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SANDBOX_NAME
    assert stat.S_IMODE((server.settings.data_dir / SANDBOX_FILE).stat().st_mode) == 0o600, "its key is private"
    invoice = issue(api, client=CLIENT, items=LINES, tax_exemption="M05")
    pdf = download(api, invoice["id"])
    status = validated(pdf, certificate.public_bytes(serialization.Encoding.DER))
    assert status.signing_cert.dump() == certificate.public_bytes(serialization.Encoding.DER)
    assert f"ATCUD:{invoice['atcud']}" in text_of(pdf, tmp_path), "the document drawn is the one signed"
    assert download(api, invoice["id"]) == pdf, "signed once: the same bytes afterwards"
    duplicate = download(api, invoice["id"], second_copy=True)
    assert duplicate != pdf and "Duplicado" in text_of(duplicate, tmp_path)
    validated(duplicate, certificate.public_bytes(serialization.Encoding.DER))
    assert download(api, invoice["id"], second_copy=True) == duplicate


def test_a_changed_document_is_signed_again_and_then_kept(api: Api, server: LiveServer, tmp_path: Path) -> None:
    trusted = sandbox_certificate(server).public_bytes(serialization.Encoding.DER)
    draft = create(api, client=CLIENT, items=LINES[:1])
    first = download(api, draft["id"])
    assert "RASCUNHO" in text_of(first, tmp_path)
    edited = api.put(f"/invoices/{draft['id']}.json", json={"invoice": body(client=CLIENT, items=LINES[:2])})
    assert edited.status_code == 200, edited.text
    second = download(api, draft["id"])
    assert second != first and "Receitas" in text_of(second, tmp_path), "the edited draft, drawn again"
    validated(second, trusted)
    assert download(api, draft["id"]) == second
    issued = issue(api, client=CLIENT, items=LINES[:1])
    before = download(api, issued["id"])
    assert change(api, "invoice", issued["id"], "canceled", "wrong client").status_code == 200
    canceled = download(api, issued["id"])
    assert canceled != before and "ANULADO" in text_of(canceled, tmp_path)
    validated(canceled, trusted)
    assert download(api, issued["id"]) == canceled


def _certificate(subject: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
                 issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:  # fmt: skip
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture
def operators_p12(tmp_path: Path) -> tuple[Path, Path, x509.Certificate, x509.Certificate]:
    """A P12 as a trust service provider issues it: a seal's certificate, its key and its CA's
    certificate; its password in a file. (p12, password file, CA certificate, seal certificate)"""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _certificate("Test Qualified CA", ca_key, None, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    seal = _certificate("Mercearia Sol Lda (seal)", key, ca.subject, ca_key, ca=False)
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, seal, [ca], serialization.BestAvailableEncryption(b"s3cret pass")
        )
    )
    password = tmp_path / "password"
    password.write_text("s3cret pass\n")
    return p12, password, ca, seal


@pytest.fixture
def production_signing(
    backend: str, tmp_path: Path, operators_p12: tuple[Path, Path, x509.Certificate, x509.Certificate]
) -> Iterator[LiveServer]:
    p12, password, _ca, _seal = operators_p12
    with (
        fresh_database(backend, tmp_path / "db") as database_url,
        live_server(
            database_url, tmp_path / "data", sandbox=False, pdf_signing_p12=p12, pdf_signing_password_file=password
        ) as srv,
    ):
        yield srv


def test_production_pdfs_are_signed_by_the_operators_certificate(
    production_signing: LiveServer, operators_p12: tuple[Path, Path, x509.Certificate, x509.Certificate]
) -> None:
    _p12, _password, ca, seal = operators_p12
    api = production_signing.account(fiscal_id="508025338")
    draft = create(api, client=CLIENT, items=LINES[:1])
    pdf = download(api, draft["id"])
    status = validated(pdf, ca.public_bytes(serialization.Encoding.DER))  # the chain: seal, then its CA
    assert status.signing_cert.dump() == seal.public_bytes(serialization.Encoding.DER)
    assert download(api, draft["id"]) == pdf
    assert not (production_signing.settings.data_dir / SANDBOX_FILE).exists(), "no test certificate in production"


def test_production_without_a_certificate_serves_unsigned_pdfs_and_says_so(backend: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sandbox=False)
    assert load_pdf_certificate(settings) is None
    assert "NOT SIGNED" in pdf_line(None) and "1 January 2027" in pdf_line(None)
    with (
        fresh_database(backend, tmp_path / "db") as database_url,
        live_server(database_url, tmp_path / "data", sandbox=False) as production,
    ):
        api = production.account(fiscal_id="508025338")
        draft = create(api, client=CLIENT, items=LINES[:1])
        pdf = download(api, draft["id"])
        assert PdfFileReader(io.BytesIO(pdf)).embedded_signatures == []
        assert download(api, draft["id"]) == pdf, "typst draws the same bytes again"


def test_the_p12s_password_comes_from_a_file_or_the_vault(
    tmp_path: Path, operators_p12: tuple[Path, Path, x509.Certificate, x509.Certificate]
) -> None:
    p12, password, _ca, seal = operators_p12
    by_file = load_pdf_certificate(Settings(data_dir=tmp_path, pdf_signing_p12=p12, pdf_signing_password_file=password))
    assert by_file is not None and by_file.certificate == seal and len(by_file.chain_der) == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("IXSERVER_")} | {
        "IXSERVER_SECRET_KEY": TEST_SECRET_KEY
    }
    encrypted = subprocess.run([sys.executable, "-m", "ixserver", "encrypt"], input="s3cret pass\n", env=env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert encrypted.returncode == 0, encrypted.stderr
    token = encrypted.stdout.strip()
    assert "s3cret" not in token and Vault(TEST_SECRET_KEY.encode()).decrypt(token) == "s3cret pass"
    by_vault = Settings(data_dir=tmp_path, secret_key=TEST_SECRET_KEY, pdf_signing_p12=p12, pdf_signing_password=token)
    assert load_pdf_certificate(by_vault) == by_file
    assert "valid until" in pdf_line(by_file) and "Mercearia Sol Lda (seal)" in pdf_line(by_file)
    with pytest.raises(ValueError, match="is its password the right one"):
        from_p12(p12.read_bytes(), b"wrong", "seal.p12")
    both = by_vault.model_copy(update={"pdf_signing_password_file": password})
    with pytest.raises(ValueError, match="give the P12's password once"):
        load_pdf_certificate(both)
