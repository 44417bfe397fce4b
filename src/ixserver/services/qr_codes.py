"""The AT QR code of an issued document (api-v2 §4.9, pt-compliance §4): its payload, for the
QR endpoint, the public image behind it, and the PDF."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ixserver.domain import qr, states
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import QrCodeDocumentNotFound, QrCodeNotAvailable
from ixserver.store import accounts as account_store
from ixserver.store import documents as store


def qr_document(conn: Connection, account_id: int, document_id: int) -> Document:
    """The account's document, if it has a QR code: issued (final, canceled, settled…), of a type
    AT's SAF-T holds."""
    document = store.get_document(conn, account_id, document_id)
    if document is None or document.status == states.DELETED:
        raise QrCodeDocumentNotFound(document_id)
    if document.number is None:
        raise QrCodeNotAvailable(
            f"Document with ID {document_id} is still in draft. QR Codes are only available for final, canceled or"
            " settled documents."
        )
    if BY_KEY[document.doc_type].saft_code is None:
        raise QrCodeNotAvailable(f"Document with ID {document_id} is not a document of AT's SAF-T: it has no QR Code.")
    return document


def payload(conn: Connection, document: Document, certificate: int) -> str:
    """The QR payload of an issued document; the issuer is its account (its NIF)."""
    account = account_store.account_by_id(conn, document.account_id)
    if account is None or not account.fiscal_id:
        raise QrCodeNotAvailable("The account has no NIF: a QR Code names its issuer by NIF")
    return qr.payload(qr.document_fields(document, account.fiscal_id, certificate))


def public_payload(conn: Connection, token: str, certificate: int) -> str | None:
    """The QR payload of the issued document behind a permalink token; None if there is none."""
    document = store.document_by_token(conn, token)
    if document is None:
        return None
    try:
        return payload(conn, qr_document(conn, document.account_id, document.id), certificate)
    except (QrCodeDocumentNotFound, QrCodeNotAvailable):
        return None
