"""The SAF-T (PT) export of an account's period (pt-compliance §5; render/saft.py writes it).

Two passes over the period's documents, a chunk at a time (memory flat in their number): the
first counts the control totals and gathers the master files the period uses (customers,
products, taxes), the second streams the documents out.
"""

from __future__ import annotations

import calendar
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date, timedelta
from io import BufferedIOBase

from sqlalchemy.engine import Connection

from ixserver import __version__, clock
from ixserver.domain.accounts import issuer_of
from ixserver.domain.clients import FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import DOC_TYPES
from ixserver.domain.documents import Document
from ixserver.domain.errors import (
    AccountNotFound,
    SaftExportNotSealed,
    SaftNothingToExport,
    SaftPeriodInvalid,
    ValidationFailed,
)
from ixserver.domain.sequences import TRAINING, TRAINING_MENTION
from ixserver.domain.taxes import reported_code
from ixserver.render import saft as render
from ixserver.resources import Resources
from ixserver.services import clocks
from ixserver.services import seal as seal_service
from ixserver.store import accounts as account_store
from ixserver.store import documents as store
from ixserver.store import jobs as job_store
from ixserver.store import saft_exports as export_store
from ixserver.store import sequences as sequence_store
from ixserver.writes.use_cases import of_account

CHUNK = 500
PRODUCER_NOT_IDENTIFIED = FINAL_CONSUMER_NIF  # ProductCompanyTaxID until IXSERVER_PRODUCER_TAX_ID says who
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
    out: BufferedIOBase,
    *,
    certificate: int,
    producer_tax_id: str = PRODUCER_NOT_IDENTIFIED,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the account's SAF-T file of [first, last] to `out`; how many documents it holds.
    `certificate`, `producer_tax_id`: the program's AT certificate and its producer's tax id
    (IXSERVER_SOFTWARE_CERTIFICATE, IXSERVER_PRODUCER_TAX_ID). The company is as the period's
    latest document froze its issuer (else the account as it is). `progress(written, total)`
    after each document."""
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
    latest: Document | None = None  # the latest document issued, whose issuer the header names
    for document in _chunks(conn, account.id, ids):  # pass 1: control totals, master files
        render.add_to_totals(period.totals, document)
        if document.issuer and (
            latest is None or (document.system_entry_date or "") >= (latest.system_entry_date or "")
        ):
            latest = document
        customers[render.customer_id(document)] = render.customer_of(document)
        for line in document.lines:
            products.setdefault(render.product_code(line), render.product_of(line))
            code = reported_code(line.tax_region, line.tax_value, line.tax_code)
            taxes.setdefault(
                (line.tax_region, code, line.tax_value), render.TaxEntry(line.tax_region, code, line.tax_value)
            )
        if document.sub_sequence_id not in series_types:
            series_types[document.sub_sequence_id] = sequence_store.series_type_of(conn, document.sub_sequence_id)
    training = TRAINING in series_types.values()
    period.customers = sorted(customers.values(), key=lambda c: c.id)
    period.products = sorted(products.values(), key=lambda p: p.code)
    period.taxes = sorted(taxes.values(), key=lambda t: (t.region, t.code, t.percentage))
    company = latest.issuer if latest is not None and latest.issuer else issuer_of(asdict(account))
    header = render.Header(
        company_id=company.get("fiscal_id") or account.fiscal_id,
        tax_registration_number=company.get("fiscal_id") or account.fiscal_id,
        company_name=company.get("name") or account.name,
        address_detail=company.get("address") or "Desconhecido",
        city=company.get("city") or "Desconhecido",
        postal_code=company.get("postal_code") or "Desconhecido",
        fiscal_year=first.year,
        start_date=first,
        end_date=last,
        date_created=clocks.account_today(conn, account.id),
        product_company_tax_id=producer_tax_id,
        software_certificate=certificate,
        product_version=__version__,
        header_comment=TRAINING_MENTION if training else None,
        email=company.get("email"),
    )
    written = 0

    def documents() -> Iterator[tuple[Document, Document | None]]:
        nonlocal written
        for document in _chunks(conn, account.id, ids):  # pass 2: the documents
            related = (
                store.get_document(conn, account.id, document.owner_document_id) if document.owner_document_id else None
            )
            yield document, related
            written += 1
            if progress is not None:
                progress(written, len(ids))

    render.write(out, header, period, documents())
    return written


# -- GET /api/export_saft.json (api-v2 §14): a month's file, made by a job --------------------

SAFT_JOB = "saft"
RUNNING_FOR = timedelta(minutes=30)  # a file still "running" after this is made again


def month_period(year: int | None, month: int | None) -> tuple[date, date]:
    if year is None or month is None or not 1 <= month <= 12 or not 2000 <= year <= 2099:
        raise SaftPeriodInvalid()
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, 1), date(year, month, last_day)


def export_state(conn: Connection, account_id: int, year: int, month: int) -> tuple[str, str | None]:
    """("ready", token) when the month's latest file is done and no document of the month changed
    since; ("running", None) while one is being made; else ("none", None)."""
    first, last = month_period(year, month)
    found = export_store.latest(conn, account_id, year, month)
    if found is None:
        return "none", None
    if found.status == export_store.RUNNING and clocks.account_now(conn, account_id) - found.created_at < RUNNING_FOR:
        return "running", None
    if found.status == export_store.DONE and found.seal_seq is not None:  # (kept before files were sealed: made again)
        _count, changed = export_store.period_activity(conn, account_id, first, last)
        if changed is None or (found.created_at is not None and changed <= found.created_at):
            return "ready", found.token
    return "none", None


@of_account
def start_export(conn: Connection, account_id: int, year: int, month: int) -> tuple[str, str | None]:
    """Start making the month's file (a job), unless it is ready or under way; what `export_state`
    says after. 422 when the month has no document."""
    state = export_state(conn, account_id, year, month)
    if state[0] != "none":
        return state
    first, last = month_period(year, month)
    count, _changed = export_store.period_activity(conn, account_id, first, last)
    if count == 0:
        raise SaftNothingToExport()
    export_id = export_store.start(conn, account_id, year, month, secrets.token_hex(20), clock.now())
    job_store.enqueue(conn, account_id, SAFT_JOB, {"export_id": export_id}, clock.real_now())
    return "running", None


def finish_export(
    conn: Connection, resources: Resources, account_id: int, export_id: int, content: bytes, count: int
) -> None:
    """The file made, kept, and sealed: the API serves only the file the seal recorded."""
    export_store.finish(conn, export_id, content, count, clock.now())
    export = export_store.get(conn, export_id)
    if export is None or export.account_id != account_id:
        return  # the account was reset meanwhile
    seq = seal_service.record_export(conn, resources.seal_key, account_id, export, export_store.digest(content))
    export_store.set_seal(conn, export_id, seq)


@of_account
def fail_export(conn: Connection, account_id: int, export_id: int, error: str) -> None:
    """The export failed for good: a use case of its account, whose lock it takes (on PostgreSQL
    its version moves on, so that the export's state is read anew)."""
    export_store.fail(conn, export_id, error, clock.now())


def exports_of(conn: Connection, account_id: int, limit: int = 100) -> list[export_store.Export]:
    """The account's latest SAF-T files (made, under way or failed), newest first."""
    return export_store.account_exports(conn, account_id, limit)


def exported_file(conn: Connection, seal_key: bytes, token: str) -> tuple[str, bytes] | None:
    """A made file's name and gzipped content, by the token of its address; refused unless it
    is the file the seal recorded (an edit in the database is not served)."""
    found = export_store.content_by_token(conn, token)
    if found is None:
        return None
    export, content = found
    if seal_service.sealed_export_digest(conn, seal_key, export) != export_store.digest(content):
        raise SaftExportNotSealed()
    account = account_store.account_by_id(conn, export.account_id)
    nif = account.fiscal_id if account is not None and account.fiscal_id else "saft"
    return f"SAFT_{nif}_{export.year}{export.month:02d}.xml", content
