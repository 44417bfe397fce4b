"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# INTEGER PRIMARY KEY is SQLite's rowid (auto-increment); BIGINT elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UtcDateTime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]": parsed directly (no wrapper).
        def process(value: str | None) -> datetime | None:
            return None if value is None else _utc(datetime.fromisoformat(value))

        return process


def _utc(value: datetime) -> datetime:
    """A stored datetime as aware UTC (SQLite keeps them naive, in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Exact decimals: canonical TEXT on SQLite (whose NUMERIC is a float), NUMERIC on PostgreSQL."""

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(24, 10, asdecimal=True))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _money_text(value)
        return None if value is None else _checked(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return value if value is None or isinstance(value, Decimal) else _decimal(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # The same conversion without TypeDecorator's wrapper: list pages convert hundreds.
        if dialect.name == "sqlite":
            return _decimal
        return super().result_processor(dialect, coltype)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _money_text
        return super().bind_processor(dialect)


def _checked(value: Any) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"Money column takes Decimal, not {type(value).__name__}")
    return value


def _money_text(value: Decimal | None) -> str | None:
    """An amount as SQLite keeps it: the Decimal's exact digits as text."""
    return None if value is None else format(_checked(value), "f")


# SQLite hands amounts back as the text they were stored as. Amounts recur (prices,
# quantities, rates, the totals of similar documents): one shared, immutable Decimal per text,
# whose hash is then computed once, which the memoized renderers of web/wire.py look up by.
@lru_cache(maxsize=16384)
def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
