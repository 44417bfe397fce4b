"""ixserver's seal (domain/seal.py): events appended as issued documents change state, the
sealing of documents issued before the seal existed, and the check that `ixserver verify` runs."""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import seal
from ixserver.domain.documents import Document
from ixserver.store import documents as document_store
from ixserver.store import seal as store

# The event of a document sealed as it was found (issued before ixserver sealed documents).
FOUND = "found"
ISSUE = "finalized"  # the change-state event that issues a document


def record(conn: Connection, key: bytes, document: Document, event: str) -> None:
    """Append `event` of an issued document, with the document as it now is."""
    seq, previous = store.next_place(conn, document.account_id)
    text = seal.canonical(document)
    mac = seal.mac(key, previous, seq, document.id, event, text)
    store.append(conn, document.account_id, store.SealEvent(seq, document.id, event, text, mac), clock.now())


def seal_unsealed(conn: Connection, key: bytes, account_id: int) -> int:
    """Seal, as they now are, the account's issued documents that have no seal (those issued
    before ixserver sealed documents): `ixserver seal`. How many were sealed."""
    sealed = {event.document_id for event in store.events(conn, account_id)}
    found = [i for i in document_store.numbered_ids(conn, account_id) if i not in sealed]
    for document in document_store.fetch_documents(conn, account_id, found):
        record(conn, key, document, FOUND)
    return len(found)


def seal_problems(conn: Connection, key: bytes, account_id: int, name_of: dict[int, str]) -> list[str]:
    """The chain replayed: numbers 1..n, each MAC from the previous one, SystemEntryDates in
    the order documents were issued, across series; then every issued document against its last
    sealed form. `name_of`: the issued documents, by id."""
    problems: list[str] = []
    last: dict[int, str] = {}
    previous, expected = "", 1
    entered, entered_by = "", ""  # the latest SystemEntryDate issued so far, in issue order
    for event in store.events(conn, account_id):
        where = name_of.get(event.document_id, f"document {event.document_id}")
        if event.event == ISSUE:
            entry = str(json.loads(event.canonical).get("system_entry_date") or "")
            if entry < entered:  # Despacho 8632/2014 §3.4.3: across every series
                problems.append(f"{where}: entered at {entry}, before {entered_by} issued earlier ({entered})")
            else:
                entered, entered_by = entry, where
        if event.seq != expected:
            problems.append(f"seal: event {expected} is missing (the next is {event.seq})")
        if seal.mac(key, previous, event.seq, event.document_id, event.event, event.canonical) != event.mac:
            problems.append(f"seal: event {event.seq} ({where}, {event.event}) does not verify: edited, or another key")
        previous, expected = event.mac, event.seq + 1
        last[event.document_id] = event.canonical
    head = store.head(conn, account_id)
    if head is not None and (head[0] != expected - 1 or head[1] != previous):
        problems.append(f"seal: the head ({head[0]}) is not the last event ({expected - 1})")
    for document in document_store.fetch_documents(conn, account_id, list(name_of)):
        where = name_of[document.id]
        sealed = last.get(document.id)
        if sealed is None:
            problems.append(f"{where}: issued but not sealed (issued before the seal? `ixserver seal` seals it)")
            continue
        changed = seal.differences(sealed, seal.canonical(document))
        if changed:
            problems.append(f"{where}: differs from its seal in {', '.join(changed)}")
    return problems
