"""PostgreSQL: a connection's prepared statements (store/prepared.py) and deferred writes
(store/deferred.py) sent straight on libpq, in one pipeline per statement waited for.

psycopg's own pipeline sends each statement as it is queued (a `sendto` of its own), polls
after each, and spends ~45 µs of Python per statement around libpq's few (measured: a savepoint,
two inserts and a select, 181–190 µs of CPU per round through psycopg's pipeline against
26–27 µs here). Here the whole queue and the statement waited for are appended to libpq's
buffer, followed by one Sync, flushed in one write, and their answers read back at once: one
round trip and a few system calls for all of them. A transaction's BEGIN goes in the same
pipeline (psycopg sends it with a Sync of its own: one more round trip per transaction).

The values are those psycopg itself would send, in its text format: its dumpers (a
`Transformer` of the connection) make them, and its loaders read the answers, so a value
reads back exactly as through a psycopg cursor. Each statement is prepared on the server
the first time the connection runs it (its name known once the server has said so), its
parameters' types left to the server: every parameter SQLAlchemy renders carries its cast.
A statement that fails raises psycopg's error for its SQLSTATE, as psycopg would; the
statements after it in the pipeline are not run (the transaction is aborted, as before).
"""

from __future__ import annotations

import re
import select
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

_PARAMETER = re.compile(r"%\(([^)]+)\)s|%%")
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_FATAL = pq.ExecStatus.FATAL_ERROR
_IDLE = pq.TransactionStatus.IDLE
_BEGIN = b"BEGIN"


class Statement:
    """A statement as libpq takes it: `$n` parameters, and whether it is prepared on the server
    (else it is planned for its values each time)."""

    __slots__ = ("sql", "prepared")

    def __init__(self, sql: bytes, *, prepared: bool = True) -> None:
        self.sql = sql
        self.prepared = prepared


