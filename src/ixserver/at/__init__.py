"""Communication with the Tax Authority (AT).

ixserver talks to AT through an adapter. The default adapter is an offline simulator that
answers like AT's series web service (`registarSerie`, pt-compliance §2.2) without leaving the
machine: deterministic 8-character validation codes, and AT's refusals for the cases it can
decide locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class ATCredentials:
    subuser: str  # "NIF/N"
    password: str


@dataclass(frozen=True)
class Taxpayer:
    fiscal_id: str | None
    tax_country: str
    credentials: ATCredentials | None = None


@dataclass(frozen=True)
class SeriesRegistration:
    """One `registarSerie` request: a series for one document type."""

    serie: str
    doc_class: str  # classeDoc: SI, MG, WD, PY
    doc_code: str  # tipoDoc: FT, FR, NC, GT, OR, RG, ...
    first_number: int  # numInicialSeq
    expected_start: date  # dataInicioPrevUtiliz
    series_type: str = "N"  # tipoSerie: N normal, F training, R recovery
    software_certificate: int = 0  # numCertSWFatur: 0, ixserver is not AT-certified
    processing_means: str = "PI"  # meioProcessamento: programa informático


class ATAdapter(Protocol):
    def register_series(self, taxpayer: Taxpayer, requests: list[SeriesRegistration]) -> list[str]:
        """Register each request; return AT's validation code for each, in order. Raises the
        domain errors of api-v2 §8.6 (InvalidATCredentials, NoOpenActivity, ...)."""
        ...

    def check_credentials(self, taxpayer: Taxpayer) -> None:
        """Accept the taxpayer's credentials or raise InvalidATCredentials."""
        ...


def make_adapter(name: str, *, delay: float = 0.0) -> ATAdapter:
    if name == "simulator":
        from ixserver.at.simulator import SimulatedAT

        return SimulatedAT(delay=delay)
    raise ValueError(f"unknown AT adapter {name!r} (available: simulator)")
