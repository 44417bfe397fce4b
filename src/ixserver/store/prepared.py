"""Hot statements, compiled once and run on the driver's cursor.

`Connection.execute` spends 20–30 µs per statement on bookkeeping (execution context, cache
key, result metadata) around a driver call that often takes less. A `Prepared` keeps what that
bookkeeping produces — SQLAlchemy's SQL for the dialect, the order of its parameters, and
the bind and result processors of their types — and runs the statement on the DBAPI cursor
of the same connection, inside the same transaction. So the SQL and the conversions (Money as
TEXT on SQLite, dates, UTC datetimes) stay exactly those of the Core statement.

Only statements without Python-side column defaults are accepted (the tables have none), and
lists are not expanded: a statement over n ids is built per n (see `PerLength`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

from ixserver.store import deferred, libpq

_MISSING = object()


class _Plan:
    __slots__ = ("sql", "params", "convert", "positional", "bind", "pg", "bind_pg", "_types", "_dialect")

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str]) -> None:
        compiled: Any = statement.compile(
            dialect=dialect, column_keys=list(column_keys)
        )  # SQLCompiler: binds, positiontup
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("Prepared statements take every value from their parameters")
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("Prepared statements do not expand lists: build one per length (PerLength)")
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        # (name in the SQL, key in the caller's parameters, fixed value or _MISSING, processor)
        self.params: list[tuple[str, str, Any, Callable[[Any], Any] | None]] = []
        for name in names or ():
            bind = compiled.binds[name]
            fixed = bind.effective_value if not bind.required and bind.key not in column_keys else _MISSING
            self.params.append((name, bind.key, fixed, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self.bind = self._binder()
        # PostgreSQL: the statement as libpq takes it (store/libpq.py), and its values in order
        self.pg: libpq.Statement | None = None
        self.bind_pg: Callable[[Mapping[str, Any]], list[Any]] | None = None
        if dialect.name == "postgresql":
            sql, names = libpq.positional(self.sql)
            escaped = getattr(compiled, "escaped_bind_names", None) or {}
            by_name = {escaped.get(param[0], param[0]): param for param in self.params}
            self.pg = libpq.Statement(sql)
            self.bind_pg = self._binder([by_name[name] for name in names], positional=True)
        columns = getattr(compiled, "_result_columns", None) or []
        self._types = [c[3] for c in columns]
        self._dialect = dialect
        # Result processors may depend on the driver's column types: made at the first fetch.
        self.convert: Callable[[Sequence[Sequence[Any]]], list[tuple[Any, ...]]] | None = None

    def converter(self, description: Sequence[Any]) -> Callable[[Sequence[Sequence[Any]]], list[tuple[Any, ...]]]:
        """A function from driver rows to converted tuples, generated for this statement's
        columns: one tuple display per row (`(r[0], p1(r[1]), …)`), no per-value loop."""
        if self.convert is None:
            processors: dict[str, Callable[[Any], Any]] = {}
            items = []
            for index, (type_, column) in enumerate(zip(self._types, description, strict=True)):
                processor = type_.dialect_impl(self._dialect).result_processor(self._dialect, column[1])
                if processor is None:
                    items.append(f"r[{index}]")
                else:
                    processors[f"p{index}"] = processor
                    items.append(f"p{index}(r[{index}])")
            if processors:
                namespace: dict[str, Any] = dict(processors)
                exec(f"def convert(rows):\n    return [({', '.join(items)},) for r in rows]", namespace)  # noqa: S102
                self.convert = namespace["convert"]
            else:
                self.convert = _as_tuples
        return self.convert

    def _binder(self, params: list[Any] | None = None, *, positional: bool | None = None) -> Callable[..., Any]:
        """A function from the caller's values to the driver's parameters (`params`, by default
        the statement's), generated for this statement (`[p0(v["a"]), v.get("b", f1), …]`): no
        loop, no test per value. A value missing (and not fixed by the statement) is a KeyError
        naming it."""
        positional = self.positional if positional is None else positional
        namespace: dict[str, Any] = {}
        items = []
        for index, (name, key, fixed, processor) in enumerate(self.params if params is None else params):
            if fixed is _MISSING:
                value = f"v[{key!r}]"
            else:
                namespace[f"f{index}"] = fixed
                value = f"v.get({key!r}, f{index})"
            if processor is not None:
                namespace[f"p{index}"] = processor
                value = f"p{index}({value})"
            items.append(value if positional else f"{name!r}: {value}")
        body = f"[{', '.join(items)}]" if positional else f"{{{', '.join(items)}}}"
        exec(f"def bind(v):\n    return {body}", namespace)  # noqa: S102
        bind: Callable[[Mapping[str, Any]], Any] = namespace["bind"]
        return bind

    def rows(self, cursor: Any, raws: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not raws:
            return []
        # psycopg builds `description` anew at each access: read once, for the first conversion
        return (self.convert or self.converter(cursor.description))(raws)


def _as_tuples(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows]


class Prepared:
    """A Core statement of fixed shape, compiled once per dialect and set of value keys."""

    __slots__ = ("statement", "_plans", "planned_per_values")

    def __init__(self, statement: ClauseElement, *, planned_per_values: bool = False) -> None:
        """`planned_per_values`: never run as a server-side prepared statement on PostgreSQL, so
        that it is planned for its values each time (a text search: a generic plan cannot tell
        a rare text, for which the text index is the way, from a common one)."""
        self.statement = statement
        self.planned_per_values = planned_per_values
        self._plans: dict[tuple[str, frozenset[str]], _Plan] = {}

    def _plan(self, conn: Connection, keys: Iterable[str]) -> _Plan:
        dialect = conn.dialect
        key = (dialect.name, frozenset(keys))
        plan = self._plans.get(key)
        if plan is None:
            plan = _Plan(self.statement, dialect, sorted(key[1]))
            if plan.pg is not None and self.planned_per_values:
                plan.pg = libpq.Statement(plan.pg.sql, prepared=False)
            self._plans[key] = plan
        return plan

    def _cursor(self, conn: Connection, plan: _Plan, params: Any, many: bool = False) -> Any:
        """SQLite: the statement run on the driver's cursor."""
        if not conn.in_transaction():
            conn.begin()  # what Connection.execute's autobegin would do
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            (cursor.executemany if many else cursor.execute)(plan.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:
            error = deferred.driver_error(conn, exc, plan.sql, params, cursor)
            cursor.close()
            raise error from exc
        return cursor

    def _answer(self, conn: Connection, plan: _Plan, params: Mapping[str, Any]) -> Any:
        """PostgreSQL: the statement's answer (libpq's result), sent with the writes deferred
        before it in one pipeline (store/libpq.py)."""
        if not conn.in_transaction():
            conn.begin()  # what Connection.execute's autobegin would do
        raw = conn.connection.dbapi_connection
        assert raw is not None and plan.pg is not None and plan.bind_pg is not None
        values = plan.bind_pg(params)
        try:
            return libpq.exchange(raw, deferred.taken(conn) or (), (plan.pg, values))
        except conn.dialect.loaded_dbapi.Error as exc:
            raise deferred.driver_error(conn, exc, plan.sql, values) from exc

    def _pg_rows(self, conn: Connection, plan: _Plan, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        answer = self._answer(conn, plan, params)
        raws = libpq.rows(conn.connection.dbapi_connection, answer)
        if not raws:
            return []
        return (plan.convert or plan.converter(libpq.description(answer)))(raws)

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        params = params or {}
        plan = self._plan(conn, params)
        if plan.pg is not None:
            return self._pg_rows(conn, plan, params)
        cursor = self._cursor(conn, plan, plan.bind(params))
        try:
            return plan.rows(cursor, cursor.fetchall())
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        params = params or {}
        plan = self._plan(conn, params)
        if plan.pg is not None:
            found = self._pg_rows(conn, plan, params)
            return found[0] if found else None
        cursor = self._cursor(conn, plan, plan.bind(params))
        try:
            raw = cursor.fetchone()
            return None if raw is None else plan.rows(cursor, [raw])[0]
        finally:
            cursor.close()

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(conn, params)
        return None if row is None else row[0]

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Execute; the number of rows it changed."""
        params = params or {}
        plan = self._plan(conn, params)
        if plan.pg is not None:
            count = self._answer(conn, plan, params).command_tuples
            return -1 if count is None else int(count)
        cursor = self._cursor(conn, plan, plan.bind(params))
        count = cursor.rowcount
        cursor.close()
        return int(count)

    def later(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Pending:
        """The statement's rows, read later (`Pending.rows`): on PostgreSQL it is queued as a
        deferred write is, and answered in the pipeline of the connection's next waited statement,
        so that reads that do not depend on each other cost one round trip together. On SQLite,
        run now."""
        params = params or {}
        plan = self._plan(conn, params)
        if plan.pg is None:
            return Pending(conn, plan, self.rows(conn, params))
        assert plan.bind_pg is not None
        pending = Pending(conn, plan, None)
        deferred.queue(conn, plan.pg, plan.bind_pg(params), pending.later)
        return pending

    def send(self, conn: Connection, params: Mapping[str, Any] | None = None) -> None:
        """Execute, without waiting for it: on PostgreSQL it goes with the connection's next
        statement that is waited for (store/deferred.py). For writes whose answer (rows, count)
        is not read."""
        params = params or {}
        plan = self._plan(conn, params)
        if plan.pg is not None:
            assert plan.bind_pg is not None
            deferred.queue(conn, plan.pg, plan.bind_pg(params))
        else:
            deferred.defer(conn, plan.sql, plan.bind(params))

    def send_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """`send` for each row (on SQLite, one `run_many`)."""
        if conn.dialect.name != "postgresql":
            self.run_many(conn, rows)
            return
        for row in rows:
            self.send(conn, row)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row; every row has the same keys."""
        if not rows:
            return
        if conn.dialect.name == "postgresql":  # one pipeline for all
            self.send_many(conn, rows)
            deferred.flush(conn)
            return
        plan = self._plan(conn, rows[0])
        self._cursor(conn, plan, [plan.bind(row) for row in rows], many=True).close()


class Pending:
    """A statement's rows that `Prepared.later` will have: `rows()` sends the connection's queue
    if it has not gone yet."""

    __slots__ = ("_conn", "_plan", "_rows", "later")

    def __init__(self, conn: Connection, plan: _Plan, rows: list[tuple[Any, ...]] | None) -> None:
        self._conn = conn
        self._plan = plan
        self._rows = rows
        self.later = libpq.Later()

    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            if self.later.answer is None:
                deferred.flush(self._conn)
            answer = self.later.answer
            if answer is None:
                raise RuntimeError("a pending statement's transaction ended before it was answered")
            raws = libpq.rows(self._conn.connection.dbapi_connection, answer)
            plan = self._plan
            self._rows = (plan.convert or plan.converter(libpq.description(answer)))(raws) if raws else []
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        found = self.rows()
        return found[0] if found else None


class PerLength:
    """A `Prepared` per length of a list parameter: `build(n)` makes the statement for n values."""

    __slots__ = ("build", "_by_length")

    def __init__(self, build: Callable[[int], ClauseElement]) -> None:
        self.build = build
        self._by_length: dict[int, Prepared] = {}

    def __call__(self, n: int) -> Prepared:
        found = self._by_length.get(n)
        if found is None:
            found = self._by_length[n] = Prepared(self.build(n))
        return found
