"""`ixserver verify`: audit what the database holds against the rules it must keep.

For every account, series and document type: numbers run 1..n with no gap or duplicate; each
signature verifies with the public key of its version and chains to the previous document's
(receipts are not signed: their amounts add up instead);
the totals recompute from the lines; dates and SystemEntryDates never go backwards; the
counter and the chain head agree with the last document; a numbered document is issued (not a
draft or deleted) and its ATCUD is its series' code and number; the kept document counts
(which lists report as their totals) agree with the documents. For every corrected document:
its live credit notes take back no more than it holds, in total and line by line, its live
receipts pay no more than is owed, and a canceled document has no live corrections or receipts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver.domain import numbering, signing, states
from ixserver.domain.doctypes import BY_KEY, RECEIPT_TYPES
from ixserver.domain.documents import CREDIT_NOTES, Document, credit_line_problems
from ixserver.domain.euros import gross_totals_allowed
from ixserver.domain.payments import payable
from ixserver.domain.totals import Line, compute
from ixserver.journal import Heads
from ixserver.services import seal as seal_service
from ixserver.signing_key import public_key_from_pem
from ixserver.store import accounts as account_store
from ixserver.store import counters as counter_store
from ixserver.store import document_counts
from ixserver.store import documents as document_store
from ixserver.store import sequences as sequence_store
from ixserver.store import signing_keys as key_store


def verify(
    conn: Connection,
    seal_key: bytes,
    account_name: str | None = None,
    *,
    journals: list[Heads] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Every problem found, one line each; an empty list means clean. `seal_key`: the key that
    MACs the seal (`Resources.seal_key`); `journals`: the seal journals (ixserver/journal.py) the
    database's chains must hold the latest heads of (None: not checked); `progress(done, total)`
    after each account."""
    problems: list[str] = []
    keys = {version: public_key_from_pem(pem) for version, pem in key_store.all_public_keys(conn).items()}
    if account_name is not None:  # one account: not a scan of every account's row
        named = account_store.account_by_name(conn, account_name)
        checked = [named] if named is not None else []
    else:
        checked = account_store.list_accounts(conn)
        known = {a.id for a in checked}
        for journal in journals or []:
            problems += [
                f"seal: the journal {journal.path} records account {gone}, which the database no longer has"
                for gone in sorted(set(journal.accounts) - known)
                if journal.accounts[gone]
            ]
    for done, account in enumerate(checked, 1):
        problems += _series_problems(conn, account.id, account.name)
        for doc_type, status, archived, period, day, kept, actual in document_counts.count_disagreements(
            conn, account.id
        ):
            dated = {"total": "", "day": f" dated {day}", "month": f" of {str(day)[:7]}"}[period]
            problems.append(
                f"{account.name}: {kept} {status} {doc_type} documents{dated} counted "
                f"({'' if archived else 'not '}archived), but {actual} stored"
            )
        # every numbered document read once, for its counter's chain and for the seal
        issued = document_store.fetch_documents(conn, account.id, document_store.numbered_ids(conn, account.id))
        chains: dict[int | None, list[Document]] = {}
        for document in issued:
            chains.setdefault(document.sub_sequence_id, []).append(document)
        for counter in counter_store.account_counters(conn, account.id):
            chain = sorted(chains.get(counter.id, []), key=lambda d: d.number or 0)
            if chain or counter.current_number:
                problems += _chain_problems(account.name, counter, chain, keys)
        problems += _correction_problems(conn, account.id, account.name)
        names = {d.id: f"{account.name}: {seal_service.label(d)}" for d in issued}
        problems += [
            line if line.startswith(f"{account.name}: ") else f"{account.name}: {line}"
            for line in seal_service.seal_problems(conn, seal_key, account.id, names, _journaled(journals, account.id))
        ]
        if progress is not None:
            progress(done, len(checked))
    return problems


def _journaled(journals: list[Heads] | None, account_id: int) -> list[tuple[int, str, str]] | None:
    if journals is None:
        return None
    return [entry for journal in journals for entry in journal.accounts.get(account_id, [])]


def _correction_problems(conn: Connection, account_id: int, name: str) -> list[str]:
    problems = []
    for owner_id in document_store.corrected_ids(conn, account_id):
        owner = document_store.get_document(conn, account_id, owner_id)
        if owner is None:
            continue
        where = f"{name}: {seal_service.label(owner)}"
        notes = document_store.fetch_documents(
            conn, account_id, document_store.live_correction_ids(conn, owner_id, tuple(BY_KEY))
        )
        if notes and owner.status == states.CANCELED:
            problems.append(f"{where}: canceled, but corrected by {', '.join(seal_service.label(n) for n in notes)}")
        credits = [n for n in notes if n.doc_type in CREDIT_NOTES]
        credited = sum((n.total for n in credits), Decimal(0))
        if credited > owner.total:
            problems.append(f"{where}: credit notes take back {credited:.2f} of {owner.total:.2f}")
        # (a credit note after a payment is a refund: receipts are checked against the document)
        owed = payable(owner.total, owner.retention_amount)
        paid = sum((payable(n.total, n.retention_amount) for n in notes if n.doc_type in RECEIPT_TYPES), Decimal(0))
        if paid > owed:
            problems.append(f"{where}: receipts pay {paid:.2f} of {owed:.2f}")
        lines = credit_line_problems(owner.lines, [], [line for n in credits for line in n.lines])
        problems += [f"{where}: its credit notes: {problem}" for problem in lines]
    return problems


