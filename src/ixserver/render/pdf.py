"""A document's PDF (pt-compliance §3.2 and §7; api-v2 §4.8), with typst: the template
(templates/document.typ, package data; one layout for every family) lays out the document's view
(render/view.py: every text prepared and translated), its QR symbol and its issuer's logo.
Besides the view's, the PDF has the ATCUD on every page, carried-over totals and page n of N.
Only typst's embedded fonts are used and the PDF carries no date: the same document gives the
same bytes. typst draws it in a bounded child process (render/children.py `Renderers`)."""

from __future__ import annotations

import json

from ixserver.domain.documents import Document
from ixserver.render import logo as render_logo
from ixserver.render import qr as render_qr
from ixserver.render.view import Context, document_view


def inputs(document: Document, context: Context, logo: tuple[bytes, str] | None = None) -> dict[str, str]:
    """What the template is given to draw the PDF (render/children.py draws it): the view as
    JSON, the QR symbol and the logo (`(bytes, media type)`) as SVG."""
    view = document_view(document, context)
    view["qr"] = {
        "size": render_qr.SYMBOL_MM if context.qr_payload is not None else 0,
        "quiet": render_qr.QUIET_ZONE_MM,
    }
    view["logo_mm"] = render_logo.LOGO_MM
    given = {"data": json.dumps(view, ensure_ascii=False)}
    if context.qr_payload is not None:
        given["qr"] = render_qr.svg(context.qr_payload)
    if logo is not None and context.issuer.logo:
        given["logo"] = render_logo.svg(*logo)
    return given
