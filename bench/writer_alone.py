"""The writer's own cost per use case, without HTTP (`.venv/bin/python bench/writer_alone.py`).

Creates and finalizes documents through a writer thread (ixserver/writes/) and the services directly, in batches of 32
(as the HTTP bench's connections produce them), on a fresh SQLite file, and prints the time the
writer spends per use case. Compared with the same figure under HTTP load, it shows how much the
event loop's share of the interpreter lock slows the one serial part of writing. With
BENCH_DATABASE_URL=postgresql://…, the same on that (emptied) database: there the figure is
mostly the round trips of a use case, one after the other, with nothing else running.

On a machine shared with other work the wall time is mostly the others' (the writer waits for a
core); the CPU time of the writer thread is not: it prints that too, per use case and per kind of
use case (a create, a finalization: `time.thread_time()` of the writer thread around each batch),
and for the whole run of the writer thread (its batches, their answers, the folds of the counts
between batches). BENCH_WRITER_STATEMENTS=1 also counts, per use case, the SQL statements SQLite
runs (its trace callback: every statement, the triggers' included, BEGIN, SAVEPOINT and COMMIT),
by their first words; on PostgreSQL the statements the writer thread sends (BEGIN and COMMIT
included) and the round trips it waits for (`_count_postgres`); it costs the writer a little, so
its CPU figure is then not comparable. BENCH_WRITER_SQLITE=0 measures PostgreSQL alone.
BENCH_WRITER_JSON=1 prints the figures as one JSON line at the end (bench/writer_pairs.py reads
it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from sqlalchemy import event  # noqa: E402

from ixserver.api.documents import parse_document  # noqa: E402
from ixserver.app import build_context, start_context, stop_context  # noqa: E402
from ixserver.config import Settings  # noqa: E402
from ixserver.domain.doctypes import BY_KEY  # noqa: E402
from ixserver.services import documents as service  # noqa: E402
from ixserver.services.accounts import create_account  # noqa: E402
from ixserver.store.migrate import upgrade  # noqa: E402
from ixserver.writes.use_cases import of_no_account  # noqa: E402
from run import DOCUMENT, empty_postgres  # noqa: E402

BATCH = 32
ROUNDS = int(os.environ.get("BENCH_WRITER_ROUNDS", "60"))
STATEMENTS = os.environ.get("BENCH_WRITER_STATEMENTS") == "1"
KINDS = {"create_document": "create", "change_state": "finalize"}


@of_no_account
def _bench_account(conn: Any, resources: Any) -> Any:
    """A sandbox account: its first series registered, so that its documents may be issued."""
    return create_account(conn, "bench", resources)


def main() -> None:
    print("writer_alone: the writer's cost per use case, without HTTP", file=sys.stderr, flush=True)
    pg_url = os.environ.get("BENCH_DATABASE_URL")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="ixwriter-") as tmp:
        if os.environ.get("BENCH_WRITER_SQLITE") != "0":
            figures["sqlite"] = measure("SQLite", f"sqlite:///{Path(tmp) / 'ix.db'}", Path(tmp))
        if pg_url:
            empty_postgres(pg_url)
            figures["postgresql"] = measure("PostgreSQL", pg_url, Path(tmp))
    if os.environ.get("BENCH_WRITER_JSON") == "1":
        print(json.dumps(figures))


class _WriterCpu:
    """The writer thread's CPU time: per kind of use case around each batch, and in all."""

    def __init__(self, runner: Any) -> None:
        self.seconds: Counter[str] = Counter()
        self.cases: Counter[str] = Counter()
        self.statements: dict[str, Counter[str]] = {}
        self.kind = "other"
        self.on = False
        run = runner.run

        def measured(batch: list[Any]) -> Any:
            self.kind = KINDS.get(getattr(batch[0].fn, "__name__", ""), "other")
            started = time.thread_time()
            try:
                return run(batch)
            finally:
                if self.on:
                    self.seconds[self.kind] += time.thread_time() - started
                    self.cases[self.kind] += len(batch)
                self.kind = "other"

        runner.run = measured

    def trace(self, sql: str) -> None:
        if self.on:
            words = sql.split(None, 3)
            shape = " ".join(words[:3] if words[:1] == ["--"] else words[:2]).rstrip("(")
            self.statements.setdefault(self.kind, Counter())[shape] += 1


