"""Series: list, get, create, set the default, register with AT (api-v2 §8)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection
from stdnum.pt import nif

from ixserver import clock
from ixserver.at import ATCredentials, SeriesRegistration, Taxpayer
from ixserver.domain.accounts import Account
from ixserver.domain.doctypes import BY_KEY, DOC_TYPES
from ixserver.domain.errors import (
    AccountNotFound,
    AccountNotPortuguese,
    NoOpenActivity,
    SequenceAlreadyExists,
    SequenceBeingRegistered,
    SequenceNotFound,
    SeriesAlreadyRegistered,
    SeriesRegisteredByOperator,
    SeriesRegisteredElsewhere,
    ValidationFailed,
    raise_if,
)
from ixserver.domain.sequences import NORMAL, TRAINING, VALIDATION_CODE, Sequence, SubSequence, validate_serie
from ixserver.resources import Resources
from ixserver.store import accounts as account_store
from ixserver.store import counters
from ixserver.store import sequences as store
from ixserver.vault import Vault
from ixserver.writes import Writes
from ixserver.writes.use_cases import of_account

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


def create_default_sequence(conn: Connection, account_id: int, resources: Resources | None = None) -> Sequence:
    """The account's first series, named after the year; registered at once when the AT adapter
    answers at once (the sandbox's simulator)."""
    serie = str(clock.today().year)
    sequence_id = store.insert_sequence(conn, account_id=account_id, serie=serie, is_default=True, now=clock.now())
    sequence = get_sequence(conn, account_id, sequence_id)
    if resources is None or not resources.at.instant:
        return sequence
    account = _account(conn, account_id)
    pending = _pending(sequence)
    try:
        _check_taxpayer(conn, account, serie, [sub.doc_type for sub in pending], resources.at.training)
        codes = resources.at.register_series(
            taxpayer_of(account, resources.vault), _requests(serie, pending, resources)
        )
    except ValidationFailed:  # an account AT would not register (not Portuguese): it stays N/D
        return sequence
    _store_codes(conn, pending, codes, resources)
    return get_sequence(conn, account_id, sequence_id)


@of_account
def _create_sequence(
    conn: Connection, account_id: int, serie: str, make_default: bool, codes: dict[str, str] | None, series_type: str
) -> Sequence:
    """The write of `create_sequence`: the series, with the codes AT gave for its types."""
    if store.serie_exists(conn, account_id, serie):
        raise SequenceAlreadyExists()
    sequence_id = store.insert_sequence(conn, account_id=account_id, serie=serie, is_default=False, now=clock.now())
    if make_default:
        store.make_default(conn, account_id, sequence_id)
    sequence = get_sequence(conn, account_id, sequence_id)
    if codes:
        store.store_validation_codes(
            conn, {sequence.subs[key].id: code for key, code in codes.items()}, series_type, clock.now()
        )
    return get_sequence(conn, account_id, sequence_id)


@of_account
def _creation_taxpayer(conn: Connection, account_id: int, serie: str, training: bool) -> Account:
    if store.serie_exists(conn, account_id, serie):
        raise SequenceAlreadyExists()
    account = _account(conn, account_id)
    _check_taxpayer(conn, account, serie, [t.key for t in DOC_TYPES if t.atcud], training)
    return account


@of_account
def enter_validation_codes(
    conn: Connection, resources: Resources, account_id: int, serie: str, codes: dict[str, str]
) -> Sequence:
    """The validation codes AT's portal gave for `serie`, by SAF-T type code (`{"FT": "AAAA1111"}`),
    stored as AT's answer to a registration (the manual adapter's way; `ixserver series
    register`). The series is created when the account has none of that name. A type already
    registered keeps its code: entering the same code again changes nothing, another is refused."""
    validate_serie(serie)
    by_code = {t.saft_code: t for t in DOC_TYPES if t.atcud and t.saft_code}
    problems = [] if codes else ["No validation code given: FT=CODE for invoices, NC=CODE for credit notes, …"]
    for type_code, value in codes.items():
        if type_code not in by_code:
            problems.append(f"{type_code} is not a document type registered with AT (one of {', '.join(by_code)})")
        elif not VALIDATION_CODE.fullmatch(value):
            problems.append(f"{type_code}: {value} is not a validation code (8 to 16 capital letters or digits)")
    raise_if(problems)
    account = _account(conn, account_id)
    _check_taxpayer(conn, account, serie, [by_code[c].key for c in codes], resources.at.training)
    sequence_id = store.sequence_id_by_serie(conn, account_id, serie)
    if sequence_id is None:
        sequence_id = store.insert_sequence(conn, account_id=account_id, serie=serie, is_default=False, now=clock.now())
    sequence = get_sequence(conn, account_id, sequence_id)
    subs = {type_code: sequence.subs[by_code[type_code].key] for type_code in codes}
    raise_if(
        [
            f"{type_code} of {serie} is registered already, with {sub.registered_code}"
            for type_code, sub in subs.items()
            if sub.registered_code and sub.registered_code != codes[type_code]
        ]
    )
    series_type = TRAINING if resources.at.training else NORMAL
    store.store_validation_codes(conn, {sub.id: codes[c] for c, sub in subs.items()}, series_type, clock.now())
    return get_sequence(conn, account_id, sequence_id)


async def create_sequence(
    writes: Writes, resources: Resources, account_id: int, serie: str, make_default: bool
) -> Sequence:
    """POST /sequences.json creates and registers (api-v2 §8.5): AT is asked first, outside any
    transaction; the series and its codes are then stored in one write. With the manual adapter
    (production) the series is created unregistered: the operator enters AT's codes."""
    validate_serie(serie)
    training = resources.at.training
    account = await writes.run(_creation_taxpayer, account_id, serie, training)
    relevant = [t for t in DOC_TYPES if t.atcud]
    requests = [_request(serie, t.key, 1, resources) for t in relevant]
    try:
        answer = await asyncio.to_thread(resources.at.register_series, taxpayer_of(account, resources.vault), requests)
        codes: dict[str, str] | None = {t.key: code for t, code in zip(relevant, answer, strict=True)}
    except SeriesRegisteredByOperator:
        codes = None
    series_type = TRAINING if training else NORMAL
    return await writes.run(_create_sequence, account_id, serie, make_default, codes, series_type)


@of_account
def set_current(conn: Connection, account_id: int, sequence_id: int) -> Sequence:
    get_sequence(conn, account_id, sequence_id)  # 404 for unknown or foreign ids
    store.make_default(conn, account_id, sequence_id)
    return get_sequence(conn, account_id, sequence_id)


def delete_all(conn: Connection, account_id: int) -> None:
    store.delete_account_sequences(conn, account_id)
    counters.forget_chains(conn, account_id)


# -- registration with AT: three steps, so that AT is never called inside a transaction --


def taxpayer_of(account: Account, vault: Vault) -> Taxpayer:
    """What AT knows the account as, with its stored credentials when it has them."""
    credentials = None
    if account.at_subuser and account.at_password_encrypted:
        credentials = ATCredentials(account.at_subuser, vault.decrypt(account.at_password_encrypted))
    return Taxpayer(account.fiscal_id, account.tax_country, credentials)


def _account(conn: Connection, account_id: int) -> Account:
    account = account_store.account_by_id(conn, account_id)
    if account is None:
        raise AccountNotFound()
    return account


def _check_taxpayer(conn: Connection, account: Account, serie: str, doc_types: list[str], training: bool) -> None:
    """Registration needs a Portuguese account with a valid NIF; outside training, a taxpayer
    holds a series for a document type once on this server, whatever the account."""
    if account.tax_country.upper() != "PT":
        raise AccountNotPortuguese()
    fiscal_id = nif.compact(account.fiscal_id or "")
    if not nif.is_valid(fiscal_id):
        raise NoOpenActivity()
    if not training and store.registered_elsewhere(conn, account.id, fiscal_id, serie, doc_types):
        raise SeriesRegisteredElsewhere()


def _pending(sequence: Sequence) -> list[SubSequence]:
    return [sub for sub in sequence.subs.values() if sub.needs_registration]


def _request(serie: str, doc_type: str, first_number: int, resources: Resources) -> SeriesRegistration:
    kind = BY_KEY[doc_type]
    return SeriesRegistration(
        serie=serie,
        doc_class=kind.saft_class or "",
        doc_code=kind.saft_code or "",
        first_number=first_number,
        expected_start=clock.today(),
        series_type=TRAINING if resources.at.training else NORMAL,
    )


def _requests(serie: str, pending: list[SubSequence], resources: Resources) -> list[SeriesRegistration]:
    return [_request(serie, sub.doc_type, sub.current_number + 1, resources) for sub in pending]


def _store_codes(conn: Connection, pending: list[SubSequence], codes: list[str], resources: Resources) -> None:
    series_type = TRAINING if resources.at.training else NORMAL
    store.store_validation_codes(
        conn, {sub.id: code for sub, code in zip(pending, codes, strict=True)}, series_type, clock.now()
    )


@of_account
def begin_registration(
    conn: Connection, account_id: int, sequence_id: int, now: datetime, training: bool
) -> tuple[Sequence, list[SubSequence], Account]:
    """Take the registration lease of a series with types still to register."""
    sequence = get_sequence(conn, account_id, sequence_id)
    since = store.registering_since(conn, sequence_id)
    if since is not None and now - since < REGISTRATION_LEASE:
        raise SequenceBeingRegistered()
    pending = _pending(sequence)
    if not pending:
        raise SeriesAlreadyRegistered()
    account = _account(conn, account_id)
    _check_taxpayer(conn, account, sequence.serie, [sub.doc_type for sub in pending], training)
    store.set_registering(conn, sequence_id, now)
    return sequence, pending, account


@of_account
def finish_registration(
    conn: Connection, account_id: int, sequence_id: int, codes: dict[int, str], series_type: str
) -> None:
    """(`account_id`: the writer takes the account's lock before the series' counters.)"""
    store.store_validation_codes(conn, codes, series_type, clock.now())
    store.set_registering(conn, sequence_id, None)


@of_account
def abandon_registration(conn: Connection, account_id: int, sequence_id: int) -> None:
    store.set_registering(conn, sequence_id, None)


async def register(writes: Writes, resources: Resources, account_id: int, sequence_id: int) -> None:
    """PUT /sequences/{id}/register.json: register every ATCUD-relevant type of the series not
    registered yet (409 `005` when there is none). Two short writes around the call to AT,
    which runs in a thread of its own while no transaction is open."""
    training = resources.at.training
    sequence, pending, account = await writes.run(begin_registration, account_id, sequence_id, clock.now(), training)
    try:
        codes = await asyncio.to_thread(
            resources.at.register_series,
            taxpayer_of(account, resources.vault),
            _requests(sequence.serie, pending, resources),
        )
    except BaseException:
        await writes.run(abandon_registration, account_id, sequence_id)
        raise
    series_type = TRAINING if training else NORMAL
    await writes.run(
        finish_registration,
        account_id,
        sequence_id,
        {sub.id: code for sub, code in zip(pending, codes, strict=True)},
        series_type,
    )
