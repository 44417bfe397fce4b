"""`ixserver replay FILE --base URL --key KEY`: send a recording (what `GET /_ixserver/requests`
answers) to any server that speaks the API, and tell where its answers differ from the recorded
ones. So a recording made against ixserver can be checked against InvoiceXpress, and back.

The requests are sent in their order. What two servers cannot agree on is normalized before
comparing: ids (a recorded id is mapped to the id the other server gave, and later paths and
bodies use that one), dates and times, addresses (permalinks, PDF and QR URLs), and what a
document's number is made of (its number, series, ATCUD, hash). What is left is compared: the
status, and every other value of the answer's body."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

TIMEOUT = 30.0
# Values that are the server's to choose: the parts of a document's number and seal.
NUMBERING_KEYS = frozenset(("sequence_number", "inv_ref", "atcud", "saft_hash", "hash", "signature", "serie",
                            "sequence_id", "number", "current_invoice_number", "at_doc_code_id", "token",
                            "validation_code", "qr_code", "mb_reference"))  # fmt: skip
_DATE = re.compile(r"\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}")
_URL = re.compile(r"https?://\S+")


def _is_id(key: str) -> bool:
    return key == "id" or key.endswith("_id")


_KINDS = {"client": "client", "clients": "client", "item": "item", "items": "item", "tax": "tax", "taxes": "tax",
          "user": "user", "account": "account", "accounts": "account"}  # fmt: skip


def kind_of(name: str) -> str:
    """What an id names, from the key it is under (`client`, `client_id`, `invoice`) or the path
    segment before it (`clients`, `invoices`): documents share one id space (api-v2 §3)."""
    name = name.removesuffix("_id")
    if name.endswith(("sequence", "sequences")):
        return "sequence"
    return _KINDS.get(name, "document")


@dataclass
class Replay:
    base: str
    key: str
    ids: dict[tuple[str, int], int] = field(default_factory=dict)  # (kind, recorded id) -> this server's

    def send(self, entry: dict[str, Any]) -> tuple[int | None, Any]:
        path = self._path(entry["path"])
        query = [(k, v) for k, v in _pairs(entry.get("query") or "")] + [("api_key", self.key)]
        body = (entry.get("request") or {}).get("body")
        data = None if body is None else orjson.dumps(self._mapped(body))
        request = urllib.request.Request(
            f"{self.base.rstrip('/')}{path}?{urlencode(query)}", data=data, method=entry["method"],
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - the URL the user gave
                return answer.status, _json(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, _json(refused.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None, None

    def _path(self, path: str) -> str:
        def swap(match: re.Match[str]) -> str:
            recorded = int(match.group(2))
            return f"{match.group(1)}/{self.ids.get((kind_of(match.group(1)), recorded), recorded)}"

        return re.sub(r"([A-Za-z_]+)/(\d+)(?=[/.]|$)", swap, path)

    def _mapped(self, value: Any, key: str = "", owner: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self._mapped(v, k, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mapped(v, key, owner) for v in value]
        if _is_id(key) and isinstance(value, int) and not isinstance(value, bool):
            return self.ids.get((kind_of(owner if key == "id" else key), value), value)
        return value

    def learn(self, recorded: Any, got: Any, key: str = "", owner: str = "") -> None:
        """The ids this server gave where the recording had others (`owner`: the key of the
        object an `id` is the id of)."""
        if isinstance(recorded, dict) and isinstance(got, dict):
            for k in recorded.keys() & got.keys():
                self.learn(recorded[k], got[k], k, key)
        elif isinstance(recorded, list) and isinstance(got, list):
            for r, g in zip(recorded, got, strict=False):
                self.learn(r, g, key, owner)
        elif _is_id(key) and isinstance(recorded, int) and isinstance(got, int) and recorded != got:
            self.ids.setdefault((kind_of(owner if key == "id" else key), recorded), got)


def _pairs(query: str) -> Iterator[tuple[str, str]]:
    from urllib.parse import parse_qsl

    yield from parse_qsl(query, keep_blank_values=True)


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def normalized(value: Any, key: str = "") -> Any:
    """The body with what servers choose for themselves replaced by placeholders."""
    if isinstance(value, dict):
        return {k: normalized(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v, key) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if _is_id(key) or key in NUMBERING_KEYS:
        return "<server's>"
    if isinstance(value, str):
        value = _URL.sub("<url>", value)
        return _DATE.sub("<date>", value)
    return value


def differences(recorded: Any, got: Any, where: str = "") -> Iterator[str]:
    if isinstance(recorded, dict) and isinstance(got, dict):
        for k in sorted(recorded.keys() | got.keys()):
            if k not in got:
                yield f"{where}.{k}: missing (recorded {_short(recorded[k])})"
            elif k not in recorded:
                yield f"{where}.{k}: not recorded (got {_short(got[k])})"
            else:
                yield from differences(recorded[k], got[k], f"{where}.{k}")
    elif isinstance(recorded, list) and isinstance(got, list):
        if len(recorded) != len(got):
            yield f"{where}: {len(recorded)} entries recorded, {len(got)} got"
        for n, (r, g) in enumerate(zip(recorded, got, strict=False)):
            yield from differences(r, g, f"{where}[{n}]")
    elif recorded != got:
        yield f"{where or 'body'}: recorded {_short(recorded)}, got {_short(got)}"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 120 else text[:117] + "..."


def load(raw: bytes) -> list[dict[str, Any]]:
    """The requests of a recording: `{"requests": [...]}` as the recorder answers, or the list."""
    data = orjson.loads(raw)
    entries = data.get("requests") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "method" in e and "path" in e for e in entries):
        raise ValueError('not a recording: expected {"requests": [{"method": …, "path": …}, …]}')
    return entries


def replay(entries: list[dict[str, Any]], base: str, key: str) -> Iterator[str]:
    """Each difference, as one line naming the request (its place in the recording)."""
    session = Replay(base, key)
    for n, entry in enumerate(entries, 1):
        status, body = session.send(entry)
        recorded_body = (entry.get("response") or {}).get("body")
        session.learn(recorded_body, body)
        name = f"#{n} {entry['method']} {entry['path']}"
        if status != entry.get("status"):
            yield f"{name}: status recorded {entry.get('status')}, got {status}"
        if entry.get("truncated"):
            continue  # a body cut at the recorder's limit cannot be compared
        for line in differences(normalized(recorded_body), normalized(body)):
            yield f"{name}: {line}"
