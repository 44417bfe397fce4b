"""ixserver's seal (domain/seal.py): events appended as issued documents change state and as the
account's fiscal identity changes or a SAF-T file is kept, the seal's start, the sealing of
documents issued before the seal existed, and the check that `ixserver verify` runs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering, seal
from ixserver.domain.accounts import FISCAL_IDENTITY, fiscal_identity
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import AccountNotFound, SealRefused
from ixserver.resources import Resources
from ixserver.store import accounts as account_store
from ixserver.store import counters as counter_store
from ixserver.store import documents as document_store
from ixserver.store import saft_exports as export_store
from ixserver.store import seal as store
from ixserver.writes.use_cases import of_account

# The event of a document sealed as it was found (issued before ixserver sealed documents).
FOUND = "found"
ISSUE = "finalized"  # the change-state event that issues a document


def label(document: Document) -> str:
    """How findings and the journal name a document: its number, "FT 2026/3"."""
    kind = BY_KEY[document.doc_type]
    if document.number is None or document.serie is None:
        return f"{kind.label} {document.id} (draft)"
    return numbering.document_number(kind, document.serie, document.number)


def document_events(
    conn: Connection, account_id: int, document_id: int, limit: int = 100
) -> list[tuple[int, str, datetime]]:
    """The seal's events of one of the account's documents (seq, event, when), in order."""
    return store.document_events(conn, account_id, document_id, limit)


def record(conn: Connection, key: bytes, document: Document, event: str) -> None:
    """Append `event` of an issued document, with the document as it now is."""
    _append(conn, key, document.account_id, document.id, event, seal.canonical(document), label(document))


def _append(conn: Connection, key: bytes, account_id: int, subject: int, event: str, text: str, what: str) -> int:
    seq, previous = store.next_place(conn, account_id)
    mac = seal.mac(key, previous, seq, subject, event, text)
    store.append(conn, account_id, store.SealEvent(seq, subject, event, text, mac), clock.now(), what)
    return seq


def open_seal(conn: Connection, key: bytes, account_id: int) -> None:
    """The seal's start (a new account's, or after a sandbox reset): no document predates it."""
    _append_opened(conn, key, account_id, {})


def _append_opened(conn: Connection, key: bytes, account_id: int, predates: dict[int, int]) -> None:
    fields = account_store.account_fields(conn, account_id, FISCAL_IDENTITY)  # migration 0019 calls this
    if fields is None:
        raise AccountNotFound()
    text = seal.opened_text(predates, fiscal_identity(fields))
    _append(conn, key, account_id, seal.ACCOUNT, seal.OPENED, text, seal.OPENED)


def record_identity(
    conn: Connection, key: bytes, account_id: int, before: dict[str, str], after: dict[str, str]
) -> None:
    """The account's fiscal identity changed (`before` → `after`, domain/accounts.fiscal_identity)."""
    if before != after:
        _append(
            conn, key, account_id, seal.ACCOUNT, seal.IDENTITY, seal.account_text({"identity": after}), seal.IDENTITY
        )


def record_export(conn: Connection, key: bytes, account_id: int, export: export_store.Export, sha256: str) -> int:
    """A SAF-T file kept for the API: its place in the chain, which the export row keeps."""
    payload = {"export": export.id, "year": export.year, "month": export.month, "sha256": sha256}
    return _append(
        conn,
        key,
        account_id,
        seal.ACCOUNT,
        seal.SAFT_EXPORT,
        seal.account_text(payload),
        f"SAF-T {export.year}-{export.month:02d}",
    )


def sealed_export_digest(conn: Connection, key: bytes, export: export_store.Export) -> str | None:
    """The SHA-256 the seal recorded for a kept SAF-T file, if its event is there and verifies;
    None otherwise (the file is not served)."""
    if export.seal_seq is None:
        return None
    event = store.event_at(conn, export.account_id, export.seal_seq)
    previous = store.event_at(conn, export.account_id, export.seal_seq - 1) if export.seal_seq > 1 else None
    if event is None or event.event != seal.SAFT_EXPORT or (export.seal_seq > 1 and previous is None):
        return None
    if (
        seal.mac(key, previous.mac if previous else "", event.seq, event.document_id, event.event, event.canonical)
        != event.mac
    ):
        return None
    payload = json.loads(event.canonical)
    return str(payload["sha256"]) if payload.get("export") == export.id else None


