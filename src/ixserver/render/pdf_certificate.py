"""The certificate that signs PDFs (render/pades.py), as plain bytes: what a child that draws
PDFs is handed as it starts (render/children.py), without pyHanko in the server's processes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509


@dataclass(frozen=True)
class PdfCertificate:
    """The certificate that signs PDFs and its private key (DER: PKCS#8 and X.509), with the
    certificates of its issuers, as a P12 holds them; plain bytes, so that it crosses to a child."""

    key_der: bytes
    certificate_der: bytes
    chain_der: tuple[bytes, ...] = ()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc
