"""Every use case says what it locks (writes/use_cases.py), checked on the source: every function
that src/ixserver hands to the write path (`….run(fn, …)`, `run_with_resources`, `run_sync`,
`run_sync_with_resources` on a `Writes`) is marked `@of_account` or `@of_no_account`, and its
mark agrees with its signature. The writer refuses an unmarked function (tests/store/test_writer.py,
tests/test_writer_process.py); this finds one before anything runs it.

The functions are found by walking the source for those calls and resolving the name each hands
over in its module (with the imports of the function it is in). A name that is a parameter of the
function it is in (`JobWorkers._record(fn, …)`) is followed to the calls of that function.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ixserver.writes.use_cases import NotAUseCase, UseCase, of_account, of_no_account

SRC = Path(__file__).parent.parent / "src" / "ixserver"
RUNS = {"run", "run_with_resources", "run_sync", "run_sync_with_resources"}
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class HandedOver:
    """A function handed to the write path, where, and whether with the writer's resources."""

    fn: Callable[..., Any]
    where: str
    with_resources: bool


def _module_name(path: Path) -> str:
    return ".".join(("ixserver", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")


def _is_writes(receiver: ast.expr) -> bool:
    """Whether `receiver.run…(` is a `Writes`'s: `ctx.writes`, `writes`, `DirectWrites(db)` …"""
    return ast.unparse(receiver.func if isinstance(receiver, ast.Call) else receiver).endswith(("writes", "Writes"))


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, _FUNCTIONS):
            return node
    return None


def _resolve(expr: ast.expr, function: ast.AST | None, module_name: str, where: str) -> Any:
    """The object `expr` (a name, or a dotted name) stands for in `function` of the module."""
    assert isinstance(expr, ast.Name | ast.Attribute), f"{where}: hands over {ast.unparse(expr)}, not a name"
    namespace = dict(vars(importlib.import_module(module_name)))
    for node in ast.walk(function) if function is not None else ():
        if isinstance(node, ast.Import | ast.ImportFrom):  # the function's own imports
            exec(compile(ast.Module([node], []), module_name, "exec"), namespace)  # noqa: S102 - the project's own import lines
    return eval(compile(ast.Expression(expr), module_name, "eval"), namespace)  # noqa: S307 - a name of the project's source


def _handed_over() -> Iterator[HandedOver]:
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "writes":
            continue  # the write path itself
        tree = ast.parse(path.read_text())
        parents, module_name = _parents(tree), _module_name(path)
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in RUNS
                and _is_writes(call.func.value)
            ):
                continue
            where = f"{path.relative_to(SRC.parent.parent)}:{call.lineno}"
            assert call.args, f"{where}: no function handed over"
            with_resources = call.func.attr.endswith("with_resources")
            yield from _named(call.args[0], call, tree, parents, module_name, where, with_resources)


def _named(
    expr: ast.expr,
    at: ast.AST,
    tree: ast.AST,
    parents: dict[ast.AST, ast.AST],
    module_name: str,
    where: str,
    with_resources: bool,
) -> Iterator[HandedOver]:
    """What `expr`, handed over at `at`, names; followed to the callers when it is a parameter."""
    function = _enclosing(at, parents)
    parameters = [a.arg for a in function.args.args] if function is not None else []
    if not (isinstance(expr, ast.Name) and expr.id in parameters):
        yield HandedOver(_resolve(expr, function, module_name, where), where, with_resources)
        return
    assert function is not None
    position = parameters.index(expr.id) - (parameters[:1] == ["self"])
    callers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None))
        == function.name
    ]
    assert callers, f"{where}: hands over its parameter {expr.id}, and nothing in its module calls {function.name}"
    for caller in callers:
        caller_where = f"{where} (from line {caller.lineno})"
        yield from _named(caller.args[position], caller, tree, parents, module_name, caller_where, with_resources)


HANDED_OVER = list(_handed_over())