def _series_problems(conn: Connection, account_id: int, name: str) -> list[str]:
    problems = []
    found = sequence_store.fetch_sequences(conn, account_id)
    defaults = [s.serie for s in found if s.is_default]
    if len(defaults) != 1:
        problems.append(f"{name}: {len(defaults)} default sequences (must be exactly 1): {defaults}")
    for sequence in found:
        missing = sorted(set(BY_KEY) - set(sequence.subs))
        if missing:
            problems.append(f"{name}: sequence {sequence.serie} has no counter for {', '.join(missing)}")
    return problems


def _chain_problems(
    account: str, counter: counter_store.Counter, chain: list[Document], keys: Mapping[int, object]
) -> list[str]:
    kind = BY_KEY[counter.doc_type]
    label = f"{account}: {kind.internal_code} {counter.serie}"
    problems: list[str] = []
    numbers = [d.number for d in chain]
    if numbers != list(range(1, len(chain) + 1)):
        problems.append(f"{label}: numbers are {_ranges(numbers)}, not 1..{len(chain)} without gaps or duplicates")
    if counter.current_number != len(chain):
        problems.append(f"{label}: the counter is at {counter.current_number} but {len(chain)} documents are numbered")
    previous_hash, previous = "", None
    for document in chain:
        where = f"{label}/{document.number}"
        number = numbering.document_number(kind, counter.serie, document.number or 0)
        problems += _totals_problems(where, document) if kind.signed else _receipt_problems(where, document)
        key = keys.get(document.key_version or -1)
        if not kind.signed:
            if document.signature or document.system_entry_date is None:
                problems.append(f"{where}: a receipt is not signed, but entered at {document.system_entry_date}")
        elif not document.signature or document.system_entry_date is None or document.gross_total_eur is None:
            problems.append(f"{where}: numbered but not signed")
        elif key is None:
            problems.append(f"{where}: no public key for key version {document.key_version}")
        else:
            text = signing.message(
                document.date, document.system_entry_date, number, document.gross_total_eur, previous_hash
            )
            if not signing.verify(key, text, document.signature):  # type: ignore[arg-type]
                problems.append(f"{where}: the signature does not verify over {text[:80]!r}")
        if previous is not None:
            if document.date < previous.date:
                problems.append(f"{where}: dated {document.date} before the previous document ({previous.date})")
            if (document.system_entry_date or "") < (previous.system_entry_date or ""):
                problems.append(f"{where}: entered at {document.system_entry_date}, before the previous document")
        if document.status not in states.ISSUED:
            problems.append(f"{where}: numbered and signed, but {document.status}")
        if not numbering.atcud_is_valid(kind, document.atcud or "", document.number or 0):
            problems.append(f"{where}: ATCUD {document.atcud!r} is not CODE-{document.number} (or N/D, N/A)")
        elif counter.validation_code and document.atcud not in (f"{counter.validation_code}-{document.number}", "N/D"):
            problems.append(
                f"{where}: ATCUD {document.atcud!r} is not the series' {counter.validation_code}-{document.number}"
            )
        previous_hash, previous = document.signature or "", document
    if chain and kind.signed and counter.last_hash != chain[-1].signature:
        problems.append(f"{label}: the chain head is not the last document's signature")
    return problems


def _receipt_problems(where: str, document: Document) -> list[str]:
    """A receipt has no lines: its share of the document it pays adds up (domain/payments.py)."""
    problems = []
    if (
        document.lines
        or document.before_taxes + document.taxes != document.total
        or document.sum != document.before_taxes
    ):
        problems.append(f"{where}: amounts {document.before_taxes} + {document.taxes} do not make {document.total}")
    if payable(document.total, document.retention_amount) <= 0 or document.owner_document_id is None:
        problems.append(f"{where}: pays nothing, or no document")
    if document.gross_total_eur not in gross_totals_allowed(document):
        problems.append(f"{where}: the gross total {document.gross_total_eur} is not the receipt's")
    return problems


def _totals_problems(where: str, document: Document) -> list[str]:
    lines = [Line(line.unit_price, line.quantity, line.discount, line.tax_value) for line in document.lines]
    totals = compute(lines, document.global_discount, document.retention)
    stored = (document.sum, document.discount, document.before_taxes, document.taxes, document.total)
    recomputed = (totals.sum, totals.discount, totals.before_taxes, totals.taxes, totals.total)
    problems = []
    if stored != recomputed:
        problems.append(f"{where}: totals {stored} do not recompute from the lines ({recomputed})")
    for n, (line, amounts) in enumerate(zip(document.lines, totals.lines, strict=True), start=1):
        if (line.subtotal, line.tax_amount, line.total) != (amounts.subtotal, amounts.tax_amount, amounts.total):
            problems.append(f"{where}: line {n} amounts do not recompute")
    if document.gross_total_eur is not None and document.gross_total_eur not in gross_totals_allowed(document):
        problems.append(f"{where}: the signed gross total {document.gross_total_eur} is not the document's")
    return problems


def _ranges(numbers: list[int | None]) -> str:
    shown = ", ".join(str(n) for n in numbers[:12])
    return shown + (", …" if len(numbers) > 12 else "")
