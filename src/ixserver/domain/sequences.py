"""Series ("sequences") and their per-type counters (api-v2 §8, pt-compliance §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ixserver.domain.doctypes import BY_KEY, DocType
from ixserver.domain.errors import SequenceNameNotAllowed

# pt-compliance §2.3: AT takes at most 35 characters; the SAF-T number pattern forbids space,
# "/" and "^"; the Despacho forbids anything that could break the XML. This whitelist is a
# strict subset of what all of them allow.
SERIE_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,35}")

NOT_REGISTERED = "N/D"  # relevant for ATCUD, not (yet) registered with AT
NOT_APPLICABLE = "N/A"  # not relevant for ATCUD
NORMAL, TRAINING = "N", "F"  # tipoSerie (pt-compliance §2.2); R, recovery, is not used
# Despacho 8632/2014 §1.5: what a document of a training series shows wherever it is shown.
TRAINING_MENTION = "Documento emitido para fins de formação"
# AT's validation codes: at least 8 characters (Portaria 195/2020 art. 3); the web service
# types them as exactly 8. Letters and digits.
VALIDATION_CODE = re.compile(r"[A-Z0-9]{8,16}")


def validate_serie(value: str) -> str:
    if not SERIE_PATTERN.fullmatch(value):
        raise SequenceNameNotAllowed()
    return value


@dataclass(frozen=True)
class SubSequence:
    id: int
    doc_type: str
    current_number: int
    registered_code: str | None
    series_type: str | None = None  # set when registered

    @property
    def type(self) -> DocType:
        return BY_KEY[self.doc_type]

    @property
    def validation_code(self) -> str:
        """What `current_<type>_validation_code` shows."""
        if self.registered_code:
            return self.registered_code
        return NOT_REGISTERED if self.type.atcud else NOT_APPLICABLE

    @property
    def needs_registration(self) -> bool:
        return self.type.atcud and not self.registered_code

    @property
    def training(self) -> bool:
        return self.series_type == TRAINING


@dataclass(frozen=True)
class Sequence:
    id: int
    serie: str
    is_default: bool
    subs: dict[str, SubSequence]  # by doc_type key
