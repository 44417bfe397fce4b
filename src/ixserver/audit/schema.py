"""AT's SAF-T (PT) 1.04_01 schema (XSD 1.1, package data beside this module), applied to a file a
part at a time so that memory stays flat and the work spreads over processes.

`xmlschema` (pure Python; the only validator that reads XSD 1.1) checks each document (`Invoice`,
`StockMovement`, `WorkDocument`, `Payment`) against its declaration in the schema, in worker
processes, and at the end the rest of the file — header, master files, control totals, with the
documents taken out (the schema lets every table be empty) — against the whole schema. What spans
the two, the schema's `xs:unique`/`xs:keyref` constraints on documents (numbers unique,
CustomerID/SupplierID/ProductCode in the master files), is checked by the caller as it streams
(saft.py).

The schema's 19 `xs:assert`s (tax exemption reasons and codes, TaxBase, receipts' taxes, ledger
groupings) are evaluated here, on the element each belongs to, with the XPath 2.0 engine xmlschema
uses (elementpath), as xmlschema does — the element is the root of the expression (so `..` finds
nothing), its values typed by its declaration — but typing that element only: xmlschema types the
whole document again for every assert, which took most of the time.
"""

from __future__ import annotations

import io
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cache, lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

XSD_PATH = Path(__file__).with_name("SAFTPT1.04_01.xsd")
NS = "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"
XS = "http://www.w3.org/2001/XMLSchema"
DOCUMENT_PATHS = {  # document element → its place under AuditFile
    "Invoice": ("SourceDocuments", "SalesInvoices", "Invoice"),
    "StockMovement": ("SourceDocuments", "MovementOfGoods", "StockMovement"),
    "WorkDocument": ("SourceDocuments", "WorkingDocuments", "WorkDocument"),
    "Payment": ("SourceDocuments", "Payments", "Payment"),
}
BATCH = 200  # documents sent to a worker at once
XsdError = tuple[str, str]  # (where: a document's number or "file", message)


@lru_cache(maxsize=1)
def _parts() -> tuple[Any, dict[str, list[tuple[tuple[str, ...], list[Any]]]]]:
    """The schema without its asserts; and the asserts, compiled by xmlschema from the whole
    schema, by the name of the element they belong to: (the names down to it, its asserts)."""
    import xmlschema
    from lxml import etree

    whole = xmlschema.XMLSchema11(str(XSD_PATH))
    assertions: dict[str, list[tuple[tuple[str, ...], list[Any]]]] = {}

    def collect(declaration: Any, chain: tuple[str, ...]) -> None:
        chain += (declaration.local_name,)
        kind = declaration.type
        if getattr(kind, "assertions", None):
            assertions.setdefault(chain[-1], []).append((chain, list(kind.assertions)))
        if kind.is_complex() and hasattr(kind.content, "iter_elements"):
            for child in kind.content.iter_elements():
                if child.local_name not in chain:  # the schema has no recursion; never loop if it had
                    collect(child, chain)

    collect(whole.elements["AuditFile"], ())
    tree = etree.parse(str(XSD_PATH))
    for node in list(tree.getroot().iter(f"{{{XS}}}assert")):
        node.getparent().remove(node)
    return xmlschema.XMLSchema11(io.BytesIO(etree.tostring(tree))), assertions


def schema() -> Any:
    """AT's schema, its asserts left to `assertion_errors`."""
    return _parts()[0]


def assertion_errors(node: Any, above: tuple[str, ...]) -> list[str]:
    """The asserts that fail in `node` (an lxml or ElementTree element) and below it; `above` the
    names of the elements that contain it in the file, from AuditFile."""
    from elementpath import XPathContext
    from elementpath.exceptions import ElementPathError

    assertions = _parts()[1]
    errors: list[str] = []

    def walk(element: Any, chain: tuple[str, ...], path: str) -> None:
        name = element.tag.rpartition("}")[2]
        chain += (name,)
        for declared, asserts in assertions.get(name, ()):
            if chain != declared:
                continue
            # typed as its declaration says, as xmlschema does, but only this element's subtree
            context = XPathContext(root=element, fragment=True, schema=asserts[0].parser.schema)
            for assertion in asserts:
                try:
                    holds = assertion.token.evaluate(context)
                except ElementPathError as exc:
                    errors.append(f"{exc} (at {path})")
                    continue
                if not holds:
                    errors.append(f"assertion test is false: {' '.join(assertion.path.split())} (at {path})")
        seen: dict[str, int] = {}
        for child in element:
            if isinstance(child.tag, str):
                child_name = child.tag.rpartition("}")[2]
                seen[child_name] = seen.get(child_name, 0) + 1
                walk(child, chain, f"{path}/{child_name}[{seen[child_name]}]")

    walk(node, above, "/" + node.tag.rpartition("}")[2])
    return errors


@cache
def _declaration(element: str) -> Any:
    found = schema().elements["AuditFile"]
    for name in DOCUMENT_PATHS[element]:
        found = next(child for child in found.iterchildren() if child.local_name == name)
    return found


def _message(error: Any) -> str:
    where = f" (at {error.path})" if getattr(error, "path", None) else ""
    return f"{error.reason or error.message}{where}"


def document_errors(element: str, where: str, node: Any) -> list[XsdError]:
    """A document element's errors against its declaration; `node` an lxml or ElementTree element,
    or its serialized bytes."""
    if isinstance(node, bytes):
        from xml.etree import ElementTree

        node = ElementTree.fromstring(node)
    errors = [(where, _message(error)) for error in _declaration(element).iter_errors(node, namespaces={"ns": NS})]
    return errors + [
        (where, message) for message in assertion_errors(node, ("AuditFile", *DOCUMENT_PATHS[element][:-1]))
    ]


def _batch_errors(batch: list[tuple[str, str, bytes]]) -> list[XsdError]:
    errors: list[XsdError] = []
    for element, where, content in batch:
        errors += document_errors(element, where, content)
    return errors


def file_errors(root: Any) -> list[XsdError]:
    """The rest of the file (its documents taken out) against the whole schema."""
    errors = [("file", _message(error)) for error in schema().iter_errors(root)]
    return errors + [("file", message) for message in assertion_errors(root, ())]


def default_jobs(size: int) -> int:
    """Worker processes for a file of `size` bytes: one per CPU for a large file; none (this
    process) for a small one, which validates faster than processes start."""
    return (os.cpu_count() or 1) if size > 8_000_000 else 1


class DocumentValidator:
    """Validates documents as they are handed over, in `jobs` worker processes (1: in this one),
    keeping a bounded number of batches under way."""

    def __init__(self, jobs: int) -> None:
        self.errors: list[XsdError] = []
        self._pool: ProcessPoolExecutor | None = None
        self._batch: list[tuple[str, str, bytes]] = []
        self._pending: deque[Future[list[XsdError]]] = deque()
        if jobs > 1:
            self._pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=schema)
            self._limit = 2 * jobs
        else:
            schema()

    def add(self, element: str, where: str, node: Any) -> None:
        if self._pool is None:
            self.errors += document_errors(element, where, node)
            return
        from lxml import etree

        self._batch.append((element, where, etree.tostring(node, with_tail=False)))
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        assert self._pool is not None
        self._pending.append(self._pool.submit(_batch_errors, self._batch))
        self._batch = []
        while len(self._pending) > self._limit:
            self.errors += self._pending.popleft().result()

    def finish(self) -> list[XsdError]:
        if self._pool is not None:
            if self._batch:
                self._send()
            while self._pending:
                self.errors += self._pending.popleft().result()
            self._pool.shutdown()
        return self.errors

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
