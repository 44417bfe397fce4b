"""Which operations of the official OpenAPI description (api/openapi.yaml) ixserver serves:
IMPLEMENTATION_COVERAGE.md, in the manner of moto's. Generated from the route table itself, and
tests/test_coverage.py fails when the committed file is out of date, so it cannot drift.

    python -m ixserver.coverage [OUTPUT]     # default: IMPLEMENTATION_COVERAGE.md at the repository root

Matching is by method and path, parameters normalised (`{document-id}`, `{id}`,
`{document_id:id}` are all one parameter). A path parameter the description restricts to an
enum (`/{invoices-type}/{document-id}.json`, invoices-type ∈ invoices, credit_notes …) stands
for one concrete path per value: the operation counts as implemented only when every one is
served, and as partial when some are. It says that a route exists, not that it behaves as
documented: the API tests do that.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.routing import Route

OUTPUT_NAME = "IMPLEMENTATION_COVERAGE.md"
COMMAND = "python -m ixserver.coverage"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Pages for people, not operations: said in one line each.
PAGES_SAID = {
    "/_ixserver/console": "the web console's pages, under `/_ixserver/console/` (docs/console.md)",
    "/_ixserver/assets/": "the pages' style sheets and scripts, under `/_ixserver/assets/`",
}
PAGES = tuple(PAGES_SAID)
_PARAMETER = re.compile(r"\{[^}]*\}")
_NAMED_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def normalise(path: str) -> str:
    """`/invoices/{}.json` for /invoices/{document-id}.json and /invoices/{document_id:id}.json."""
    return _PARAMETER.sub("{}", path)


@dataclass(frozen=True)
class Operation:
    method: str  # GET, POST …
    path: str  # as the description spells it
    operation_id: str
    summary: str
    tags: tuple[str, ...]
    # (enum value or "" , normalised concrete path): one per value of an enum path parameter
    variants: tuple[tuple[str, str], ...]

    def served(self, endpoints: set[tuple[str, str]]) -> list[str]:
        return [value for value, path in self.variants if (self.method, path) in endpoints]


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = document
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _variants(document: Mapping[str, Any], path: str, parameters: Iterable[Any]) -> tuple[tuple[str, str], ...]:
    enums: dict[str, list[str]] = {}
    for parameter in parameters:
        parameter = _resolve(document, parameter)
        if parameter.get("in") == "path":
            schema = _resolve(document, parameter.get("schema") or {})
            if schema.get("enum"):
                enums[parameter["name"]] = [str(value) for value in schema["enum"]]
    if not enums:
        return (("", normalise(path)),)
    if len(enums) > 1:
        raise ValueError(f"{path}: more than one enum path parameter; teach coverage.py to combine them")
    ((name, values),) = enums.items()
    return tuple((value, normalise(path.replace("{" + name + "}", value))) for value in values)


def operations(document: Mapping[str, Any]) -> list[Operation]:
    """Every operation of the description, in its order."""
    found: list[Operation] = []
    for path, item in document["paths"].items():
        item = _resolve(document, item)
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            parameters = [*item.get("parameters", []), *op.get("parameters", [])]
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=str(op.get("operationId", "")),
                    summary=str(op.get("summary", "")),
                    tags=tuple(op.get("tags") or ("(untagged)",)),
                    variants=_variants(document, path, parameters),
                )
            )
    return found


def endpoints(routes: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(method, normalised path) -> path as ixserver spells it (`{name}` without the convertor).
    HEAD is left out: Starlette adds it to every GET route."""
    served: dict[tuple[str, str], str] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                served[(method, normalise(route.path))] = _NAMED_PARAMETER.sub(r"{\1}", route.path)
    return served


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def coverage_markdown(routes: Iterable[Any], document: Mapping[str, Any]) -> str:
    """The whole of IMPLEMENTATION_COVERAGE.md, for this route table and this description."""
    served = endpoints(routes)
    keys = set(served)
    ops = operations(document)
    tag_order = [tag["name"] for tag in document.get("tags", [])]
    tag_order += sorted({op.tags[0] for op in ops} - set(tag_order))

    done = [op for op in ops if len(op.served(keys)) == len(op.variants)]
    partial = [op for op in ops if 0 < len(op.served(keys)) < len(op.variants)]
    variant_total = sum(len(op.variants) for op in ops)
    variant_done = sum(len(op.served(keys)) for op in ops)
    described = {(op.method, path) for op in ops for _value, path in op.variants}
    info = document.get("info", {})

    lines = [
        "# ixserver API coverage",
        "",
        f"Generated by `{COMMAND}` from the route table and the official OpenAPI description "
        f"`src/ixserver/api/openapi.yaml` ({info.get('title', 'InvoiceXpress API')} {info.get('version', '')}); "
        "do not edit by hand. `tests/test_coverage.py` fails when this file is out of date.",
        "",
        f"**{len(done)} of {len(ops)} operations implemented**"
        + (f", {len(partial)} partially" if partial else "")
        + f"; {variant_done} of {variant_total} endpoints (method and concrete path: an operation on "
        "`/{invoices-type}/…` counts once per document type that the description lists for it).",
        "",
        "✓ implemented, ◐ some of its document types, ✗ not implemented. A route that exists is counted; "
        "whether it behaves as documented is for the API tests to say.",
    ]
    for tag in tag_order:
        tagged = [op for op in ops if op.tags[0] == tag]
        if not tagged:
            continue
        tag_done = sum(1 for op in tagged if op in done)
        lines += [
            "",
            f"## {tag} ({tag_done} of {len(tagged)})",
            "",
            "| | Operation | Method and path | operationId | Notes |",
            "|---|---|---|---|---|",
        ]
        for op in tagged:
            have = op.served(keys)
            mark = "✓" if len(have) == len(op.variants) else "◐" if have else "✗"
            notes: list[str] = []
            if len(op.variants) > 1:
                missing = [value for value, _path in op.variants if value not in have]
                if not missing:
                    notes.append(f"all {len(op.variants)} types")
                elif have:
                    notes.append(f"{len(have)} of {len(op.variants)} types; missing " + ", ".join(missing))
                else:
                    notes.append(f"none of the {len(op.variants)} types")
            if len(op.tags) > 1:
                notes.append("also under " + ", ".join(op.tags[1:]))
            lines.append(
                f"| {mark} | {_cell(op.summary)} | `{op.method} {op.path}` | {_cell(op.operation_id)} "
                f"| {_cell('; '.join(notes))} |"
            )

    extra: dict[str, list[str]] = {}
    for (method, key), path in served.items():
        if (method, key) not in described and not path.startswith(PAGES):
            extra.setdefault(path, []).append(method)
    lines += ["", "## Served by ixserver, not in the description", ""]
    if extra:
        lines += [f"- `{', '.join(sorted(methods))} {path}`" for path, methods in sorted(extra.items())]
    else:
        lines.append("(none)")
    lines += [f"- {what}" for prefix, what in PAGES_SAID.items() if any(p.startswith(prefix) for p in served.values())]
    return "\n".join(lines) + "\n"


def app_routes() -> list[Route]:
    """The route table of a real app (built, never started: that would open the database).
    Explicit settings, not the environment's; keys it makes go to a throwaway directory."""
    from ixserver.app import create_app
    from ixserver.config import Settings

    with tempfile.TemporaryDirectory(prefix="ixserver-coverage-") as tmp:
        settings = Settings.model_construct(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/ixserver.db")
        app = create_app(settings)
        try:
            return list(app.state.router.routes)
        finally:
            app.state.ctx.db.dispose()


def load_openapi() -> dict[str, Any]:
    import yaml  # PyYAML: installed with uvicorn[standard], and in the test extra

    from ixserver.api.meta import openapi_yaml

    document: dict[str, Any] = yaml.safe_load(openapi_yaml())
    return document


def generate() -> str:
    return coverage_markdown(app_routes(), load_openapi())


def default_output() -> Path:
    return Path(__file__).resolve().parents[2] / OUTPUT_NAME


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0]) if args else default_output()
    text = generate()
    output.write_text(text, encoding="utf-8")
    summary = next(line for line in text.splitlines() if line.startswith("**"))
    print(f"wrote {output}: {summary.replace('**', '')}")


if __name__ == "__main__":
    main()
