"""What one app instance owns: settings, database, writer (thread, or the connection to the writer
process), AT adapter, caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from ixserver.api.cache import ReadCache
from ixserver.api.ratelimit import RateLimiter
from ixserver.at import ATAdapter
from ixserver.config import Settings
from ixserver.keys import Signer
from ixserver.services.accounts import AccountRef
from ixserver.services.keys import register_signing_key
from ixserver.store.db import Database
from ixserver.store.documents import fold_count_changes
from ixserver.store.migrate import require_current
from ixserver.store.writer import Writer
from ixserver.vault import Vault
from ixserver.writer_process import RemoteWriter, services


@dataclass
class AppContext:
    settings: Settings
    db: Database
    writer: Writer | RemoteWriter
    at: ATAdapter
    limiter: RateLimiter | None
    cache: ReadCache
    vault: Vault
    signer: Signer
    # (account id, proprietary_uid) of document creations under way in this process
    in_flight: set[tuple[int, str]] = field(default_factory=set)
    ready: bool = field(default=False)

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        db = Database(settings.resolved_database_url)
        shared = services(settings)
        writer: Writer | RemoteWriter
        if settings.writer_socket:
            writer = RemoteWriter(settings.writer_socket, shared)
        else:
            writer = Writer(db, batch_max=settings.writer_batch_max, housekeeping=fold_count_changes)
        return cls(
            settings=settings,
            db=db,
            writer=writer,
            at=shared["at"],
            limiter=RateLimiter(settings.rate_limit) if settings.rate_limit > 0 else None,
            cache=ReadCache(db, enabled=settings.read_cache),
            vault=shared["vault"],
            signer=shared["signer"],
        )

    def start(self) -> None:
        require_current(self.db)
        self.db.run_sync(register_signing_key, self.signer.version, self.signer.public_pem)
        self.writer.start()
        self.ready = True

    def stop(self) -> None:
        self.ready = False
        self.writer.stop()
        self.db.dispose()


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def account(request: Request) -> AccountRef:
    ref: AccountRef = request.state.account
    return ref
