"""The wire format: exact JSON out, lenient JSON in (api-v2 §1.5–1.6, clients.md §4).

Out: `orjson`, with every Decimal written as a JSON number with exactly its digits (never via
float). In: the stdlib parser with `parse_float=Decimal`, so amounts never pass through float,
and small coercions that accept what real clients send (numbers as strings, "1"/1/true flags).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ixserver import metrics
from ixserver.domain import limits
from ixserver.domain.errors import MalformedRequest, MissingElement, RequestTooLarge, ValidationFailed
from ixserver.domain.limits import XML_FORBIDDEN

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
T = TypeVar("T")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_default)


class JSONResponse(Response):
    media_type = JSON_MEDIA_TYPE

    def __init__(self, payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(dumps(payload), status_code=status_code, headers=headers)


class RawJSONResponse(Response):
    """A body that is JSON already (e.g. from the read cache)."""

    media_type = JSON_MEDIA_TYPE


MAX_DEPTH = 32  # levels of JSON nesting a request may have (a document has four)


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object in the body; {} when there is no body (GET-style PUTs, n8n, Odoo). At
    most IXSERVER_MAX_BODY_BYTES (else 413) and MAX_DEPTH levels deep (else 400); every text in
    it, keys included, text that XML 1.0 can carry (else 422, `check_text`)."""
    return await read_parsed(request, _as_is)


