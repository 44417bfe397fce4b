from __future__ import annotations

import secrets

import pytest

from ixserver.services.accounts import create_account
from ixserver.store.db import Database
from ixserver.store.migrate import upgrade
from ixserver.store.sequences import fetch_sequences
from tests.store.scratch import scratch
from tests.support import resources_for_tests, write


@pytest.fixture
def db(database_url: str) -> Database:
    """The session's database, migrated, with the scratch tables of these tests."""
    upgrade(database_url)
    database = Database(database_url)
    scratch.create_all(database.write_engine)
    return database


def invoice_counter(db: Database) -> int:
    """The invoice counter of a brand-new account's default series."""
    account, _key = write(db, create_account, f"c{secrets.token_hex(5)}", resources_for_tests())
    with db.read() as conn:
        return fetch_sequences(conn, account.id)[0].subs["invoice"].id
