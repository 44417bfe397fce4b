"""The key that signs documents (pt-compliance §3).

From IXSERVER_SIGNING_KEY_FILE (a PEM RSA private key — for production, the key whose public
half was declared to AT), else `<data dir>/signing-key.pem`, generated on first start (RSA
1024, as AT requires). IXSERVER_SIGNING_KEY_VERSION (default 1) is the key's version, stored
with every signature (SAF-T HashControl); give a new key a new version. The public half of
each version is kept in the database so that `ixserver verify` checks old documents too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ixserver.domain import signing
from ixserver.files import create_once

if TYPE_CHECKING:  # the settings' module is not imported to check a SAF-T file (`ixserver verify --saft`)
    from ixserver.config import Settings


@dataclass(frozen=True)
class Signer:
    version: int
    private_key: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, message: str) -> str:
        return signing.sign(self.private_key, message)


def load_signer(settings: Settings) -> Signer:
    if settings.signing_key_file is not None:
        path, pem = settings.signing_key_file, settings.signing_key_file.read_bytes()
    else:
        path = settings.data_dir / "signing-key.pem"
        pem = create_once(path, _generate)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return Signer(settings.signing_key_version, key)


def _generate() -> bytes:
    """A new RSA-1024 key (the size AT requires), PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def public_key_from_pem(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
