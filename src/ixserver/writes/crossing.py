"""What crosses between the server processes and the writer process, and how.

A use case travels as a pickle of `(id, function, args, with_resources)`: the function by module
and name, the arguments by value. Its outcome travels back as `(id, succeeded, value)`. Each is
one frame: a 4-byte big-endian length, then the pickle. The socket they cross is private to the
user running the server (process.py), so what arrives is trusted enough to unpickle.

Two rules of our own, kept here rather than on the classes they concern:
- Documents and their lines cross as their constructor's arguments in order: half the time of a
  slotted dataclass's own pickling, which sets each field by name from Python.
- Errors cross as their class, `args` and attributes, and are rebuilt without calling their
  constructor (whose arguments need not be `args`). An error that cannot cross is answered as a
  RuntimeError that names it.
"""

from __future__ import annotations

import copyreg
import io
import logging
import operator
import pickle
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from ixserver.domain.documents import Document, DocumentLine

log = logging.getLogger("ixserver.writer")

PROTOCOL = pickle.HIGHEST_PROTOCOL
STATS = "stats"  # a request whose function is this asks for the writer's counters
FAULT = "fault"  # … for the database's fault the writer met, if any (the health check)


def _by_position(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    values = operator.attrgetter(*(f.name for f in fields(cls)))
    return lambda obj: (cls, values(obj))


class _Pickler(pickle.Pickler):
    dispatch_table = {
        **copyreg.dispatch_table,
        Document: _by_position(Document),
        DocumentLine: _by_position(DocumentLine),
    }


def dumps(obj: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, PROTOCOL).dump(obj)
    return buffer.getvalue()


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def frames(buffer: bytearray) -> list[bytes]:
    """The complete frames at the start of `buffer`, taken out of it."""
    found: list[bytes] = []
    offset, size = 0, len(buffer)
    with memoryview(buffer) as view:
        while size - offset >= 4:
            length = int.from_bytes(view[offset : offset + 4], "big")
            if size - offset - 4 < length:
                break
            found.append(bytes(view[offset + 4 : offset + 4 + length]))
            offset += 4 + length
    if offset:
        del buffer[:offset]
    return found


# -- requests (server process -> writer process) ------------------------------------------


def request(call_id: int, fn: Any, args: tuple[Any, ...], with_resources: bool) -> bytes:
    return frame(dumps((call_id, fn, args, with_resources)))


def read_request(payload: bytes) -> tuple[int, Any, tuple[Any, ...], bool]:
    call_id, fn, args, with_resources = pickle.loads(payload)
    return call_id, fn, args, with_resources


# -- outcomes (writer process -> server process) ------------------------------------------


def outcome(call_id: int, ok: bool, value: Any) -> bytes:
    try:
        return frame(dumps((call_id, ok, value if ok else _error_state(value))))
    except Exception as exc:  # noqa: BLE001 - answered as an error instead
        log.exception("writer: an outcome could not be sent")
        error = RuntimeError(f"the writer could not send back {type(value).__name__}: {exc}")
        return frame(dumps((call_id, False, _error_state(error))))


def read_outcome(payload: bytes) -> tuple[int, bool, Any]:
    call_id, ok, value = pickle.loads(payload)
    return call_id, ok, value if ok else _rebuilt(*value)


def _error_state(error: BaseException) -> tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]:
    return type(error), error.args, dict(getattr(error, "__dict__", {}))


def _rebuilt(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
