"""What a process lends to the use cases it runs, beside the database connection: the key that
signs documents, the vault of secrets at rest, the AT adapter, and the seal's key. One typed registry, built
from the settings by each process that needs it (a server process, the writer process) and
passed explicitly: nothing of it travels between processes."""

from __future__ import annotations

from dataclasses import dataclass

from ixserver.at import ATAdapter, make_adapter
from ixserver.config import Settings
from ixserver.pdf_signing import load_pdf_certificate
from ixserver.render.children import Renderers
from ixserver.signing_key import Signer, load_signer
from ixserver.vault import Vault


@dataclass(frozen=True)
class Resources:
    signer: Signer
    vault: Vault
    at: ATAdapter
    seal_key: bytes  # MACs ixserver's seal (domain/seal.py); derived from the secret key
    account_clocks: bool = False  # accounts may have clocks of their own (sandbox): the writer reads them

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        vault = Vault.from_settings(settings)
        return cls(
            signer=load_signer(settings),
            vault=vault,
            at=make_adapter(settings.resolved_at_adapter, delay=settings.at_simulator_delay),
            seal_key=vault.derive("seal"),
            account_clocks=settings.sandbox,
        )


def renderers_for(settings: Settings) -> Renderers:
    """The child processes that draw a process's PDFs (its API's and its job workers'), bounded
    as the settings say, and sign them with the settings' certificate (pdf_signing.py); none is
    started before the first PDF."""
    return Renderers(
        settings.render_workers,
        settings.render_timeout_seconds,
        settings.render_memory_mb,
        load_pdf_certificate(settings),
    )