async def read_parsed(request: Request, parse: Callable[[dict[str, Any]], T]) -> T:
    """`parse(read_body(request))`: a body over PARSE_APART_BYTES in the parser process
    (web/parsing.py), so that the server process goes on serving its other requests meanwhile;
    `parse` then must be picklable (a function of a module, or a `functools.partial` of one)."""
    ctx = request.app.state.ctx
    raw = await _body(request, ctx.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    if len(raw) > PARSE_APART_BYTES:
        metrics.BODIES_PARSED_APART.inc()
        account = request.scope.get("state", {}).get("account")
        return await ctx.parser.parse(
            _parsed, raw, content_type, parse, account=account.id if account is not None else None
        )
    return _parsed(raw, content_type, parse)


PARSE_APART_BYTES = 64 * 1024  # ~1 ms of parsing; a request's body is a few kB


def _as_is(body: dict[str, Any]) -> dict[str, Any]:
    return body


def _parsed(raw: bytes, content_type: str, parse: Callable[[dict[str, Any]], T]) -> T:
    if not raw.strip():
        return parse({})
    try:
        body = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))  # json.loads, less its decoder
    except RecursionError:
        raise MalformedRequest(f"Malformed JSON in request body: nested more than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        # Bodies are read as JSON whatever Content-Type says (`curl -d` sends a form type);
        # when they are not JSON, say which of the two is wrong.
        if content_type and "json" not in content_type.lower():
            raise ValidationFailed("No content type or wrongly specified") from None
        raise MalformedRequest(f"Malformed JSON in request body: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedRequest("The request body must be a JSON object")
    _check_values(body, "", 1, MAYBE_FORBIDDEN.search(raw) is not None)
    return parse(body)


# json.loads(raw, parse_float=Decimal) made a decoder (and its scanner) per call: one serves all.
_DECODER = json.JSONDecoder(parse_float=Decimal)


# What, in a body's bytes, may become a text XML_FORBIDDEN refuses: such a byte (in UTF-8; a
# UTF-16 or UTF-32 body has NULs), U+FFFE or U+FFFF in UTF-8, or an escape of a control
# character (`\b` and `\f` too), a surrogate or either of those two. Bodies without any (nearly all) have their
# texts unread by the check: only their depth is walked.
MAYBE_FORBIDDEN = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]|\\(?:[bf]|u(?:00[01]|[dD][89a-fA-F]|[fF]{3}[eEfF]))"
)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 12 or int(declared) > limit):
        raise RequestTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_values(value: Any, path: str, depth: int, texts: bool) -> None:
    """Every text of the body checked once (`texts`: else only the depth), named by its path
    (`invoice.items[0].description`), which is spelled out only for a text that is refused (the
    walk is on every write's path)."""
    if depth > MAX_DEPTH or (depth == MAX_DEPTH and isinstance(value, dict | list) and value):  # (its items)
        raise MalformedRequest(f"Malformed JSON in request body: nested more than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if texts and XML_FORBIDDEN.search(key):
                check_text(key, f"A key of {path or 'the body'}")
            if isinstance(item, str):
                if texts and XML_FORBIDDEN.search(item):
                    check_text(item, f"{path}.{key}" if path else key)
            elif isinstance(item, dict | list):
                _check_values(item, f"{path}.{key}" if path else key, depth + 1, texts)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                if texts and XML_FORBIDDEN.search(item):
                    check_text(item, f"{path}[{index}]")
            elif isinstance(item, dict | list):
                _check_values(item, f"{path}[{index}]", depth + 1, texts)
    elif isinstance(value, str):
        check_text(value, path)


def check_text(text: str, field: str) -> str:
    """Text that both databases store and an XML 1.0 document (the SAF-T file) can carry
    (domain/limits.XML_FORBIDDEN: such text would be stored, then stop the month's SAF-T file;
    NUL neither database stores; JSON's "\ud800" decodes to a lone surrogate)."""
    found = XML_FORBIDDEN.search(text)
    if found is None:
        return text
    char = found.group()
    if "\x00" in text:
        raise ValidationFailed(f"{field} contains a NUL character")
    if "\ud800" <= char <= "\udfff":
        raise ValidationFailed(f"{field} is not valid Unicode (a lone surrogate)")
    raise ValidationFailed(f"{field} contains U+{ord(char):04X}, a character XML 1.0 (the SAF-T file) cannot carry")


def root_object(body: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    """The first of `keys` whose value is a JSON object; null keys are skipped (clients.md §4.5)."""
    for key in keys:
        value = body.get(key)
        if isinstance(value, dict):
            return value
    return None


def object_at(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]` when it is a JSON object, else an empty one (a nested object is optional)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def require_root(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The object under the first of `keys`, or the 422 InvoiceXpress answers without it."""
    found = root_object(body, *keys)
    if found is None:
        raise MissingElement(keys[0])
    return found


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def as_flag(value: Any, field: str) -> bool | None:
    """0/1, "0"/"1", true/false; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValidationFailed(f"{field} is not valid")


def as_text(value: Any, field: str, max_length: int = limits.TEXT) -> str | None:
    """Strings as they are; numbers as their digits (`"serie": 2017`); None when absent. At
    most `max_length` characters (else 422)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationFailed(f"{field} is not valid")
    if isinstance(value, Decimal):
        # Its digits written out: 1e999999999 would be a 1 GB string, so the exponent first.
        if value.is_finite() and abs(value.adjusted()) > max_length:
            raise ValidationFailed(f"{field} is too long (at most {max_length} characters)")
        value = format(value, "f")
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_length:
        raise ValidationFailed(f"{field} is too long (at most {max_length} characters)")
    return text


def as_decimal(value: Any, field: str, message: str | None = None) -> Decimal | None:
    """Numbers as JSON numbers or numeric strings ("23.0"); never through float."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    problem = message or f"{field} is not a number"
    if isinstance(value, bool):
        raise ValidationFailed(problem)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationFailed(problem) from None
    else:
        raise ValidationFailed(problem)
    if not number.is_finite():
        raise ValidationFailed(problem)
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT or len(number.as_tuple().digits) > MAX_DIGITS:
        raise ValidationFailed(f"{field} is out of range")  # before any arithmetic could expand it
    return number


# Numbers a request may carry at all; each field's own range is a rule of domain/ (limits.py).
MAX_EXPONENT = 30
MAX_DIGITS = 40


INT_LIMIT = Decimal(2**63)  # what the databases' BIGINT holds


def as_int(value: Any, field: str) -> int | None:
    """Whole numbers as JSON numbers or strings ("1"); None when absent."""
    number = as_decimal(value, field)
    if number is None:
        return None
    if not -INT_LIMIT < number < INT_LIMIT:  # compared before any conversion: 1e999999999 costs nothing
        raise ValidationFailed(f"{field} is too large")
    if number != number.to_integral_value():
        raise ValidationFailed(f"{field} must be a whole number")
    return int(number)


# Rendering functions are pure functions of a value (equal decimals render alike whatever
# their exponent), and list pages render the same few values over and over: memoized.
@lru_cache(maxsize=8192)
def fixed(value: Decimal, places: int = 2) -> str:
    """Text with at least `places` decimals and every significant one (item `unit_price` and
    `quantity`: "24.39", "1.00", "2.0244")."""
    exponent = value.normalize().as_tuple().exponent
    decimals = max(places, -exponent if isinstance(exponent, int) else places)
    return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def as_date(value: Any, field: str) -> date | None:
    """`dd/mm/yyyy`, with or without zero padding, or ISO `yyyy-mm-dd` (api-v2 §1.4)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        dmy, iso = _DMY.fullmatch(text), _ISO.fullmatch(text)
        try:
            if dmy:
                return date(int(dmy.group(3)), int(dmy.group(2)), int(dmy.group(1)))
            if iso:
                return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            pass
    raise ValidationFailed(f"{field} is not valid")


@lru_cache(maxsize=4096)
def format_date(value: date) -> str:
    """dd/mm/yyyy, zero-padded whatever the year."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


@lru_cache(maxsize=8192)
def number_text(value: Decimal) -> str:
    """A decimal as InvoiceXpress writes numbers: no trailing zeros, but at least one decimal
    (23.00 -> 23.0, 16.26020 -> 16.2602), as a float's repr would show it; exact digits."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


@lru_cache(maxsize=8192)
def number(value: Decimal) -> orjson.Fragment:
    """The same, as a JSON number."""
    return orjson.Fragment(number_text(value))
