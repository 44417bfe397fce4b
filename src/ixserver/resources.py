"""What a process lends to the use cases it runs, beside the database connection: the key that
signs documents, the vault of secrets at rest, and the AT adapter. One typed registry, built
from the settings by each process that needs it (a server process, the writer process) and
passed explicitly: nothing of it travels between processes."""

from __future__ import annotations

from dataclasses import dataclass

from ixserver.at import ATAdapter, make_adapter
from ixserver.config import Settings
from ixserver.keys import Signer, load_signer
from ixserver.vault import Vault


@dataclass(frozen=True)
class Resources:
    signer: Signer
    vault: Vault
    at: ATAdapter

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        return cls(
            signer=load_signer(settings),
            vault=Vault.from_settings(settings),
            at=make_adapter(settings.resolved_at_adapter, delay=settings.at_simulator_delay),
        )
