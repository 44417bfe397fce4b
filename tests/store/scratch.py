"""A table that stands in for the numbered documents of the finalization issue: a number is
written in the same transaction that allocated it, under a unique (sub-sequence, number) key."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, PrimaryKeyConstraint, Table

scratch = MetaData()
allocations = Table(
    "test_allocations",
    scratch,
    Column("sub_sequence_id", BigInteger, nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("pid", BigInteger, nullable=False),
    PrimaryKeyConstraint("sub_sequence_id", "number"),
)
