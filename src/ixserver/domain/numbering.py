"""How a numbered document is named (api-v2 §8.2, pt-compliance §1.3 and §2)."""

from __future__ import annotations

from ixserver.domain.doctypes import DocType
from ixserver.domain.sequences import NOT_APPLICABLE, NOT_REGISTERED

DRAFT_NUMBER = "rascunho"  # what InvoiceXpress shows as the number of a draft


def sequence_number(number: int, serie: str) -> str:
    return f"{number}/{serie}"


def inverted_sequence_number(number: int, serie: str) -> str:
    return f"{serie}/{number}"


def document_number(doc_type: DocType, serie: str, number: int) -> str:
    """The legal number, as signed and exported: "FT 2026/1"."""
    return f"{doc_type.internal_code} {serie}/{number}"


def atcud(doc_type: DocType, validation_code: str | None, number: int) -> str:
    """ "CODE-n"; "N/D" when the series is not registered with AT; "N/A" when the type does
    not take an ATCUD."""
    if not doc_type.atcud:
        return NOT_APPLICABLE
    if not validation_code:
        return NOT_REGISTERED
    return f"{validation_code}-{number}"


def atcud_is_valid(doc_type: DocType, value: str, number: int) -> bool:
    """What an issued document's ATCUD may be: "CODE-n" for its own number, "N/D" (series not
    registered when it was issued) for relevant types, "N/A" for the others."""
    if not doc_type.atcud:
        return value == NOT_APPLICABLE
    suffix = f"-{number}"
    return value == NOT_REGISTERED or (value.endswith(suffix) and len(value) > len(suffix))


def reported_atcud(value: str | None) -> str:
    """An issued document's ATCUD as AT reads it (SAF-T `ATCUD`, QR field H): "0" where there is
    none (a type ATCUD does not apply to, "N/A"; AT's demo file, before ATCUD existed)."""
    return value if value and value != NOT_APPLICABLE else "0"
