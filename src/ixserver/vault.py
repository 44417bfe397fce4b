"""Secrets at rest (AT credentials): Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from IXSERVER_SECRET_KEY, else from `<data dir>/secret.key`, created on first
use (mode 600). Several server instances on one database must share the same key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ixserver.config import Settings


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(_key_file(settings.data_dir / "secret.key"))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: the secret key is not the one these secrets were stored with") from None


def _key_file(path: Path) -> bytes:
    """Read the key, or create it: written to a temporary file first and linked into place,
    so that processes starting together all end up with the same, complete key."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
    try:
        os.link(temporary, path)  # fails if another process got there first: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes().strip()