# -- what predates the seal ------------------------------------------------------------------


def open_existing(conn: Connection, key: bytes, account_id: int) -> None:
    """The start of an account made before the seal had one (the migration that gave the seal a
    start): the documents numbered until now predate it."""
    predates = {c.id: c.current_number for c in counter_store.account_counters(conn, account_id) if c.current_number}
    _append_opened(conn, key, account_id, predates)


@of_account
def seal_unsealed(conn: Connection, resources: Resources, account_id: int) -> int:
    """Seal, as they now are, the account's issued documents that predate the seal and have no
    event (`ixserver seal`); how many were sealed. Refused, sealing nothing, when a document
    issued after the seal's start has no event (its events were deleted: sealing it would make a
    forgery pass) or when the chain has lost its start."""
    key = resources.seal_key
    replay = _replay(conn, key, account_id)
    if not replay.opened:
        raise SealRefused("the seal has no start (its 'opened' event is gone): its events were deleted")
    unsealed = [i for i in document_store.numbered_ids(conn, account_id) if i not in replay.last]
    documents = document_store.fetch_documents(conn, account_id, unsealed)
    after = [d for d in documents if not replay.predates_seal(d)]
    if after:
        raise SealRefused(*[f"{label(d)} was issued after the seal began and has no seal event" for d in after])
    for document in documents:
        record(conn, key, document, FOUND)
    return len(documents)


# -- the check -------------------------------------------------------------------------------


@dataclass
class _Replay:
    """The account's chain replayed: what it says, and what does not verify."""

    problems: list[str] = field(default_factory=list)
    last: dict[int, str] = field(default_factory=dict)  # document id -> its last sealed form
    sealed_by: dict[int, int] = field(default_factory=dict)  # document id -> its last event
    opened: bool = False
    predates: dict[int, int] = field(default_factory=dict)
    identity: dict[str, str] | None = None
    exports: dict[int, tuple[int, str]] = field(default_factory=dict)  # export id -> (event, sha256)
    macs: dict[int, str] = field(default_factory=dict)  # event -> MAC
    last_seq: int = 0

    def predates_seal(self, document: Document) -> bool:
        return (document.number or 0) <= self.predates.get(document.sub_sequence_id or 0, 0)


def _replay(conn: Connection, key: bytes, account_id: int, name_of: dict[int, str] | None = None) -> _Replay:
    """The chain: numbers 1..n, each MAC from the previous one, SystemEntryDates in the order
    documents were issued, across series (Despacho 8632/2014 §3.4.3)."""
    found = _Replay()
    names = name_of or {}
    previous, expected = "", 1
    entered, entered_by = "", ""  # the latest SystemEntryDate issued so far, in issue order
    for event in store.events(conn, account_id):
        where = names.get(event.document_id) or _sealed_name(event)
        if event.event == ISSUE:
            entry = str(json.loads(event.canonical).get("system_entry_date") or "")
            if entry < entered:
                found.problems.append(f"{where}: entered at {entry}, before {entered_by} issued earlier ({entered})")
            else:
                entered, entered_by = entry, where
        if event.seq != expected:
            found.problems.append(f"seal: event {expected} is missing (the next is {event.seq})")
        if seal.mac(key, previous, event.seq, event.document_id, event.event, event.canonical) != event.mac:
            found.problems.append(
                f"seal: event {event.seq} ({where}, {event.event}) does not verify: edited, or another key"
            )
        previous, expected = event.mac, event.seq + 1
        found.macs[event.seq] = event.mac
        if event.document_id == seal.ACCOUNT:
            _account_event(found, event)
        else:
            found.last[event.document_id] = event.canonical
            found.sealed_by[event.document_id] = event.seq
    found.last_seq = expected - 1
    head = store.head(conn, account_id)
    if head is not None and (head[0] != found.last_seq or head[1] != previous):
        found.problems.append(f"seal: the head ({head[0]}) is not the last event ({found.last_seq})")
    return found


def _account_event(found: _Replay, event: store.SealEvent) -> None:
    if event.event == seal.OPENED:
        found.opened = True
        found.predates = seal.predates_of(event.canonical)
        found.identity = seal.identity_of(event.canonical)
    elif event.event == seal.IDENTITY:
        found.identity = seal.identity_of(event.canonical)
    elif event.event == seal.SAFT_EXPORT:
        payload = json.loads(event.canonical)
        found.exports[int(payload["export"])] = (event.seq, str(payload["sha256"]))


