"""Series: list, get, create, set the default, register with AT (api-v2 §8)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.at import ATCredentials, SeriesRegistration, Taxpayer
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.errors import (
    AccountNotFound,
    SequenceAlreadyExists,
    SequenceBeingRegistered,
    SequenceNotFound,
)
from ixserver.domain.sequences import Sequence, SubSequence, validate_serie
from ixserver.resources import Resources
from ixserver.store import accounts as account_store
from ixserver.store import sequences as store
from ixserver.store.accounts import AccountRow
from ixserver.vault import Vault
from ixserver.writes import Writes

# A registration that has not finished after this long is considered abandoned (a crash
# between asking AT and storing its answer) and may be started again.
REGISTRATION_LEASE = timedelta(minutes=2)


def list_sequences(conn: Connection, account_id: int) -> list[Sequence]:
    return store.fetch_sequences(conn, account_id)


def get_sequence(conn: Connection, account_id: int, sequence_id: int) -> Sequence:
    found = store.fetch_sequences(conn, account_id, sequence_id)
    if not found:
        raise SequenceNotFound()
    return found[0]


def create_default_sequence(conn: Connection, account_id: int) -> Sequence:
    serie = str(clock.today().year)
    sequence_id = store.insert_sequence(conn, account_id=account_id, serie=serie, is_default=True, now=clock.now())
    return get_sequence(conn, account_id, sequence_id)


def create_sequence(conn: Connection, account_id: int, serie: str, make_default: bool) -> Sequence:
    validate_serie(serie)
    if store.serie_exists(conn, account_id, serie):
        raise SequenceAlreadyExists()
    sequence_id = store.insert_sequence(conn, account_id=account_id, serie=serie, is_default=False, now=clock.now())
    if make_default:
        store.make_default(conn, account_id, sequence_id)
    return get_sequence(conn, account_id, sequence_id)


def set_current(conn: Connection, account_id: int, sequence_id: int) -> Sequence:
    get_sequence(conn, account_id, sequence_id)  # 404 for unknown or foreign ids
    store.make_default(conn, account_id, sequence_id)
    return get_sequence(conn, account_id, sequence_id)


def delete_all(conn: Connection, account_id: int) -> None:
    store.delete_account_sequences(conn, account_id)


# -- registration with AT: three steps, so that AT is never called inside a transaction --


def taxpayer_of(account: AccountRow, vault: Vault) -> Taxpayer:
    """What AT knows the account as, with its stored credentials when it has them."""
    credentials = None
    if account.at_subuser and account.at_password_encrypted:
        credentials = ATCredentials(account.at_subuser, vault.decrypt(account.at_password_encrypted))
    return Taxpayer(account.fiscal_id, account.tax_country, credentials)


def begin_registration(
    conn: Connection, account_id: int, sequence_id: int, now: datetime
) -> tuple[Sequence, list[SubSequence], AccountRow] | None:
    """Take the registration lease. None when every relevant type is registered already."""
    sequence = get_sequence(conn, account_id, sequence_id)
    since = store.registering_since(conn, sequence_id)
    if since is not None and now - since < REGISTRATION_LEASE:
        raise SequenceBeingRegistered()
    pending = [sub for sub in sequence.subs.values() if sub.needs_registration]
    if not pending:
        return None
    account = account_store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    store.set_registering(conn, sequence_id, now)
    return sequence, pending, account


def finish_registration(conn: Connection, sequence_id: int, codes: dict[int, str]) -> None:
    store.store_validation_codes(conn, codes, clock.now())
    store.set_registering(conn, sequence_id, None)


def abandon_registration(conn: Connection, sequence_id: int) -> None:
    store.set_registering(conn, sequence_id, None)


async def register(writes: Writes, resources: Resources, account_id: int, sequence_id: int) -> None:
    """Register every ATCUD-relevant type of the series that is not registered yet.
    Idempotent: a fully registered series is left as it is. Two short writes around the call
    to AT, which runs in a thread of its own while no transaction is open."""
    started = await writes.run(begin_registration, account_id, sequence_id, clock.now())
    if started is None:
        return
    sequence, pending, account = started
    requests = [
        SeriesRegistration(
            serie=sequence.serie,
            doc_class=BY_KEY[sub.doc_type].saft_class or "",
            doc_code=BY_KEY[sub.doc_type].saft_code or "",
            first_number=sub.current_number + 1,
            expected_start=clock.today(),
        )
        for sub in pending
    ]
    try:
        codes = await asyncio.to_thread(
            resources.at.register_series, taxpayer_of(account, resources.vault), requests
        )
    except BaseException:
        await writes.run(abandon_registration, sequence_id)
        raise
    await writes.run(finish_registration, sequence_id, {sub.id: code for sub, code in zip(pending, codes, strict=True)})
