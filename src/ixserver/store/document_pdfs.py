"""The documents' PDFs as first drawn and signed: one per document and copy, with the SHA-256 of
the template's inputs it was drawn from (services/pdfs.py decides what is kept and when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ixserver.store.tables import document_pdfs

_p = document_pdfs.c


def kept(conn: Connection, document_id: int, second_copy: bool) -> tuple[str, bytes] | None:
    """(the inputs' SHA-256, the PDF) kept for the document's copy, or None."""
    row = conn.execute(
        select(_p.inputs_sha256, _p.content).where(_p.document_id == document_id, _p.second_copy == second_copy)
    ).first()
    return None if row is None else (row[0], bytes(row[1]))


def keep(
    conn: Connection,
    account_id: int,
    document_id: int,
    second_copy: bool,
    inputs_sha256: str,
    content: bytes,
    now: datetime,
    replace: bool,
) -> None:
    """Keep `content` as the document's copy (`replace`: in place of the one kept)."""
    values = {"inputs_sha256": inputs_sha256, "content": content, "signed_at": now}
    if replace:
        conn.execute(
            update(document_pdfs).where(_p.document_id == document_id, _p.second_copy == second_copy).values(**values)
        )
    else:
        conn.execute(
            insert(document_pdfs).values(
                document_id=document_id, second_copy=second_copy, account_id=account_id, **values
            )
        )


def delete_account_pdfs(conn: Connection, account_id: int) -> None:
    conn.execute(delete(document_pdfs).where(_p.account_id == account_id))
