"""How this server signs its PDFs (PAdES: render/pades.py): the certificate the settings give.

- IXSERVER_PDF_SIGNING_P12: a PKCS#12 file (the certificate, its private key, the issuers'
  certificates), its password in IXSERVER_PDF_SIGNING_PASSWORD_FILE (the file's first line) or
  IXSERVER_PDF_SIGNING_PASSWORD (the password encrypted by the secret key, as the vault keeps
  secrets: `ixserver encrypt` makes it), or none. In either mode.
- Without it, in sandbox mode: a self-signed test certificate the server makes once, kept in
  `<data dir>/pdf-certificate.pem` (mode 600) like the signing key, whose subject says it is no
  qualified signature.
- Without it, in production: None. PDFs are then served unsigned, and `serve` says so as it starts
  (docs/operations.md: until 31 December 2026 an unsigned PDF invoice is still one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ixserver.config import Settings
from ixserver.files import create_once
from ixserver.render.pdf_certificate import PdfCertificate
from ixserver.vault import Vault

SANDBOX_FILE = "pdf-certificate.pem"
SANDBOX_NAME = "ixserver sandbox — not a qualified signature"
SANDBOX_YEARS = 10


def load_pdf_certificate(settings: Settings) -> PdfCertificate | None:
    """The certificate that signs this server's PDFs; None: they are not signed."""
    if settings.pdf_signing_p12 is not None:
        return from_p12(settings.pdf_signing_p12.read_bytes(), _password(settings), str(settings.pdf_signing_p12))
    if settings.sandbox:
        return _from_pem(create_once(settings.data_dir / SANDBOX_FILE, _sandbox_certificate))
    return None


def from_p12(data: bytes, password: bytes | None, where: str) -> PdfCertificate:
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        raise ValueError(f"{where}: cannot open the PKCS#12 file ({exc}); is its password the right one?") from None
    if key is None or certificate is None:
        raise ValueError(f"{where}: the PKCS#12 file holds no private key and certificate")
    return PdfCertificate(_pkcs8(key), certificate.public_bytes(serialization.Encoding.DER),
                          tuple(c.public_bytes(serialization.Encoding.DER) for c in chain))  # fmt: skip


def _password(settings: Settings) -> bytes | None:
    if settings.pdf_signing_password_file is not None and settings.pdf_signing_password is not None:
        raise ValueError(
            "give the P12's password once: IXSERVER_PDF_SIGNING_PASSWORD_FILE or IXSERVER_PDF_SIGNING_PASSWORD"
        )
    if settings.pdf_signing_password_file is not None:
        lines = settings.pdf_signing_password_file.read_text().splitlines()
        return lines[0].encode() if lines else b""
    if settings.pdf_signing_password is not None:
        return Vault.from_settings(settings).decrypt(settings.pdf_signing_password).encode()
    return None


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _from_pem(pem: bytes) -> PdfCertificate:
    key = serialization.load_pem_private_key(pem, password=None)
    certificate = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])
    return PdfCertificate(_pkcs8(key), certificate.public_bytes(serialization.Encoding.DER))


def _sandbox_certificate() -> bytes:
    """A new key (RSA 2048) and a self-signed certificate for it, valid SANDBOX_YEARS: PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SANDBOX_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ixserver sandbox (test certificate)"),
        ]
    )
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * SANDBOX_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + certificate.public_bytes(serialization.Encoding.PEM)
