"""ixserver's own seal over issued documents (issue 11).

AT's signature covers only a document's date, entry time, number and gross total. The seal
covers the rest: every change of state of an issued document (its issue, cancellation,
settlement…) is an event of a hash chain per account, holding the whole document as it then is
(`canonical`), and MACed (HMAC-SHA256) with a key that is not in the database (derived from the
secret key, see `Vault.derive`). Whoever edits the database cannot forge the MAC; `ixserver
verify` replays the chain and compares each document with its last sealed form.

Events about the account itself have no document (`ACCOUNT`, document id 0):
- `opened`, the seal's start, first of every account's chain (or, for an account made before
  the seal had a start, appended when the database was migrated): which documents predate it
  (per counter, the last number issued then: only those may be sealed as found) and the
  account's fiscal identity. A chain without it has lost its start: its events were deleted;
- `identity`, the account's fiscal identity each time it changes;
- `saft`, a SAF-T file made for the API: its period and the SHA-256 of the file kept.

Deleting events, resetting the head, or the last documents with their counter set back leaves
a chain that still verifies: each account's latest head is also written outside the database
(the seal journal, ixserver/journal.py), which `ixserver verify` checks the chain against.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any

import orjson

from ixserver.domain.documents import Document, DocumentLine

ACCOUNT = 0  # the document id of events about the account itself
OPENED, IDENTITY, SAFT_EXPORT = "opened", "identity", "saft"

# Links that may change without the document changing (deleting the client, item or tax sets
# them NULL); the document keeps its own copy of what they said.
_DOCUMENT_FIELDS = tuple(
    f.name for f in dataclasses.fields(Document) if f.name not in ("lines", "client_id", "status_changed_at")
)  # (when a status changed is the seal's own record: its events)
_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(DocumentLine) if f.name not in ("item_id", "tax_id"))


@lru_cache(maxsize=16384)
def _number(value: Decimal) -> str:
    """One text per amount, however many zeros the database kept (amounts recur: memoized)."""
    return format(value.normalize(), "f") if value else "0"


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return _number(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is date:
        return value.isoformat()
    if kind is dict:
        return {k: _plain(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return value


_DOCUMENT_VALUES = attrgetter(*_DOCUMENT_FIELDS)
_LINE_VALUES = attrgetter(*_LINE_FIELDS)


def _kept(names: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    """The fields with a value, as plain JSON values (none of which is empty where the value
    was not: a filter before `_plain` is the same as after). `_plain` inlined for the kinds of
    value most fields hold (a document is some 80 values: this is most of its seal's cost)."""
    kept = {}
    for name, value in zip(names, values, strict=True):
        kind = type(value)
        if kind is str:
            if value:
                kept[name] = value
        elif kind is Decimal:
            kept[name] = _number(value)
        elif kind is int or kind is bool:
            kept[name] = value
        elif value is not None:
            kept[name] = _plain(value)
    return kept


def sealed_fields(document: Document) -> dict[str, Any]:
    """The document as the seal keeps it: every field, plain JSON values, without the links
    that may change on their own; absent and empty values alike are left out."""
    fields = _kept(_DOCUMENT_FIELDS, _DOCUMENT_VALUES(document))
    fields["lines"] = [_kept(_LINE_FIELDS, _LINE_VALUES(line)) for line in document.lines]
    return fields


def _text(fields: dict[str, Any]) -> str:
    """JSON with sorted keys, no spaces, UTF-8 (no ASCII escapes): the bytes `json.dumps(…,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)` gives, at a tenth of its cost
    (tests/unit/test_seal.py compares them)."""
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def canonical(document: Document) -> str:
    return _text(sealed_fields(document))


def mac(key: bytes, previous: str, seq: int, document_id: int, event: str, text: str) -> str:
    """The MAC of one event, chained to the previous event's MAC ("" for the first)."""
    message = f"{previous}\n{seq}\n{document_id}\n{event}\n{text}".encode()
    return hmac.digest(key, message, "sha256").hex()


def differences(sealed: str, current: str) -> list[str]:
    """The fields where the document differs from its sealed form, by name."""
    before, now = json.loads(sealed), json.loads(current)
    return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


def account_text(payload: dict[str, Any]) -> str:
    """The canonical text of an event about the account (opened, identity, saft)."""
    return _text(_plain(payload))


def opened_text(predates: dict[int, int], identity: dict[str, str]) -> str:
    """The seal's start: per counter (sub-sequence id), the last number issued before it."""
    return account_text({"predates": {str(k): v for k, v in predates.items()}, "identity": identity})


def predates_of(text: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in json.loads(text).get("predates", {}).items()}


def identity_of(text: str) -> dict[str, str]:
    return dict(json.loads(text).get("identity", {}))