def positional(sql: str) -> tuple[bytes, list[str]]:
    """psycopg's `%(name)s` SQL as libpq's `$1 …`, and the names in the order of their numbers."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAMETER.sub(number, sql).encode(), names


_TEXTS: dict[str, Statement] = {}


def text(sql: str) -> Statement:
    """A statement without parameters (a savepoint), not prepared."""
    found = _TEXTS.get(sql)
    if found is None:
        found = _TEXTS[sql] = Statement(sql.encode(), prepared=False)
    return found


class _Link:
    """What a psycopg connection keeps for this module: its statements prepared on the server
    (by SQL, their names), its dumpers and loaders."""

    __slots__ = ("names", "made", "transformer", "encoding", "formats")

    def __init__(self, raw: Any) -> None:
        self.names: dict[bytes, bytes] = {}
        self.made = 0  # names given (one whose statement failed to prepare is not given again)
        self.transformer = Transformer(raw)
        self.encoding: str = raw.info.encoding
        self.formats: dict[int, list[PyFormat]] = {}


def own_preparation(raw: Any) -> None:
    """Leave the preparation of statements on the server to this module: psycopg prepares none
    of its own on `raw`. (psycopg answers a ROLLBACK, and DDL, with a DEALLOCATE ALL when it has
    prepared statements of its own: that would take this module's away.)"""
    raw.prepare_threshold = None


def _link(raw: Any) -> _Link:
    link: _Link | None = getattr(raw, "_ixserver_libpq", None)
    if link is None:
        own_preparation(raw)
        link = _Link(raw)
        raw._ixserver_libpq = link
    return link


class Later:
    """Where a queued statement whose answer is read later finds it, once its pipeline is in."""

    __slots__ = ("answer",)

    def __init__(self) -> None:
        self.answer: pq.abc.PGresult | None = None


# (statement, its values in order, and for a statement whose answer is read later, where it goes)
Queued = tuple[Statement, Sequence[Any] | None] | tuple[Statement, Sequence[Any] | None, Later]


def exchange(raw: Any, queue: Sequence[Queued], waited: Queued | None = None) -> pq.abc.PGresult | None:
    """Send `queue` and then `waited` on the psycopg connection `raw`, in one pipeline (with the
    BEGIN of a transaction not yet begun); the answer to `waited` (None without it), and to each
    queued statement that has a `Later`, in it. The first error of any of them is raised, once
    every answer is in."""
    link = _link(raw)
    pgconn = raw.pgconn
    begin = not raw.autocommit and pgconn.transaction_status == _IDLE
    # every value dumped first: one that cannot be (a NUL in a text) fails before anything is sent
    commands = [(queued[0], _dumped(link, queued[1])) for queued in queue]
    if waited is not None:
        commands.append((waited[0], _dumped(link, waited[1])))
    preparing: dict[int, tuple[bytes, bytes]] = {}  # index of the answer -> (SQL, name)
    laters: list[tuple[int, Later]] = []
    sent = 0
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(_BEGIN, None)
            sent += 1
        for index, (statement, params) in enumerate(commands):
            sent = _send(pgconn, link, statement, params, preparing, sent)
            if index < len(queue) and len(queue[index]) == 3:
                laters.append((sent - 1, queue[index][2]))  # type: ignore[misc]
        pgconn.pipeline_sync()
        _flush(pgconn)
        answers = _answers(pgconn, sent)
    finally:
        with suppress(errors.Error):  # (a broken connection stays broken: its error is the one raised)
            pgconn.exit_pipeline_mode()
    error: pq.abc.PGresult | None = None
    for index, answer in enumerate(answers):
        if answer is not None and answer.status not in _OK:
            if error is None and answer.status == _FATAL:
                error = answer
            preparing.pop(index, None)  # not prepared: prepared again next time
    for sql, name in preparing.values():
        link.names[sql] = name
    if error is not None:
        exc = errors.error_from_result(error, encoding=link.encoding)
        if isinstance(exc, errors.InvalidSqlStatementName):  # deallocated by someone else: prepared anew next time
            link.names.clear()
        raise exc
    if len(answers) != sent:  # (libpq answers every command of a pipeline, if only "aborted")
        raise errors.InternalError(f"{sent} statements sent, {len(answers)} answers")
    for index, later in laters:
        later.answer = answers[index]
    return answers[-1] if waited is not None else None


def _dumped(link: _Link, values: Sequence[Any] | None) -> Sequence[Any] | None:
    """The values as psycopg sends them in its text format."""
    if not values:
        return None
    formats = link.formats.get(len(values))
    if formats is None:
        formats = link.formats[len(values)] = [PyFormat.TEXT] * len(values)
    return link.transformer.dump_sequence(values, formats)


def _send(
    pgconn: Any, link: _Link, statement: Statement, params: Sequence[Any] | None,
    preparing: dict[int, tuple[bytes, bytes]], sent: int,
) -> int:  # fmt: skip
    if not statement.prepared:
        pgconn.send_query_params(statement.sql, params)
        return sent + 1
    name = link.names.get(statement.sql)
    if name is None:
        pending = [n for s, n in preparing.values() if s == statement.sql]
        if pending:
            name = pending[0]
        else:
            link.made += 1
            name = b"ix%d" % link.made
            pgconn.send_prepare(name, statement.sql, None)
            preparing[sent] = (statement.sql, name)
            sent += 1
    pgconn.send_query_prepared(name, params, None)
    return sent + 1


def _wait(pgconn: Any, events: int) -> int:
    poller = select.poll()
    poller.register(pgconn.socket, events)
    ready = poller.poll()
    return ready[0][1] if ready else 0


def _flush(pgconn: Any) -> None:
    """Everything sent (reading meanwhile, so that a server blocked on its answers goes on)."""
    while pgconn.flush() == 1:
        if _wait(pgconn, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()


def _answers(pgconn: Any, sent: int) -> list[pq.abc.PGresult | None]:
    """The last result of each of the `sent` commands, up to the pipeline's Sync."""
    answers: list[pq.abc.PGresult | None] = []
    last = None
    while True:
        while pgconn.is_busy():
            _wait(pgconn, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one command's results
            if len(answers) > sent or pgconn.status == pq.ConnStatus.BAD:
                raise errors.OperationalError(f"the connection ended in a pipeline: {pgconn.get_error_message()}")
            answers.append(last)
            last = None
        elif result.status == _PIPELINE_SYNC:
            return answers
        else:
            last = result


def rows(raw: Any, result: pq.abc.PGresult) -> list[Any]:
    """The rows of `result`, each as a list of psycopg's values."""
    n = result.ntuples
    if not n:
        return []
    transformer = _link(raw).transformer
    transformer.set_pgresult(result)
    return transformer.load_rows(0, n, list)


def description(result: pq.abc.PGresult) -> list[tuple[None, int]]:
    """Each column's type (its OID, second as in a DBAPI cursor's `description`)."""
    return [(None, result.ftype(i)) for i in range(result.nfields)]
