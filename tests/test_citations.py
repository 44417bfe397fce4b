"""Every "§" a comment or docstring cites resolves inside the repository (issue 24 item 2): the
documents the code cites are in docs/ (api-v2.md, pt-compliance.md, clients.md), and each section
number cited is a heading there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {
    "api-v2": "api-v2.md",
    "pt-compliance": "pt-compliance.md",
    "clients.md": "clients.md",
    "clients": "clients.md",
}
CITATION = re.compile(
    r"\b(api-v2|pt-compliance|clients\.md)(?:'s)?(?: §([0-9]+(?:\.[0-9]+)*)| \(§([0-9]+(?:\.[0-9]+)*)\))?"
)
# a section cited after another document's, "(api-v2 §4.3, §5.2)": the same document
MORE = re.compile(r"^(?:,| and| or)? ?§([0-9]+(?:\.[0-9]+)*)")


def _sections(name: str) -> set[str]:
    """The section numbers of a document: its numbered headings, and the numbered items of a
    section made of a list (clients.md §4: "4.5" is its fifth item)."""
    found: set[str] = set()
    section = ""
    for line in (ROOT / "docs" / name).read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{2,4} ([0-9]+(?:\.[0-9]+)*)\.? ", line)
        if heading:
            section = heading.group(1)
            found.add(section)
        elif (item := re.match(r"^([0-9]+)\. ", line)) and section:
            found.add(f"{section}.{item.group(1)}")
    return found


def _citations() -> list[tuple[str, str, str]]:
    """(file:line, document, section or "") for every citation in src/."""
    found = []
    for path in sorted((ROOT / "src").rglob("*")):
        if path.suffix not in (".py", ".typ", ".md", ".lua"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in CITATION.finditer(line):
                where = f"{path.relative_to(ROOT)}:{number}"
                document = DOCUMENTS[match.group(1)]
                found.append((where, document, match.group(2) or match.group(3) or ""))
                rest = line[match.end() :]
                while (more := MORE.match(rest)) is not None:
                    found.append((where, document, more.group(1)))
                    rest = rest[more.end() :]
    return found


def test_the_cited_documents_are_in_the_repository() -> None:
    for name in set(DOCUMENTS.values()):
        assert (ROOT / "docs" / name).is_file(), name
    climbing = re.compile(r"\.\./\w")  # a path relative to a place that is not the repository's
    assert not [line for line in _source_lines() if climbing.search(line)], "src/ reads or cites outside the repository"


def test_every_path_the_documents_name_is_in_the_repository() -> None:
    """docs/ names data files relative to itself (`../tests/data/qr-examples.json`): each is there,
    inside the repository (a clone has nothing beside it)."""
    named = [
        (doc.name, path)
        for doc in (ROOT / "docs").glob("*.md")
        for path in re.findall(r"`(\.\./[^`\s]+)`", doc.read_text())
    ]
    assert len(named) >= 8
    missing = [f"{doc}: {path}" for doc, path in named
               if not (ROOT / "docs" / path).resolve().is_relative_to(ROOT)
               or not (ROOT / "docs" / path).exists()]  # fmt: skip
    assert missing == []


def test_every_cited_section_is_a_heading_of_its_document() -> None:
    sections = {name: _sections(name) for name in set(DOCUMENTS.values())}
    citations = _citations()
    assert len(citations) > 100
    unresolved = [f"{where}: {document} §{section}" for where, document, section in citations
                  if section and section not in sections[document]]  # fmt: skip
    assert unresolved == []


def _source_lines() -> list[str]:
    return [line for path in (ROOT / "src").rglob("*.py") for line in path.read_text(encoding="utf-8").splitlines()]
