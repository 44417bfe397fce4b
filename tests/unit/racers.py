"""Functions run in other processes by unit tests."""

from __future__ import annotations

import secrets
from pathlib import Path

from ixserver.files import create_once


def create_key(path: str) -> str:
    return create_once(Path(path), lambda: f"key-{secrets.token_hex(16)}".encode()).decode()
