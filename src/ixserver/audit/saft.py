"""`ixserver verify --saft FILE --public-key PEM`: a SAF-T (PT) file checked on its own, whoever
made it (pt-compliance §8), in one streamed pass (memory flat in the number of documents):

- the schema: AT's XSD 1.1, document by document and then the rest of the file (schema.py), and
  its constraints across the two: numbers unique, every CustomerID, SupplierID and ProductCode
  of a document in the master files;
- numbering: per document type and series (the number's prefix, `FT 2025A`), numbers follow one
  another with no gap or repeat; the first may be above 1 (a month's file starts mid-series);
  dates and SystemEntryDates never go back as numbers go up;
- signatures: each signed document (SalesInvoices, MovementOfGoods, WorkingDocuments; receipts
  are not signed) verifies with one of the public keys, over `date;SystemEntryDate;number;
  GrossTotal;previous Hash`, the previous Hash being that of the document numbered just before
  in the file, so that the chain is checked too. The first document of a series that does not
  start at 1 chains to a document outside the file: noted as not verifiable, not a finding;
- ATCUD: `<series code>-<number>`, one code per series; `0` only before 2023 or under VAT OSS
  (every line taxed in another country; a receipt without taxes in its lines, when every document
  it pays is such a document of the file. A receipt with ATCUD `0` paying a document not in the
  file cannot be told: it is listed as not verifiable, not a finding — unless a document it pays
  in the file has an ATCUD);
- control totals (pt-compliance §5.3): NumberOfEntries, TotalDebit, TotalCredit, and for
  MovementOfGoods NumberOfMovementLines and TotalQuantityIssued, against the documents;
- each document's arithmetic, canceled ones included: lines, NetTotal, TaxPayable, GrossTotal,
  VAT rates, exchange rate, what was paid (arithmetic.py, which says its tolerances).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from lxml import etree

from ixserver.audit import arithmetic
from ixserver.audit import schema as xsd
from ixserver.domain import signing
from ixserver.domain.saft import LEFT_OUT, ControlTotals
from ixserver.domain.sequences import VALIDATION_CODE
from ixserver.domain.taxes import RATES

NS = xsd.NS
Q = f"{{{NS}}}"


def _q(*names: str) -> str:
    return "/".join(Q + name for name in names)


@dataclass(frozen=True)
class Table:
    name: str
    element: str
    number: str
    date: str
    status: str
    kind: str  # the element of its type
    signed: bool


TABLES = {
    t.element: t
    for t in (
        Table("SalesInvoices", "Invoice", "InvoiceNo", "InvoiceDate", "InvoiceStatus", "InvoiceType", True),
        Table(
            "MovementOfGoods", "StockMovement", "DocumentNumber", "MovementDate", "MovementStatus", "MovementType", True
        ),
        Table("WorkingDocuments", "WorkDocument", "DocumentNumber", "WorkDate", "WorkStatus", "WorkType", True),
        Table("Payments", "Payment", "PaymentRefNo", "TransactionDate", "PaymentStatus", "PaymentType", False),
    )
}
BY_TABLE = {t.name: t for t in TABLES.values()}
MASTER_IDS = {"Customer": "CustomerID", "Supplier": "SupplierID", "Product": "ProductCode"}
CONTROLS = ("NumberOfEntries", "TotalDebit", "TotalCredit", "NumberOfMovementLines", "TotalQuantityIssued")
NUMBER = re.compile(r"^(.+)/([0-9]+)$")
ATCUD = re.compile(rf"^({VALIDATION_CODE.pattern})-([0-9]+)$")
ATCUD_SINCE = date(2023, 1, 1)
PORTUGAL = frozenset(RATES)  # TaxCountryRegion of VAT charged in Portugal
XSD_SHOWN = 100  # schema errors listed one by one; past that, counted


@dataclass(frozen=True)
class Finding:
    check: str  # xsd, numbering, dates, signature, atcud, totals, references, arithmetic, rates
    where: str  # a document's number, a table, or "file"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "where": self.where, "message": self.message}


@dataclass
class Report:
    file: str
    documents: dict[str, int] = field(default_factory=dict)
    series: int = 0
    signatures_verified: int = 0
    not_verifiable: list[str] = field(default_factory=list)
    # receipts with ATCUD 0 that pay documents not in the file: under VAT OSS or not, it does not say
    atcud_not_verifiable: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    xsd_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ok": self.ok,
            "documents": self.documents,
            "series": self.series,
            "signatures": {"verified": self.signatures_verified, "not_verifiable": self.not_verifiable},
            "atcud": {"not_verifiable": self.atcud_not_verifiable},
            "xsd_errors": self.xsd_errors,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(slots=True)
class Entry:
    """What the checks need of one document."""

    number: int
    text: str  # the full number, "FT 2025A/3"
    date: str
    entry: str  # SystemEntryDate
    gross: str | None
    hash: str | None
    status: str
    atcud: str | None
    foreign: bool | None  # every line's tax is another country's (VAT OSS): no ATCUD; None: not known
    paid: tuple[str, ...] = ()  # a receipt's: the numbers of the documents it pays


def _decimal(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)  # the schema reports it


class _Reader:
    """A file read through, telling `progress` how many bytes so far."""

    def __init__(self, raw: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self.raw, self.progress, self.done = raw, progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.done += len(chunk)
        if self.progress is not None:
            self.progress(self.done)
        return chunk


def check(
    path: Path,
    public_keys: Iterable[Any],
    *,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """The report on the SAF-T file at `path`; `public_keys` the RSA keys its documents may be
    signed with; `progress(bytes read)` as it goes."""
    keys = list(public_keys)
    report = Report(str(path))
    audit = _Audit(report)
    validator = xsd.DocumentValidator(jobs if jobs is not None else xsd.default_jobs(path.stat().st_size))
    try:
        with open(path, "rb") as raw:
            root = audit.stream(_Reader(raw, progress), validator)
        xsd_errors = validator.finish()
    except etree.XMLSyntaxError as exc:
        validator.close()
        report.findings.append(Finding("xml", "file", f"not well-formed XML: {exc}"))
        return report
    except BaseException:
        validator.close()
        raise
    if root is not None:
        xsd_errors += xsd.file_errors(root)
    report.xsd_errors = len(xsd_errors)
    schema_findings = [Finding("xsd", where, message) for where, message in xsd_errors[:XSD_SHOWN]]
    if len(xsd_errors) > XSD_SHOWN:
        schema_findings.append(Finding("xsd", "file", f"… and {len(xsd_errors) - XSD_SHOWN} more schema errors"))
    report.findings[:0] = schema_findings
    audit.finish(keys)
    return report


class _Audit:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.masters: dict[str, set[str]] = {name: set() for name in MASTER_IDS}
        self.sums: dict[str, ControlTotals] = {}
        self.declared: dict[str, dict[str, str]] = {}  # the control totals the file states, by table
        self.series: dict[tuple[str, str], list[Entry]] = defaultdict(list)

    def find(self, check: str, where: str, message: str) -> None:
        self.report.findings.append(Finding(check, where, message))

    # -- the streamed pass -------------------------------------------------------------------

    def stream(self, source: Any, validator: xsd.DocumentValidator) -> Any:
        """Reads the file through; its root, the documents taken out (None when it is not SAF-T)."""
        wanted = [Q + name for name in (*TABLES, *MASTER_IDS, *CONTROLS)]
        parsing = etree.iterparse(source, events=("end",), tag=wanted, huge_tree=True, remove_comments=True)
        for _event, node in parsing:
            parent = node.getparent()
            name = etree.QName(node).localname
            parent_name = etree.QName(parent).localname
            if name in TABLES and parent_name == TABLES[name].name:
                self.document(TABLES[name], node, validator)
                parent.remove(node)
            elif name in MASTER_IDS and parent_name == "MasterFiles":
                self.master(name, node)
            elif name in CONTROLS and parent_name in BY_TABLE:
                self.sums.setdefault(parent_name, ControlTotals())
                self.declared.setdefault(parent_name, {})[name] = (node.text or "").strip()
        root = parsing.root
        if root.tag != Q + "AuditFile":
            self.find("xsd", "file", f"not a SAF-T (PT) 1.04_01 file: its root element is {root.tag}")
            return None
        return root

    def master(self, name: str, node: Any) -> None:
        code = node.findtext(Q + MASTER_IDS[name])
        if code is not None:
            self.masters[name].add(code)

    def document(self, table: Table, node: Any, validator: xsd.DocumentValidator) -> None:
        number_text = node.findtext(Q + table.number) or ""
        validator.add(table.element, number_text or table.element, node)
        status = node.findtext(_q("DocumentStatus", table.status)) or ""
        sums = self.sums.setdefault(table.name, ControlTotals())
        sums.entries += 1
        counted = status not in LEFT_OUT[table.name]
        day = node.findtext(Q + table.date) or ""
        figures = arithmetic.Figures(table.name, node.findtext(Q + table.kind) or "", _day(day))
        regions: set[str | None] = set()
        paid: list[str] = []
        for line in node.iterfind(Q + "Line"):
            figures.line(line)
            regions.add(line.findtext(_q("Tax", "TaxCountryRegion")))
            paid.extend(e.text or "" for e in line.iterfind(_q("SourceDocumentID", "OriginatingON")))
            sums.lines += 1
            if counted:
                sums.debit += _decimal(line.findtext(Q + "DebitAmount"))
                sums.credit += _decimal(line.findtext(Q + "CreditAmount"))
                sums.quantity += _decimal(line.findtext(Q + "Quantity"))
            self.reference(number_text, "Product", line.findtext(Q + "ProductCode"))
        customer, supplier = node.findtext(Q + "CustomerID"), node.findtext(Q + "SupplierID")
        self.reference(number_text, "Customer", customer)
        self.reference(number_text, "Supplier", supplier)
        for check_name, message in figures.finish(node):
            self.find(check_name, number_text or table.element, message)
        matched = NUMBER.match(number_text)
        if matched is None:
            return  # the schema reports the number's form
        self.series[(table.name, matched.group(1))].append(
            Entry(
                number=int(matched.group(2)),
                text=number_text,
                date=day,
                entry=node.findtext(Q + "SystemEntryDate") or "",
                gross=node.findtext(_q("DocumentTotals", "GrossTotal")),
                hash=node.findtext(Q + "Hash") if table.signed else None,
                status=status,
                atcud=node.findtext(Q + "ATCUD"),
                foreign=None if table.name == "Payments" and regions <= {None} else _foreign(regions),
                paid=tuple(paid),
            )
        )

    def receipts(self) -> None:
        """A receipt without taxes in its lines is under VAT OSS when the documents it pays are:
        known when they are in the file (a document not under it is enough to say it is not)."""
        issued = {
            e.text: e.foreign for (name, _), entries in self.series.items() if name != "Payments" for e in entries
        }
        for entry in itertools.chain.from_iterable(v for (name, _), v in self.series.items() if name == "Payments"):
            if entry.foreign is None:
                known = [issued.get(paid) for paid in entry.paid]
                if not known or False in known:
                    entry.foreign = False
                elif None not in known:
                    entry.foreign = True

    def reference(self, where: str, master: str, code: str | None) -> None:
        if code is not None and code not in self.masters[master]:
            self.find("references", where, f"{MASTER_IDS[master]} {code!r} is not in MasterFiles")

    # -- after the pass ----------------------------------------------------------------------

    def finish(self, keys: list[Any]) -> None:
        self.report.documents = {
            name: sums.entries for name, sums in self.sums.items() if sums.entries or name in self.declared
        }
        self.report.series = len(self.series)
        self.receipts()
        for (table_name, prefix), entries in sorted(self.series.items()):
            entries.sort(key=lambda e: e.number)
            self.numbering(prefix, entries)
            self.atcud(prefix, entries)
            if BY_TABLE[table_name].signed:
                self.signatures(entries, keys)
        for name, sums in self.sums.items():
            self.totals(BY_TABLE[name], sums)

    def numbering(self, prefix: str, entries: list[Entry]) -> None:
        for before, after in itertools.pairwise(entries):
            if after.number == before.number:
                self.find("numbering", after.text, f"{after.text} appears more than once")
            elif after.number > before.number + 1:
                missing = (
                    str(before.number + 1)
                    if after.number == before.number + 2
                    else f"{before.number + 1} to {after.number - 1}"
                )
                self.find(
                    "numbering",
                    f"{prefix}/{missing}",
                    f"{prefix}: {missing} missing (the numbers jump from {before.number} to {after.number})",
                )
            else:
                for label, was, now in (
                    ("date", before.date, after.date),
                    ("SystemEntryDate", before.entry, after.entry),
                ):
                    if now < was:
                        self.find("dates", after.text, f"its {label} {now} is before that of {before.text} ({was})")

    def atcud(self, prefix: str, entries: list[Entry]) -> None:
        codes: set[str] = set()
        for entry in entries:
            if entry.atcud == "0" and (entry.date < ATCUD_SINCE.isoformat() or entry.foreign):
                continue  # no ATCUD: before it existed, or VAT OSS (InvoiceXpress's VAT MOSS documents)
            if entry.atcud == "0" and entry.foreign is None:
                self.report.atcud_not_verifiable.append(entry.text)  # pays documents not in the file
                continue
            matched = ATCUD.match(entry.atcud or "")
            if matched is None:
                self.find(
                    "atcud",
                    entry.text,
                    f"ATCUD {entry.atcud!r} is not <series code>-<number> (0 only before 2023, or under VAT OSS)",
                )
            elif int(matched.group(2)) != entry.number:
                self.find(
                    "atcud", entry.text, f"ATCUD {entry.atcud} does not end in the document's number ({entry.number})"
                )
            else:
                codes.add(matched.group(1))
        if len(codes) > 1:
            self.find("atcud", prefix, f"{prefix}: one series with several ATCUD codes ({', '.join(sorted(codes))})")

    def signatures(self, entries: list[Entry], keys: list[Any]) -> None:
        verified: list[bool | None] = []  # None: not verifiable here
        for index, entry in enumerate(entries):
            previous = entries[index - 1] if index else None
            if not entry.hash or entry.hash == "0":
                self.find("signature", entry.text, "not signed (Hash 0): made by a program without AT certification")
                verified.append(None)
                continue
            if entry.number == 1:
                chained_to = ""
            elif previous is not None and previous.number == entry.number - 1 and previous.hash:
                chained_to = previous.hash
            else:
                if previous is None:
                    self.report.not_verifiable.append(entry.text)  # chained to a document before the file
                verified.append(None)
                continue
            text = _message(entry, chained_to)
            ok = text is not None and any(signing.verify(key, text, entry.hash) for key in keys)
            verified.append(ok)
            self.report.signatures_verified += ok
        for index, entry in enumerate(entries):
            if verified[index] is not False:
                continue
            follower = (
                verified[index + 1]
                if index + 1 < len(entries) and entries[index + 1].number == entry.number + 1
                else None
            )
            previous_altered = index > 0 and verified[index - 1] is False
            if previous_altered and follower is not False:
                message = f"does not verify with the Hash of {entries[index - 1].text}, which was altered"
            elif follower is True:
                message = (
                    "the signature does not verify: its date, SystemEntryDate, number or GrossTotal is not what was "
                    f"signed (its Hash is confirmed by {entries[index + 1].text}, which chains to it)"
                )
            elif follower is False:
                message = (
                    "its Hash is not the one signed: neither its own signature nor that of "
                    f"{entries[index + 1].text} verifies with it"
                )
            else:
                message = (
                    "the signature does not verify: its Hash, date, SystemEntryDate, number or GrossTotal was altered"
                )
            self.find("signature", entry.text, message)

    def totals(self, table: Table, sums: ControlTotals) -> None:
        left_out = " and ".join(sorted(LEFT_OUT[table.name]))
        stated = self.declared.get(table.name, {})
        for name, value in sums.controls(table.name).items():
            declared = stated.get(name)
            if declared is None:
                continue  # the schema reports a missing total
            try:
                matches = _same_total(Decimal(declared), Decimal(value))
            except InvalidOperation:
                continue  # and one that is not a number
            if not matches:
                self.find(
                    "totals",
                    table.name,
                    f"{name} says {declared}, the documents make {Decimal(value).normalize():f} "
                    f"(documents with status {left_out} left out of sums)",
                )


def _same_total(declared: Decimal, computed: Decimal) -> bool:
    """The sum, or the sum rounded (half up) to the declared total's decimals when it has at
    least two: AT's demo file gives TotalQuantityIssued 3295.92 for lines adding up to 3295.922006."""
    if declared == computed:
        return True
    exponent = declared.as_tuple().exponent
    return (
        isinstance(exponent, int)
        and exponent <= -2
        and computed.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP) == declared
    )


def _foreign(regions: set[str | None]) -> bool:
    """Whether lines taxed in these regions are under VAT OSS: every one in another country."""
    return bool(regions) and not regions & PORTUGAL and None not in regions


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None  # the schema reports it


def _message(entry: Entry, previous_hash: str) -> str | None:
    """What the document's signature signs, from what the file says of it."""
    try:
        return signing.message(
            date.fromisoformat(entry.date), entry.entry, entry.text, Decimal(entry.gross or "0"), previous_hash
        )
    except (ValueError, InvalidOperation):
        return None  # the schema reports the field
