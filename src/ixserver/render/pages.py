"""The public pages: a document's, behind its permalink, and a client's statement, behind its
`open_account_link` — Jinja2 templates (templates/pages/, package data) with one stylesheet
(templates/pages/page.css) the app serves at STYLESHEET: nothing inline, nothing from elsewhere,
which the pages' Content-Security-Policy (`style-src 'self'`) holds them to. A document's page
shows its view (render/view.py), the words and figures its PDF prints; a statement's, in the
client's language as its documents are."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources as package
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ixserver.domain import numbering, states
from ixserver.domain.clients import FINAL_CONSUMER, FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.payments import payable
from ixserver.domain.treasury import Balance
from ixserver.render.catalogue import gettext, language_of, pgettext
from ixserver.render.formats import Formats
from ixserver.render.view import EURO, Issuer, issuer_view, labels, title

STYLESHEET = "/documents/page.css"  # where the app serves it, and the pages' icon (api/permalink.py)
ICON = "/documents/icon.svg"

_ENV = Environment(
    loader=PackageLoader("ixserver.render", "templates/pages"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,  # a name the page does not have is a bug, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def asset(name: str) -> bytes:
    """The stylesheet (page.css) or the icon (icon.svg)."""
    return package.files("ixserver.render").joinpath(f"templates/pages/{name}").read_bytes()


def document_page(view: dict[str, Any], token: str) -> str:
    """The page of the issued document behind `token`, from its view."""
    return _ENV.get_template("document.html").render(
        d=view,
        lang=view["lang"],
        l=view["labels"],
        _=gettext(view["lang"]),
        stylesheet=STYLESHEET,
        icon=ICON,
        base=f"/documents/{token}",
    )


def statement_page(
    issuer: Issuer,
    client_name: str,
    client_fiscal_id: str | None,
    language: str,
    documents: list[tuple[Document, Decimal]],
    receipts: list[Document],
    balance: Balance,
    token: str,
) -> str:
    """A client's statement: the documents it was issued and what each still owes, its payments,
    its balance (in euros, as the client current account keeps it)."""
    language = language_of(language)
    formats = Formats(language)
    status = pgettext(language)
    nif = (client_fiscal_id or "").strip()
    return _ENV.get_template("statement.html").render(
        issuer=issuer_view(issuer, language),
        logo=f"/statements/{token}/logo" if issuer.logo else None,
        client={"name": client_name, "fiscal_id": None if nif in ("", FINAL_CONSUMER_NIF) else nif},
        final_consumer=FINAL_CONSUMER,
        lang=language,
        l=labels(language),
        _=gettext(language),
        stylesheet=STYLESHEET,
        icon=ICON,
        documents=[
            {
                "number": _number(d, language),
                "date": formats.date(d.date),
                "due_date": formats.date(d.due_date),
                "total": formats.money(d.total, d.currency_code),
                "due": formats.money(due, EURO),
                "status": status("status", d.status),
                "pdf": f"/documents/{d.permalink_token}/original.pdf",
            }
            for d, due in documents
        ],
        receipts=[
            {
                "number": _number(r, language),
                "date": formats.date(r.date),
                "amount": formats.money(payable(r.total, r.retention_amount), r.currency_code),
                "status": status("status", r.status) if r.status == states.CANCELED else "",
                "pdf": f"/documents/{r.permalink_token}/original.pdf",
            }
            for r in receipts
        ],
        balance={
            "with_vat": formats.money(balance.balance.with_vat, EURO),
            "without_vat": formats.money(balance.balance.without_vat, EURO),
            "overdue": formats.money(balance.overdue.with_vat, EURO),
        },
    )


def _number(document: Document, language: str) -> str:
    assert document.number is not None and document.serie is not None  # a statement lists issued documents
    number = numbering.document_number(BY_KEY[document.doc_type], document.serie, document.number)
    return f"{title(document.doc_type, language)} {number}"
