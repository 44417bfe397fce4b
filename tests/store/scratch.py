"""A table that stands in for the numbered documents of the finalization issue: a number is
written in the same transaction that allocated it, under a unique (sub-sequence, number) key."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, MetaData, PrimaryKeyConstraint, String, Table

from ixserver.store.types import Id, Money, UtcDateTime

scratch = MetaData()
allocations = Table(
    "test_allocations",
    scratch,
    Column("sub_sequence_id", BigInteger, nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("pid", BigInteger, nullable=False),
    PrimaryKeyConstraint("sub_sequence_id", "number"),
)

# Every kind of value the store converts (for the prepared statements' tests).
values = Table(
    "test_values",
    scratch,
    Column("id", Id, primary_key=True),
    Column("label", String(20), nullable=False, unique=True),
    Column("amount", Money),
    Column("at", UtcDateTime),
    Column("day", Date),
    Column("flag", Boolean, nullable=False),
)
