"""The SAF-T (PT) export of an account's period (pt-compliance §5; render/saft.py writes it).

Two passes over the period's documents, a chunk at a time (memory flat in their number): the
first counts the control totals and gathers the master files the period uses (customers,
products, taxes), the second streams the documents out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import IO

from sqlalchemy.engine import Connection

from ixserver import __version__, clock
from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import Document
from ixserver.domain.errors import AccountNotFound, ValidationFailed
from ixserver.domain.sequences import TRAINING, TRAINING_MENTION
from ixserver.render import saft as render
from ixserver.store import accounts as account_store
from ixserver.store import documents as store
from ixserver.store import sequences as sequence_store

CHUNK = 500
# Types in the file, in the order of its tables (SalesInvoices, MovementOfGoods, WorkingDocuments,
# Payments): every type with a SAF-T class (fees notes and purchase orders have none).
ORDER = {"SI": 0, "MG": 1, "WD": 2, "PY": 3}
EXPORTED = tuple(t.key for t in sorted((t for t in DOC_TYPES if t.saft_class), key=lambda t: ORDER[t.saft_class or ""]))


def _chunks(conn: Connection, account_id: int, ids: list[int]) -> Iterator[Document]:
    for start in range(0, len(ids), CHUNK):
        yield from store.fetch_documents(conn, account_id, ids[start : start + CHUNK])


def _ids(conn: Connection, account_id: int, first: date, last: date) -> list[int]:
    """By table, then type, series and number."""
    found: list[int] = []
    for table_class in ORDER:
        types = [t.key for t in DOC_TYPES if t.saft_class == table_class]
        found += store.issued_between(conn, account_id, first, last, types)
    return found


def export(
    conn: Connection,
    account_name: str,
    first: date,
    last: date,
    out: IO[bytes],
    *,
    certificate: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the account's SAF-T file of [first, last] to `out`; how many documents it holds.
    `progress(written, total)` after each document."""
    if last < first:
        raise ValidationFailed("The period ends before it starts")
    account = account_store.account_by_name(conn, account_name)
    if account is None:
        raise AccountNotFound()
    if not account.fiscal_id:
        raise ValidationFailed("The account has no NIF: a SAF-T file names its taxpayer by NIF")
    ids = _ids(conn, account.id, first, last)
    period = render.Period()
    customers: dict[str, render.Customer] = {}
    products: dict[str, render.Product] = {}
    taxes: dict[tuple[str, str, object], render.TaxEntry] = {}
    series_types: dict[int | None, str | None] = {}
    for document in _chunks(conn, account.id, ids):  # pass 1: control totals, master files
        render.add_to_totals(period.totals, document)
        customers[render.customer_id(document)] = render.customer_of(document)
        for line in document.lines:
            products.setdefault(render.product_code(line), render.product_of(line))
            taxes.setdefault((line.tax_region, line.tax_code, line.tax_value), render.TaxEntry(line.tax_region, line.tax_code, line.tax_value))
        if document.sub_sequence_id not in series_types:
            series_types[document.sub_sequence_id] = sequence_store.series_type_of(conn, document.sub_sequence_id)
    training = TRAINING in series_types.values()
    period.customers = sorted(customers.values(), key=lambda c: c.id)
    period.products = sorted(products.values(), key=lambda p: p.code)
    period.taxes = sorted(taxes.values(), key=lambda t: (t.region, t.code, t.percentage))
    place = " ".join(part for part in (account.postal_code,) if part)
    header = render.Header(
        company_id=account.fiscal_id,
        tax_registration_number=account.fiscal_id,
        company_name=account.organization_name or account.name,
        address_detail=account.address or "Desconhecido",
        city=account.city or "Desconhecido",
        postal_code=place or "Desconhecido",
        fiscal_year=first.year,
        start_date=first,
        end_date=last,
        date_created=clock.today(),
        product_company_tax_id=account.fiscal_id,
        software_certificate=certificate,
        product_version=__version__,
        header_comment=TRAINING_MENTION if training else None,
        email=account.email,
    )
    written = 0

    def documents() -> Iterator[tuple[Document, Document | None]]:
        nonlocal written
        for document in _chunks(conn, account.id, ids):  # pass 2: the documents
            related = store.get_document(conn, account.id, document.owner_document_id) if document.owner_document_id else None
            yield document, related
            written += 1
            if progress is not None:
                progress(written, len(ids))

    render.write(out, header, period, documents())
    return written