def _sealed_name(event: store.SealEvent) -> str:
    """A document named by its sealed form (it may be gone from the database)."""
    if event.document_id == seal.ACCOUNT:
        return "the account"
    fields = json.loads(event.canonical)
    kind = BY_KEY.get(str(fields.get("doc_type")))
    if kind is None or fields.get("number") is None or fields.get("serie") is None:
        return f"document {event.document_id}"
    return numbering.document_number(kind, str(fields["serie"]), int(fields["number"]))


def seal_problems(
    conn: Connection,
    key: bytes,
    account_id: int,
    name_of: dict[int, str],
    journal: list[tuple[int, str, str]] | None = None,
) -> list[str]:
    """What the seal finds: the chain replayed (above); its start; every issued document against
    its last sealed form, and every sealed document still there; the account's fiscal identity
    and its kept SAF-T files against theirs; and the chain against the seal journal's heads of the
    account (`journal`: its (event, MAC, label) since the account's last reset, in the order
    written; None: not checked). `name_of`: the issued documents, by id."""
    found = _replay(conn, key, account_id, name_of)
    problems = found.problems
    if not found.opened:
        problems.append(
            "seal: the chain has no start (its 'opened' event): its events were deleted (or the database was"
            " migrated without its secret key)"
        )
    documents = document_store.fetch_documents(conn, account_id, list(name_of))
    for document in documents:
        where = name_of[document.id]
        sealed = found.last.get(document.id)
        if sealed is None:
            if found.opened and found.predates_seal(document):
                problems.append(f"{where}: issued before the seal began and not sealed yet (`ixserver seal` seals it)")
            else:
                problems.append(f"{where}: issued but has no seal event: its events were deleted")
            continue
        changed = seal.differences(sealed, seal.canonical(document))
        if changed:
            problems.append(f"{where}: differs from its seal in {', '.join(changed)}")
    for document_id in sorted(set(found.last) - set(name_of)):
        event = store.event_at(conn, account_id, found.sealed_by[document_id])
        what = _sealed_name(event) if event is not None else f"document {document_id}"
        problems.append(f"{what}: sealed (event {found.sealed_by[document_id]}) but no longer issued in the database")
    problems += _identity_problems(conn, account_id, found)
    problems += _export_problems(conn, account_id, found)
    if journal is not None:
        problems += _journal_problems(found, journal)
    return problems


def _identity_problems(conn: Connection, account_id: int, found: _Replay) -> list[str]:
    account = account_store.account_by_id(conn, account_id)
    if account is None or found.identity is None:
        return []
    now = fiscal_identity(asdict(account))
    changed = sorted(k for k in set(now) | set(found.identity) if now.get(k) != found.identity.get(k))
    if not changed:
        return []
    shown = ", ".join(f"{k} {found.identity.get(k)!r} sealed, {now.get(k)!r} now" for k in changed)
    return [f"the account's fiscal identity differs from its seal: {shown}"]


def _export_problems(conn: Connection, account_id: int, found: _Replay) -> list[str]:
    problems = []
    for export, digest in export_store.done_digests(conn, account_id):
        sealed = found.exports.get(export.id)
        name = f"SAF-T file of {export.year}-{export.month:02d} (export {export.id})"
        if sealed is None or sealed[0] != export.seal_seq:
            problems.append(f"{name}: kept, but not the one its seal recorded")
        elif sealed[1] != digest:
            problems.append(f"{name}: differs from the file its seal recorded (event {sealed[0]})")
    return problems


def _journal_problems(found: _Replay, journal: list[tuple[int, str, str]]) -> list[str]:
    """The database's chain holds the latest head the journal recorded: no sealed event after
    it was deleted, nor the chain cut back or rewritten since."""
    if not journal:
        return []
    seq, mac, what = max(journal, key=lambda entry: entry[0])
    if seq > found.last_seq:
        return [
            f"seal: the journal recorded event {seq} ({what}) but the database's chain ends at {found.last_seq}: events"
            " (and the documents or files they seal) were deleted, or the database was rolled back or restored from an"
            " older backup"
        ]
    if found.macs.get(seq) != mac:
        return [f"seal: event {seq} ({what}) is not the one the journal recorded: the chain was rewritten"]
    return []
