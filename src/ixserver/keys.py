"""The key that signs documents (pt-compliance §3).

From IXSERVER_SIGNING_KEY_FILE (a PEM RSA private key — for production, the key whose public
half was declared to AT), else `<data dir>/signing-key.pem`, generated on first start (RSA
1024, as AT requires). IXSERVER_SIGNING_KEY_VERSION (default 1) is the key's version, stored
with every signature (SAF-T HashControl); give a new key a new version. The public half of
each version is kept in the database so that `ixserver verify` checks old documents too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ixserver.config import Settings
from ixserver.domain import signing


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
    path = settings.signing_key_file or settings.data_dir / "signing-key.pem"
    if settings.signing_key_file is None and not path.exists():
        _generate(path)
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return Signer(settings.signing_key_version, key)


def _generate(path: Path) -> None:
    """Written aside and linked into place, so that processes starting together agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def public_key_from_pem(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
