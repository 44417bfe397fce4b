"""The AT QR code's payload (Portaria 195/2020; pt-compliance §4).

Fields `CODE:value` joined with `*`, always in the table's order: A–H identify the issuer,
customer and document; I, J, K are up to three fiscal spaces (region, exempt base, and base and
VAT at the reduced, intermediate and normal rates); L not subject, M stamp duty, N total taxes,
O gross total, P withholding, Q the four hash characters, R the certificate number, S other
information. Money with exactly two decimals, a point, no thousands separator. Mandatory fields
are always written; optional ones only when there is something to say (never empty or zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ixserver.domain import numbering, states
from ixserver.domain.clients import FINAL_CONSUMER_NIF
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.euros import euro_totals
from ixserver.domain.money import to_cents
from ixserver.domain.reference import country_code
from ixserver.domain.signing import printed_characters
from ixserver.domain.taxes import reported_code

# The most characters each field may hold (AT's table).
MAX_LENGTH = {"A": 9, "B": 30, "C": 12, "D": 2, "E": 1, "F": 8, "G": 60, "H": 70, "L": 16, "M": 16, "N": 16, "O": 16,
              "P": 16, "Q": 4, "R": 4, "S": 65,
              **{f"{s}{n}": (5 if n == 1 else 16) for s in "IJK" for n in range(1, 9)}}  # fmt: skip
MIN_VERSION = 9  # the smallest symbol AT accepts (error level M, byte mode)
MANDATORY = ("A", "B", "C", "D", "E", "F", "G", "H", "I1", "N", "O", "Q", "R")
SPACES = "IJK"
NO_VAT_SPACE = "0"  # I1:0 — a document of SAF-T tables 4.2–4.4 without any VAT rate


@dataclass(frozen=True)
class FiscalSpace:
    """One fiscal space (I, J or K): its region and what it taxes, in the document's amounts."""

    region: str  # PT, PT-AC, PT-MA, an ISO country (FR), or "0"
    exempt: Decimal | None = None  # base of exempt lines (0 %)
    reduced: tuple[Decimal, Decimal] | None = None  # (base, VAT)
    intermediate: tuple[Decimal, Decimal] | None = None
    normal: tuple[Decimal, Decimal] | None = None


@dataclass(frozen=True)
class QrFields:
    issuer_nif: str  # A
    customer_nif: str  # B: 999999990 for a final consumer
    customer_country: str  # C: as SAF-T Customer/Country (PT, FR… or Desconhecido)
    doc_type: str  # D: the SAF-T code (FT, FR, RG…)
    status: str  # E: the SAF-T status (N, A…)
    date: date  # F
    number: str  # G: "FT 2025A/1"
    atcud: str  # H
    spaces: tuple[FiscalSpace, ...]  # I, J, K: one to three
    taxes: Decimal  # N
    total: Decimal  # O
    hash4: str  # Q: the printed hash characters; "0" for an unsigned receipt
    certificate: str  # R
    not_subject: Decimal | None = None  # L
    stamp_duty: Decimal | None = None  # M
    withholding: Decimal | None = None  # P
    other: str | None = None  # S


def _money(value: Decimal) -> str:
    return f"{to_cents(value):.2f}"


def _space_fields(letter: str, space: FiscalSpace) -> list[tuple[str, str]]:
    found = [(f"{letter}1", space.region)]
    if space.exempt:
        found.append((f"{letter}2", _money(space.exempt)))
    for n, pair in ((3, space.reduced), (5, space.intermediate), (7, space.normal)):
        if pair is not None and (pair[0] or pair[1]):
            found += [(f"{letter}{n}", _money(pair[0])), (f"{letter}{n + 1}", _money(pair[1]))]
    return found


