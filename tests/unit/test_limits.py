"""The input limits (domain/limits.py and the text limits of the API's parsers) against what the
store can hold: a value the API accepts is stored alike on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import String, Table, Text

from ixserver.api import accounts as account_api
from ixserver.api import clients as client_api
from ixserver.domain import limits
from ixserver.store import tables


def _capacity(table: Table, column: str) -> int | None:
    """Characters the column holds; None: any (TEXT)."""
    kind = table.c[column].type
    if isinstance(kind, Text):
        return None
    assert isinstance(kind, String), f"{table.name}.{column} is not text"
    return kind.length


@pytest.mark.parametrize(
    ("fields", "text_limits", "table"),
    [
        (client_api.TEXT_FIELDS, client_api.TEXT_LIMITS, tables.clients),
        (tuple(column for _wire, column in client_api.CONTACT_FIELDS), client_api.TEXT_LIMITS, tables.clients),
        (tuple(f for f in account_api.TEXT if f in tables.accounts.c), account_api.TEXT_LIMITS, tables.accounts),
    ],
    ids=["clients", "client-contacts", "accounts"],
)
def test_every_text_the_api_accepts_fits_its_column(fields: tuple[str, ...], text_limits: dict, table: Table) -> None:
    for field in fields:
        accepted = text_limits.get(field, limits.TEXT)
        capacity = _capacity(table, field)
        assert capacity is None or accepted <= capacity, f"{table.name}.{field}: accepts {accepted}, holds {capacity}"


def test_the_largest_amounts_fit_numeric_24_10() -> None:
    """PostgreSQL keeps Money as NUMERIC(24,10): 14 digits before the point, 10 after."""
    precision, scale = tables.document_lines.c.total.type.load_dialect_impl(_postgresql()).precision, 10
    assert limits.MAX_AMOUNT < Decimal(10) ** (precision - scale)
    assert limits.AMOUNT_PLACES <= scale and limits.EXCHANGE_RATE_PLACES <= scale


def _postgresql():  # type: ignore[no-untyped-def]
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e400", ["Rate must be at least 0.000001 and at most 1000000"]),
        ("1e-30", ["Rate must be at least 0.000001 and at most 1000000"]),
        ("0.000001", []),
        ("1000000", []),
        ("1.23456789012", ["Rate can have at most 10 decimal places"]),
        ("1.2300000000000", []),
    ],
)
def test_exchange_rate_range(value: str, expected: list[str]) -> None:
    rate = Decimal(value)
    problems = limits.number_problems(
        rate, "Rate", low=limits.MIN_EXCHANGE_RATE, high=limits.MAX_EXCHANGE_RATE, places=limits.EXCHANGE_RATE_PLACES
    )
    assert problems == expected
