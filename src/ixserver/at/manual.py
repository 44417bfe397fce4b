"""Production's adapter: the operator registers each series on AT's portal (Portal das
Finanças, "Comunicação de Séries") and enters the validation codes AT gives with
`ixserver series register ACCOUNT SERIE --code FT=… --code NC=…`. Nothing is invented: asked to
register, it refuses with the way to do it; credentials are stored as given (only AT's own
web service could check them)."""

from __future__ import annotations

from ixserver.at import SeriesRegistration, Taxpayer
from ixserver.domain.errors import SeriesRegisteredByOperator


class ManualAT:
    training = False
    instant = False

    def register_series(self, taxpayer: Taxpayer, requests: list[SeriesRegistration]) -> list[str]:
        raise SeriesRegisteredByOperator(requests[0].serie if requests else "")

    def check_credentials(self, taxpayer: Taxpayer) -> None:
        """Nothing to check them against."""

    def communicate_transport(self, taxpayer: Taxpayer, document_number: str, loaded_at: str) -> None:
        """The operator communicates the transport on AT's portal."""
        return None