def test_the_walk_finds_the_use_cases() -> None:
    functions = {h.fn for h in HANDED_OVER}
    assert len(functions) > 40, f"the walk found only {len(functions)} use cases: is it broken?"
    names = {f.__qualname__ for f in functions}
    assert {"create_document", "open_account", "register_signing_key", "_finish", "_retry_or_fail"} <= names


@pytest.mark.parametrize("handed", HANDED_OVER, ids=lambda h: f"{h.fn.__module__}.{h.fn.__qualname__}@{h.where}")
def test_every_use_case_says_what_it_locks(handed: HandedOver) -> None:
    fn = handed.fn
    assert hasattr(fn, "__use_case_account__"), f"{handed.where}: mark {fn.__qualname__} @of_account or @of_no_account"
    names = [p.name for p in inspect.signature(fn).parameters.values()]
    takes_resources = names[1:2] == ["resources"]
    assert takes_resources == handed.with_resources, (
        f"{handed.where}: {fn.__qualname__} is run {'with' if handed.with_resources else 'without'} the writer's"
        f" resources but its parameters are {names}"
    )
    at = fn.__use_case_account__
    if at is None:
        assert "account_id" not in names, f"{fn.__qualname__} takes an account_id but is marked of_no_account"
        return
    account = names[at + 1]  # the mark's place is after conn
    assert at >= takes_resources, f"{fn.__qualname__}: its account ({account}) is the resources' place"
    assert "account_id" not in names or account == "account_id", (
        f"{fn.__qualname__} takes an account_id, but its mark locks {account}"
    )


# -- the marks ---------------------------------------------------------------------------------------


@of_account
def _of_an_account(conn: Any, account_id: int, n: int) -> None:
    """A use case of an account."""


@of_account
def _with_resources(conn: Any, resources: Any, account_id: int) -> None:
    """One that also takes the writer's resources."""


@of_account(parameter="creator_id")
def _of_the_creator(conn: Any, resources: Any, data: Any, creator_id: int) -> None:
    """One of the account named by another parameter."""


@of_no_account
def _of_none(conn: Any, job_id: int) -> None:
    """One of no account (e.g. a job's claim), though its first argument is a number."""


def _unmarked(conn: Any, account_id: int) -> None:
    """Named like an account's use case, but not marked: refused, not guessed."""


def test_the_account_of_a_use_case_is_what_its_mark_says() -> None:
    cases = [UseCase(_of_an_account, (9, 1)), UseCase(_of_none, (3,)),
             UseCase(_with_resources, (2,), with_resources=True),
             UseCase(_of_the_creator, ({}, 5), with_resources=True), UseCase(_of_an_account, (9, 3))]  # fmt: skip
    assert [case.account for case in cases] == [9, None, 2, 5, 9]


@pytest.mark.parametrize(
    ("fn", "args", "with_resources", "refusal"),
    [
        (_unmarked, (1,), False, "without a mark"),
        (lambda conn: None, (), False, "without a mark"),
        (_of_an_account, (), False, "its account must be an argument"),
        (_of_an_account, ("9", 1), False, "its account must be an argument"),
        (_of_an_account, (9, 1), True, "its account must be an argument"),  # takes no resources
    ],
)
def test_a_function_the_write_path_cannot_take_is_refused_when_its_use_case_is_built(
    fn: Any, args: tuple[Any, ...], with_resources: bool, refusal: str
) -> None:
    with pytest.raises(NotAUseCase, match=refusal):
        UseCase(fn, args, with_resources)


def test_a_mark_that_disagrees_with_the_signature_is_refused_at_import() -> None:
    def no_account(conn: Any, job_id: int) -> None: ...

    def an_account(conn: Any, account_id: int) -> None: ...

    with pytest.raises(NotAUseCase, match="takes no positional 'account_id'"):
        of_account(no_account)
    with pytest.raises(NotAUseCase, match="takes no positional 'owner_id'"):
        of_account(parameter="owner_id")(an_account)
    with pytest.raises(NotAUseCase, match="mark it of_account"):
        of_no_account(an_account)
