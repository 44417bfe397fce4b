"""A drawn PDF signed: PAdES baseline B-B (ETSI EN 319 142-1), with pyHanko.

The signature is a CAdES detached CMS (SubFilter ETSI.CAdES.detached) in an invisible field,
over the whole file, by the operator's certificate (production, IXSERVER_PDF_SIGNING_P12) or the
sandbox's test certificate (pdf_signing.py), with the issuers' certificates the P12 carries.
No timestamp (B-T needs a timestamping authority, reached over the network) and no revocation
data (B-LT): a reader checks the certificate when it opens the PDF. The time of signing is the
dictionary's /M, as PAdES asks (no signing-time attribute in the CMS).

`PadesSigner` is built once in each child that draws PDFs (render/children.py): the key is loaded
once, the CMS is built once (`_HeldKeySigner`), and the room kept for the signature is computed
once from the certificates' sizes (pyHanko would load the key again, and build the CMS twice, to
measure it, for each PDF).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ixserver.render.pdf_certificate import PdfCertificate

FIELD = "ixserver"  # the signature's field
DIGEST = "sha256"


class PadesSigner:
    """Signs PDFs with one certificate; one per process that signs (not shared between threads)."""

    def __init__(self, certificate: PdfCertificate) -> None:
        key = serialization.load_der_private_key(certificate.key_der, password=None)
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ValueError("the certificate's key is neither RSA nor EC")
        signer = _HeldKeySigner(
            key,
            signing_cert=asn1_x509.Certificate.load(certificate.certificate_der),
            signing_key=asn1_keys.PrivateKeyInfo.load(certificate.key_der),
            cert_registry=SimpleCertificateStore.from_certs(
                [asn1_x509.Certificate.load(der) for der in certificate.chain_der]
            ),
        )
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD, md_algorithm=DIGEST, subfilter=fields.SigSeedSubFilter.PADES
        )
        self._signer = signers.PdfSigner(meta, signer=signer)
        # The CMS: the certificates, the signature, the signed attributes and the signer's
        # identity (a few hundred bytes); twice that as hexadecimal in /Contents, with room to spare.
        certificates = len(certificate.certificate_der) + sum(len(der) for der in certificate.chain_der)
        self._reserved = 2 * (certificates + _signature_size(key) + 2048)
        self._loop = asyncio.new_event_loop()

    def sign(self, pdf: bytes) -> bytes:
        """`pdf` with a PAdES B-B signature over all of it, as an incremental update."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        signed = self._loop.run_until_complete(self._signer.async_sign_pdf(writer, bytes_reserved=self._reserved))
        return bytes(signed.getbuffer())

    def close(self) -> None:
        self._loop.close()


class _HeldKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, made cheap to call again: its key loaded once (it parses the key
    again at every signature: ~50 ms of an RSA key's checks), and its CMS built once. pyHanko
    builds the first CMS (`_Template`); every later one is that CMS with two values put in: the
    document's digest (the message-digest attribute) and the signature over the signed
    attributes. The rest — the certificates, the signer's identity, the algorithms, the other
    signed attributes (content type, the signing certificate's hash) — is the same for every PDF,
    and building it again with asn1crypto cost ~90 % of a signature."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._key = key
        self._template: _Template | None = None

    async def async_sign(
        self, data_digest: bytes, digest_algorithm: str, dry_run: bool = False, use_pades: bool = False,
        timestamper: Any = None, signed_attr_settings: PdfCMSSignedAttributes | None = None, is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> cms.ContentInfo:  # fmt: skip
        plain = not dry_run and timestamper is None and encap_content_info is None
        if self._template is None or not plain:
            built = await super().async_sign(data_digest, digest_algorithm, dry_run, use_pades, timestamper,
                                             signed_attr_settings, is_pdf_sig, encap_content_info)  # fmt: skip
            if plain and self._template is None:
                self._template = _Template(built)
            return built
        return self._template.filled(data_digest, lambda attributes: self.sign_raw(attributes, digest_algorithm))

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), digest)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(digest))
        return bytes(super().sign_raw(data, digest_algorithm))


class _Template:
    """A CMS pyHanko built, as DER, and where its digest and signature are in it."""

    def __init__(self, built: cms.ContentInfo) -> None:
        self.der = built.dump()
        signer_info = built["content"]["signer_infos"][0]
        self.attributes = signer_info["signed_attrs"].untag().dump()  # what is signed: a DER SET
        (digest,) = [a["values"][0].native for a in signer_info["signed_attrs"] if a["type"].native == "message_digest"]
        self.digest, self.signature = bytes(digest), bytes(signer_info["signature"].native)
        for part in (self.digest, self.signature):
            assert self.der.count(part) == 1, "each value is found once in the CMS"
        assert self.attributes.count(self.digest) == 1
        self.at, self.signed_at = self.der.index(self.digest), self.der.index(self.signature)
        assert self.at < self.signed_at, "the signed attributes come before the signature"

    def filled(self, digest: bytes, sign: Callable[[bytes], bytes]) -> cms.ContentInfo:
        """The CMS with `digest` as its message digest, and signed."""
        if len(digest) != len(self.digest):
            raise ValueError("the CMS was built for another digest algorithm")
        signature = sign(self.attributes.replace(self.digest, digest))
        if len(signature) == len(self.signature):  # RSA: the same lengths, the bytes put in place
            at, signed_at = self.at, self.signed_at
            der = (self.der[:at] + digest + self.der[at + len(digest) : signed_at] + signature
                   + self.der[signed_at + len(signature) :])  # fmt: skip
            return cms.ContentInfo.load(der)
        content = cms.ContentInfo.load(self.der)  # ECDSA: another length, asn1crypto encodes it
        signer_info = content["content"]["signer_infos"][0]
        for attribute in signer_info["signed_attrs"]:
            if attribute["type"].native == "message_digest":
                attribute["values"] = cms.SetOfOctetString([digest])
        signer_info["signature"] = signature
        return content


def _signature_size(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> int:
    return key.key_size // 8 if isinstance(key, rsa.RSAPrivateKey) else 2 * (key.key_size // 8) + 9


def blank_pdf() -> bytes:
    """A one-page empty PDF (what a child signs once as it starts, so that the first document
    it signs finds pyHanko's code and tables ready)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