def fields(data: QrFields) -> list[tuple[str, str]]:
    """The payload's fields, in order."""
    if not 1 <= len(data.spaces) <= len(SPACES):
        raise ValueError("a QR code has one to three fiscal spaces")
    found = [
        ("A", data.issuer_nif),
        ("B", data.customer_nif),
        ("C", data.customer_country),
        ("D", data.doc_type),
        ("E", data.status),
        ("F", data.date.strftime("%Y%m%d")),
        ("G", data.number),
        ("H", data.atcud),
    ]
    for letter, space in zip(SPACES, data.spaces, strict=False):
        found += _space_fields(letter, space)
    for code, amount in (("L", data.not_subject), ("M", data.stamp_duty)):
        if amount:
            found.append((code, _money(amount)))
    found += [("N", _money(data.taxes)), ("O", _money(data.total))]
    if data.withholding:
        found.append(("P", _money(data.withholding)))
    found += [("Q", data.hash4), ("R", data.certificate)]
    if data.other:
        found.append(("S", data.other))
    for code, value in found:
        if not value or len(value) > MAX_LENGTH[code] or "*" in value:
            raise ValueError(f"QR field {code} {value!r}: empty, longer than {MAX_LENGTH[code]} or with '*'")
    return found


def payload(data: QrFields) -> str:
    return "*".join(f"{code}:{value}" for code, value in fields(data))


def parse(text: str) -> list[tuple[str, str]]:
    """A payload's fields, in order (to read a decoded symbol back)."""
    return [(code, value) for code, _, value in (part.partition(":") for part in text.split("*"))]


# -- a document's QR fields ----------------------------------------------------------------

UNSIGNED = "0"  # Q of a receipt, which is not signed (the libraries' convention; AT's table is silent)
_SLOT = {"RED": "reduced", "INT": "intermediate", "NOR": "normal"}
NOT_SUBJECT_CODES = ("NS", "OUT")  # L: not subject or not taxable in VAT


def document_fields(document: Document, issuer_nif: str, certificate: int) -> QrFields:
    """The QR fields of an issued document (pt-compliance §4.2): its SAF-T type and status,
    number and ATCUD, and its bases and VAT per fiscal space and rate, in euros as its SAF-T
    record has them (domain/euros.py: each rate's base is what its lines add up to)."""
    kind = BY_KEY[document.doc_type]
    if document.number is None or document.serie is None or kind.saft_code is None:
        raise ValueError("only an issued document of a SAF-T type has a QR code")
    euros = euro_totals(document)
    rates = euros.rates
    where = {
        line.tax_value: (line.tax_region, reported_code(line.tax_region, line.tax_value, line.tax_code))
        for line in reversed(document.lines)
    }
    spaces: dict[str, dict[str, Any]] = {}
    not_subject = Decimal(0)
    for rate in rates:
        region, code = where[rate.rate]
        if code in NOT_SUBJECT_CODES:
            not_subject += rate.base
            continue
        space = spaces.setdefault(region, {})
        if code == "ISE" or rate.rate == 0:
            space["exempt"] = space.get("exempt", Decimal(0)) + rate.base
        else:
            slot = _SLOT.get(code, "normal")
            base, vat = space.get(slot, (Decimal(0), Decimal(0)))
            space[slot] = (base + rate.base, vat + rate.tax)
    found = tuple(
        FiscalSpace(region, **amounts)
        for region, amounts in spaces.items()
        if any(_nonzero(v) for v in amounts.values())
    )
    client = document.client
    return QrFields(
        issuer_nif=issuer_nif,
        customer_nif=(client.get("fiscal_id") or "").strip() or FINAL_CONSUMER_NIF,
        customer_country=country_code(client.get("country")),
        doc_type=kind.saft_code,
        status="A" if document.status == states.CANCELED else "N",
        date=document.date,
        number=numbering.document_number(kind, document.serie, document.number),
        atcud=numbering.reported_atcud(document.atcud),
        spaces=found or (FiscalSpace(NO_VAT_SPACE),),
        taxes=euros.taxes,
        total=euros.total,
        hash4=printed_characters(document.signature) if document.signature else UNSIGNED,
        certificate=str(certificate),
        not_subject=not_subject or None,
        withholding=euros.retention or None,
    )


def _nonzero(value: Decimal | tuple[Decimal, Decimal]) -> bool:
    return any(value) if isinstance(value, tuple) else bool(value)
