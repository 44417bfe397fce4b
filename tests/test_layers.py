"""The layers of ARCHITECTURE.md, checked on the imports of src/ixserver: every import points to
a lower layer or within its own unit, so there are no arrows up and no cycles between units.

A unit is a package of src/ixserver (api, web, services …) or a top-level module (app, config …).
Imports under `if TYPE_CHECKING:` are left out: they name a type, they load nothing.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "ixserver"

# Lowest first; a unit may import its own layer's units only where listed in SIDEWAYS.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("domain", "clock", "files", "__init__"),  # pure rules and the smallest helpers
    ("config",),  # the settings (IXSERVER_*), whose ranges are the domain's limits
    ("store", "render", "audit", "at", "vault", "signing_key", "logs", "metrics"),
    ("journal", "resources", "pdf_signing"),
    ("writes",),  # the one write path
    ("services",),  # use cases
    ("web", "jobs"),  # the HTTP machinery; the job outbox's workers (an entry point)
    ("api",),  # the API's operations
    (
        "app",
        "serve",
        "coverage",
        "replay",
        "cli",
        "__main__",
        "testing",
    ),  # assembly and entry points (testing: pytest's)
)
SIDEWAYS = {
    ("journal", "store"),
    ("resources", "at"),
    ("resources", "pdf_signing"),  # the renderers sign with its certificate
    ("serve", "app"),  # serve runs the app
    ("coverage", "app"),  # the route table is the app's
    ("cli", "serve"),
    ("cli", "replay"),
    ("__main__", "cli"),
}
LAYER = {unit: n for n, units in enumerate(LAYERS) for unit in units}


def unit_of(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".py")


def imported_units(tree: ast.AST) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.module.split(".")[0] == "ixserver":
                parts = child.module.split(".")
                found.update([a.name for a in child.names] if len(parts) == 1 else [parts[1]])
            elif isinstance(child, ast.Import):
                found.update(a.name.split(".")[1] for a in child.names if a.name.startswith("ixserver."))
            visit(child)

    visit(tree)
    return {"__init__" if name == "__version__" else name for name in found}


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        unit = unit_of(path)
        edges[unit] |= imported_units(ast.parse(path.read_text())) - {unit}
    return edges


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(p) for p in SRC.rglob("*.py")}
    assert units - set(LAYER) == set(), "a new package or top-level module: give it a layer here and in ARCHITECTURE.md"


def test_no_arrow_points_up() -> None:
    up = sorted(
        f"{unit} (layer {LAYER[unit]}) imports {target} (layer {LAYER[target]})"
        for unit, targets in graph().items()
        for target in targets
        if LAYER[target] > LAYER[unit] or (LAYER[target] == LAYER[unit] and (unit, target) not in SIDEWAYS)
    )
    assert up == []


def test_no_cycle_between_units() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def cycle_from(unit: str, path: list[str]) -> list[str] | None:
        state[unit] = 1
        for target in sorted(edges.get(unit, ())):
            if state.get(target) == 1:
                return [*path, unit, target]
            if target not in state and (found := cycle_from(target, [*path, unit])):
                return found
        state[unit] = 2
        return None

    for unit in sorted(edges):
        if unit not in state:
            assert cycle_from(unit, []) is None
