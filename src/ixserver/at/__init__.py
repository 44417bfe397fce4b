"""Communication with the Tax Authority (AT).

ixserver talks to AT through an adapter, one per mode (docs/fiscal.md, "Sandbox and production"):

- `simulator` (sandbox, the only adapter it allows): an offline stand-in for AT's series web
  service (`registarSerie`, pt-compliance §2.2) that answers at once with deterministic
  8-character validation codes. Series it registers are training series (type `F`).
- `manual` (production, the default): nothing is invented. The operator registers each series
  on AT's portal and enters the validation codes it gives (`ixserver series register`);
  `register_series` refuses, saying so.
- A third adapter, AT's series web service itself, fits the same protocol: it needs the
  software producer's TLS client certificate signed by AT and a WS-Security username token
  (`NIF/subuser`, the password encrypted with AT's public key); not built here.
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
    # Series it registers are training series (tipoSerie F), and the accounts it serves are
    # given a test NIF when they have none: the sandbox.
    training: bool
    # It answers from this machine without waiting, so it may be called inside a write
    # transaction (an account's first series is registered as the account is created).
    instant: bool

    def register_series(self, taxpayer: Taxpayer, requests: list[SeriesRegistration]) -> list[str]:
        """Register each request; return AT's validation code for each, in order. Raises the
        domain errors of api-v2 §8.6 (InvalidATCredentials, NoOpenActivity, ...)."""
        ...

    def check_credentials(self, taxpayer: Taxpayer) -> None:
        """Accept the taxpayer's credentials or raise InvalidATCredentials."""
        ...

    def communicate_transport(self, taxpayer: Taxpayer, document_number: str, loaded_at: str) -> str | None:
        """Communicate a transport document (a guide) and return the code AT gives it
        (`ATDocCodeID`); None when the operator enters it (the manual adapter)."""
        ...


def make_adapter(name: str, *, delay: float = 0.0) -> ATAdapter:
    if name == "simulator":
        from ixserver.at.simulator import SimulatedAT

        return SimulatedAT(delay=delay)
    if name == "manual":
        from ixserver.at.manual import ManualAT

        return ManualAT()
    raise ValueError(f"unknown AT adapter {name!r} (available: simulator, manual)")
