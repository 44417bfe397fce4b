"""The signing key's public half, registered by version."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ixserver import clock
from ixserver.resources import Resources
from ixserver.store import signing_keys as store
from ixserver.writes.use_cases import of_no_account


class KeyVersionConflict(RuntimeError):
    pass


@of_no_account
def register_signing_key(conn: Connection, resources: Resources) -> None:
    """Record the public key of the signer's version; refuse a different key under a version in
    use. Several instances may start at once: when another one registered it first, what it
    registered is compared instead."""
    version, public_pem = resources.signer.version, resources.signer.public_pem
    known = store.public_key(conn, version)
    if known is None:
        try:
            with conn.begin_nested():
                store.insert_public_key(conn, version, public_pem, clock.now())
            return
        except IntegrityError:
            known = store.public_key(conn, version)
    if known is not None and known.strip() != public_pem.strip():
        raise KeyVersionConflict(
            f"signing key version {version} is registered with another key: a new key needs a new "
            "IXSERVER_SIGNING_KEY_VERSION (documents already signed keep verifying with the old one)"
        )
