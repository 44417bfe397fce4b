"""Secrets at rest (AT credentials): Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from IXSERVER_SECRET_KEY, else from `<data dir>/secret.key`, created on first
use (mode 600). Several server instances on one database must share the same key.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from ixserver.config import Settings
from ixserver.files import create_once


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._key = key

    def derive(self, purpose: str) -> bytes:
        """A key of its own for `purpose` (the seal's MAC key), from the secret key: outside the
        database, as the secret key is."""
        return hmac.new(self._key, f"ixserver:{purpose}".encode(), hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(create_once(settings.data_dir / "secret.key", lambda: Fernet.generate_key() + b"\n").strip())

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: the secret key is not the one these secrets were stored with") from None