def _count_postgres(cpu: _WriterCpu) -> None:
    """The statements the writer thread sends to PostgreSQL, counted by `cpu.trace` by their first
    words, and the round trips it waits for, as "(wait)": each pipeline's Sync (store/libpq.py's,
    or psycopg's, with the Sync psycopg sends after a pipeline's BEGIN), each statement or command
    psycopg sends outside a pipeline (COMMIT …)."""
    import threading

    import psycopg
    from psycopg._connection_base import BaseConnection

    try:
        from ixserver.store import libpq
    except ImportError:  # a build before it (bench/writer_compare.py)
        libpq = None  # type: ignore[assignment]

    def writer() -> bool:
        return threading.current_thread().name == "ixserver-writer"

    def text(query: Any) -> str:
        return query if isinstance(query, str) else bytes(query).decode() if isinstance(query, bytes) else str(query)

    execute, executemany, command, wait = (
        psycopg.Cursor.execute, psycopg.Cursor.executemany, BaseConnection._exec_command, psycopg.Connection.wait
    )  # fmt: skip
    send, answers = getattr(libpq, "_send", None), getattr(libpq, "_answers", None)

    def counted_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if writer():
            cpu.trace(text(query))
        return execute(self, query, params, **kw)

    def counted_executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        rows = list(params_seq)
        if writer():
            for _ in rows:
                cpu.trace(text(query))
        return executemany(self, query, rows, **kw)

    def counted_command(self: Any, cmd: Any, *args: Any, **kw: Any) -> Any:
        if writer():
            cpu.trace(text(cmd))
        return command(self, cmd, *args, **kw)

    waited = {"_execute_gen", "_sync_gen", "_exit_gen", "_commit_gen", "_rollback_gen", "_exec_command"}

    def counted_wait(self: Any, gen: Any, *args: Any, **kw: Any) -> Any:
        name = getattr(getattr(gen, "gi_code", None), "co_name", "")
        if writer() and name in waited and not (name == "_execute_gen" and self._pipeline):
            cpu.trace("(wait)")
        return wait(self, gen, *args, **kw)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign,assignment]
    psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign,assignment]
    BaseConnection._exec_command = counted_command  # type: ignore[method-assign]
    psycopg.Connection.wait = counted_wait  # type: ignore[method-assign]
    if send is not None and answers is not None:  # this build sends on libpq

        def counted_send(pgconn: Any, link: Any, statement: Any, *args: Any) -> Any:
            if writer():
                cpu.trace(statement.sql.decode())
            return send(pgconn, link, statement, *args)

        def counted_answers(*args: Any) -> Any:
            if writer():
                cpu.trace("(wait)")
            return answers(*args)

        libpq._send = counted_send
        libpq._answers = counted_answers


def _thread_clock(writes: Any) -> int | None:
    thread = getattr(writes, "_thread", None)
    return None if thread is None else time.pthread_getcpuclockid(thread.ident)


def measure(label: str, url: str, tmp: Path) -> dict[str, Any]:
    upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp, public_url="http://x", rate_limit=0, sandbox=True)
    ctx = build_context(settings)
    writes = ctx.writes  # a writer thread: no writer process without `serve`
    cpu = _WriterCpu(writes.runner)
    if STATEMENTS and ctx.db.is_sqlite:
        event.listen(ctx.db.write_engine, "connect", lambda raw, _record: raw.set_trace_callback(cpu.trace))
    elif STATEMENTS:
        _count_postgres(cpu)
    body: dict[str, Any] = {"invoice": {**DOCUMENT["invoice"], "date": date.today().strftime("%d/%m/%Y")}}
    kind = BY_KEY["invoice"]

    async def rounds() -> dict[str, Any]:
        await start_context(ctx)
        try:
            account, _key = await writes.run_with_resources(_bench_account)
            clock = _thread_clock(writes)
            before = await writes.stats()
            thread_before = time.clock_gettime(clock) if clock is not None else 0.0
            cpu.on = True
            for _ in range(ROUNDS):
                drafts = await asyncio.gather(
                    *(writes.run(service.create_document, account.id, kind.key, parse_document(body, kind))
                      for _ in range(BATCH))
                )  # fmt: skip
                await asyncio.gather(
                    *(writes.run_with_resources(service.change_state, account.id, kind.key, d.id, "finalized", None)
                      for d in drafts)
                )  # fmt: skip
            after = await writes.stats()
            thread_after = time.clock_gettime(clock) if clock is not None else 0.0
            cpu.on = False
        finally:
            stop_context(ctx)
        done = {k: after[k] - before[k] for k in ("seconds", "use_cases")}
        done["thread_cpu"] = thread_after - thread_before
        return done

    done = asyncio.run(rounds())
    cases = done["use_cases"]
    per_job = done["seconds"] / cases * 1e6
    print(f"writer alone, {label}: {per_job:.0f} us per use case ({cases} jobs in batches of up to {BATCH});"
          f" {1e6 / (2 * per_job):.0f} documents/s if writing were all there is")  # fmt: skip
    figures: dict[str, Any] = {"wall_us": per_job, "cpu_us": done["thread_cpu"] / cases * 1e6}
    for name in KINDS.values():
        if cpu.cases[name]:
            figures[f"{name}_cpu_us"] = cpu.seconds[name] / cpu.cases[name] * 1e6
    print(f"  CPU of the writer thread: {figures['cpu_us']:.0f} us per use case in all (batches, answers, folds);"
          + "".join(f" {n} {figures.get(f'{n}_cpu_us', 0):.0f} us" for n in KINDS.values())
          + " in its batches")  # fmt: skip
    for name, shapes in sorted(cpu.statements.items()):
        n = cpu.cases[name] or cases
        waits = shapes.pop("(wait)", 0) / n
        total = sum(shapes.values()) / n
        print(f"  statements per {name}: {total:.2f}"
              + (f" (round trips waited for: {waits:.2f})" if waits else "") + ": "
              + ", ".join(f"{shape} {count / n:.2f}" for shape, count in shapes.most_common()))  # fmt: skip
        figures[f"{name}_statements"] = total
        if waits:
            figures[f"{name}_waits"] = waits
    return figures


if __name__ == "__main__":
    main()
