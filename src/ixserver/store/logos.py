"""The accounts' logos, by the SHA-256 of their bytes: each kept once, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ixserver.store.tables import account_logos

_c = account_logos.c


@dataclass(frozen=True)
class Logo:
    media_type: str  # image/png, image/jpeg
    content: bytes


def keep_logo(conn: Connection, account_id: int, digest: str, logo: Logo, created_at: datetime) -> None:
    """Keep the logo (once: the same bytes again are the same row)."""
    if logo_of(conn, account_id, digest) is None:
        conn.execute(
            account_logos.insert().values(
                account_id=account_id,
                digest=digest,
                media_type=logo.media_type,
                content=logo.content,
                created_at=created_at,
            )
        )


def logo_of(conn: Connection, account_id: int, digest: str) -> Logo | None:
    row = conn.execute(
        select(_c.media_type, _c.content).where(_c.account_id == account_id, _c.digest == digest)
    ).first()
    return Logo(row[0], bytes(row[1])) if row else None
