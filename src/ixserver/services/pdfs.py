"""A document's PDF (api-v2 §4.8): what it is drawn from — the document, its issuer (as frozen, and its logo),
the client's language, its QR code, the series' type, the document a note corrects or a receipt
pays — as the template's inputs (render/pdf.py), which the caller has drawn by its renderers
(render/children.py) once its read is over."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ixserver.domain import numbering, states
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import DocumentNotFound, QrCodeNotAvailable
from ixserver.domain.sequences import TRAINING
from ixserver.render import pdf as render
from ixserver.render import view
from ixserver.services import qr_codes
from ixserver.services.documents import issuer_of_document
from ixserver.store import accounts as account_store
from ixserver.store import clients as client_store
from ixserver.store import documents as store
from ixserver.store import logos as logo_store
from ixserver.store import sequences as sequence_store
from ixserver.store.logos import Logo


def pdf_document(conn: Connection, account_id: int, document_id: int) -> Document:
    """The account's document, any family and state but deleted."""
    document = store.get_document(conn, account_id, document_id)
    if document is None or document.status == states.DELETED:
        raise DocumentNotFound()
    return document


def pdf_inputs(conn: Connection, document: Document, certificate: int, second_copy: bool) -> dict[str, str]:
    context, logo = document_context(conn, document, certificate, second_copy)
    return render.inputs(document, context, (logo.content, logo.media_type) if logo is not None else None)


def document_context(
    conn: Connection, document: Document, certificate: int, second_copy: bool
) -> tuple[view.Context, Logo | None]:
    """What a document prints beyond itself (its PDF and its page alike), and its issuer's logo."""
    account = account_store.account_by_id(conn, document.account_id)
    assert account is not None
    frozen = issuer_of_document(document, account)
    logo = logo_store.logo_of(conn, document.account_id, frozen["logo"]) if frozen.get("logo") else None
    client = client_store.get_client(conn, document.account_id, document.client_id) if document.client_id else None
    qr_payload = None
    if document.number is not None and BY_KEY[document.doc_type].saft_code is not None:
        try:
            qr_payload = qr_codes.payload(conn, document, certificate)
        except QrCodeNotAvailable:  # an account without a NIF: no QR code to draw
            qr_payload = None
    related = None  # the document a note corrects or a receipt pays
    if document.owner_document_id is not None:
        owner = store.get_document(conn, document.account_id, document.owner_document_id)
        if owner is not None and owner.number is not None and owner.serie is not None:
            related = view.Related(
                numbering.document_number(BY_KEY[owner.doc_type], owner.serie, owner.number), owner.date
            )
    context = view.Context(
        issuer=view.Issuer.of(frozen),
        language=client.language if client is not None else account.language,
        certificate=certificate,
        training=sequence_store.series_type_of(conn, document.sub_sequence_id) == TRAINING,
        second_copy=second_copy,
        qr_payload=qr_payload,
        related=related,
    )
    return context, logo


def public_view(conn: Connection, token: str, certificate: int) -> dict[str, Any] | None:
    """What the page of the issued document behind a permalink shows (render/view.py: what its PDF
    prints); None if there is none (drafts and deleted documents are not public)."""
    document = store.document_by_token(conn, token)
    if document is None or document.status in (states.DRAFT, states.DELETED):
        return None
    context, _logo = document_context(conn, document, certificate, second_copy=False)
    return view.document_view(document, context)


def public_pdf_inputs(conn: Connection, token: str, certificate: int, second_copy: bool) -> dict[str, str] | None:
    """What the PDF of the document behind a permalink token is drawn from; None if there is none."""
    document = store.document_by_token(conn, token)
    if document is None or document.status == states.DELETED:
        return None
    return pdf_inputs(conn, document, certificate, second_copy)
