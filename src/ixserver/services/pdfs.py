"""A document's PDF (api-v2 §4.8): what it is drawn from — the document, its issuer (as frozen, and
its logo), the client's language, its QR code, the series' type, the document a note corrects or a
receipt pays — as the template's inputs (render/pdf.py), drawn by the caller's renderers
(render/children.py) once its read is over, and signed there (render/pades.py).

A signed PDF is kept (store/document_pdfs.py): the document's copy is signed once and the same
bytes are served afterwards, until what it is drawn from changes (its SHA-256 of the inputs): a
draft edited, a document canceled. `draw` gives the kept PDF or draws one; `keep_pdf`, a write use
case, keeps what was drawn — or answers the PDF another request kept meanwhile, so that everyone
is served the same bytes. An unsigned PDF (production without a certificate) is not kept: typst
draws the same bytes again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering, states
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import DocumentNotFound, QrCodeNotAvailable
from ixserver.domain.sequences import TRAINING
from ixserver.render import pdf as render
from ixserver.render import view
from ixserver.render.children import Renderers
from ixserver.services import qr_codes
from ixserver.services.documents import issuer_of_document
from ixserver.store import accounts as account_store
from ixserver.store import clients as client_store
from ixserver.store import document_pdfs as pdf_store
from ixserver.store import documents as store
from ixserver.store import logos as logo_store
from ixserver.store import sequences as sequence_store
from ixserver.store.db import Database
from ixserver.store.logos import Logo
from ixserver.writes.use_cases import of_account


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
        language=_language(document, client.language if client is not None else account.language),
        certificate=certificate,
        training=sequence_store.series_type_of(conn, document.sub_sequence_id) == TRAINING,
        second_copy=second_copy,
        qr_payload=qr_payload,
        related=related,
    )
    return context, logo


def _language(document: Document, current: str) -> str:
    """The language a document prints in: as its client was when it was issued (frozen with the
    client), else (a draft, or a document issued before the language was kept) the client's now."""
    frozen = document.client.get("language") if document.number is not None else None
    return str(frozen) if frozen else current


def public_view(conn: Connection, token: str, certificate: int) -> dict[str, Any] | None:
    """What the page of the issued document behind a permalink shows (render/view.py: what its PDF
    prints); None if there is none (drafts and deleted documents are not public)."""
    document = store.document_by_token(conn, token)
    if document is None or document.status in (states.DRAFT, states.DELETED):
        return None
    context, _logo = document_context(conn, document, certificate, second_copy=False)
    return view.document_view(document, context)


def public_document(conn: Connection, token: str) -> Document | None:
    """The document behind a permalink token whose PDF may be downloaded; None if there is none."""
    document = store.document_by_token(conn, token)
    return None if document is None or document.status == states.DELETED else document


@dataclass(frozen=True)
class Drawn:
    """A document's PDF for one request: the one kept, or one drawn now."""

    document: Document
    second_copy: bool
    inputs_sha256: str
    content: bytes
    to_keep: bool  # drawn now and signed: `keep_pdf` keeps it (or answers the one kept meanwhile)

    def keeping(self) -> tuple[int, int, bool, str, bytes]:
        """`keep_pdf`'s arguments after `conn`."""
        return self.document.account_id, self.document.id, self.second_copy, self.inputs_sha256, self.content

    def served(self, kept_instead: bytes | None) -> bytes:
        """The PDF to serve, given what `keep_pdf` answered (if it was asked)."""
        return self.content if kept_instead is None else kept_instead


def draw(
    db: Database,
    renderers: Renderers,
    find: Callable[[Connection], Document | None],
    certificate: int,
    second_copy: bool,
) -> Drawn | None:
    """The PDF of the document `find` reads (None: no document): the one kept if it was drawn
    from the same inputs, else drawn now by `renderers` (in a child, signed if they sign). Blocks:
    call it from a thread."""
    with db.read() as conn:
        document = find(conn)
        if document is None:
            return None
        inputs = pdf_inputs(conn, document, certificate, second_copy)
        digest = hashlib.sha256(repr(sorted(inputs.items())).encode()).hexdigest()
        kept = pdf_store.kept(conn, document.id, second_copy)
    if kept is not None and kept[0] == digest:
        return Drawn(document, second_copy, digest, kept[1], to_keep=False)
    signed = renderers.certificate is not None
    return Drawn(document, second_copy, digest, renderers.pdf(inputs), to_keep=signed)


@of_account
def keep_pdf(
    conn: Connection, account_id: int, document_id: int, second_copy: bool, inputs_sha256: str, content: bytes
) -> bytes | None:
    """Keep a PDF just drawn and signed as the document's copy. None: it is kept, serve it; else
    the PDF another request kept meanwhile from the same inputs, to serve instead."""
    kept = pdf_store.kept(conn, document_id, second_copy)
    if kept is not None and kept[0] == inputs_sha256:
        return kept[1]
    pdf_store.keep(
        conn, account_id, document_id, second_copy, inputs_sha256, content, clock.now(), replace=kept is not None
    )
    return None  # not the bytes again: they would cross back from the writer process for nothing
