"""The document signature against AT's published vectors (pt-compliance §3.3)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from ixserver.domain import signing
from ixserver.domain.errors import ClockBehind, Unavailable, ValidationFailed
from tests.support import data_file

PRIVATE = load_pem_private_key(data_file("at-sample-keys/at-sample-private-key.pem").read_bytes(), None)
PUBLIC = load_pem_public_key(data_file("at-sample-keys/at-sample-public-key.pem").read_bytes())
CHAIN = json.loads(data_file("hash-chain-vectors.json").read_text())["vectors"]
WORKED = json.loads(data_file("hash-worked-example.json").read_text())["vectors"]


def test_there_are_all_the_vectors() -> None:
    assert len(CHAIN) == 35 and len(WORKED) == 3


@pytest.mark.parametrize("vector", CHAIN + WORKED, ids=lambda v: v.get("doc_no") or v["message"][:34])
def test_signing_reproduces_each_vector_byte_for_byte(vector: dict) -> None:
    signature = signing.sign(PRIVATE, vector["message"])  # type: ignore[arg-type]
    assert signature == vector["hash"]
    assert len(signature) == 172
    assert signing.verify(PUBLIC, vector["message"], signature)  # type: ignore[arg-type]
    assert signing.printed_characters(signature) == vector.get("printed_4_chars", vector.get("printed"))


@pytest.mark.parametrize("vector", CHAIN, ids=lambda v: v["doc_no"])
def test_the_message_is_built_from_the_fields(vector: dict) -> None:
    built = signing.message(
        date.fromisoformat(vector["doc_date"]),
        vector["system_entry_date"],
        vector["doc_no"],
        Decimal(vector["gross_total"]),
        vector["previous_hash"],
    )
    assert built == vector["message"]


def test_chains_link_each_document_to_the_previous_one() -> None:
    by_chain: dict[str, list[dict]] = {}
    for vector in CHAIN:
        by_chain.setdefault(vector["chain"], []).append(vector)
    for vectors in by_chain.values():
        assert vectors[0]["previous_hash"] == ""
        for previous, current in zip(vectors, vectors[1:], strict=False):
            assert current["previous_hash"] == previous["hash"]


def test_a_changed_message_does_not_verify() -> None:
    vector = WORKED[0]
    assert not signing.verify(PUBLIC, vector["message"].replace("56.73", "56.74"), vector["hash"])  # type: ignore[arg-type]
    assert not signing.verify(PUBLIC, vector["message"], "not base64!")  # type: ignore[arg-type]


def test_gross_total_has_exactly_two_decimals() -> None:
    assert signing.message(date(2025, 3, 14), "2025-03-14T10:15:30", "FT 2025A/1", Decimal("56.7"), "") == (
        "2025-03-14;2025-03-14T10:15:30;FT 2025A/1;56.70;"
    )


# SystemEntryDate is the signing moment: never before the last one of any series (Despacho
# 8632/2014 §3.4.3), never ahead of the moment the document is signed.
NEXT_ENTRY = [
    pytest.param("2026-03-10T10:00:05", None, "2026-03-10T10:00:05", id="first-document"),
    pytest.param("2026-03-10T10:00:05", "2026-03-10T10:00:00", "2026-03-10T10:00:05", id="clock-ahead"),
    pytest.param("2026-03-10T10:00:00", "2026-03-10T10:00:00", "2026-03-10T10:00:00", id="same-second"),
    pytest.param("2026-03-10T00:00:00", "2026-03-09T23:59:59", "2026-03-10T00:00:00", id="past-midnight"),
]


@pytest.mark.parametrize(("now", "latest", "expected"), NEXT_ENTRY)
def test_next_entry_is_the_signing_moment(now: str, latest: str | None, expected: str) -> None:
    assert signing.next_entry(datetime.strptime(now, signing.ENTRY_FORMAT), latest) == expected


# A clock a little behind the last entry: repeat when it has caught up, never stamp ahead.
CLOCK_BEHIND = [
    pytest.param("2026-03-10T09:59:59", "2026-03-10T10:00:00", 1, id="a-second"),
    pytest.param("2026-03-10T09:59:55", "2026-03-10T10:00:00", 5, id="five-seconds"),
    pytest.param("2026-03-09T23:59:58", "2026-03-10T00:00:01", 3, id="across-midnight"),
    pytest.param("2026-03-10T09:59:00", "2026-03-10T10:00:00", 60, id="a-whole-minute"),
]


@pytest.mark.parametrize(("now", "latest", "seconds"), CLOCK_BEHIND)
def test_a_clock_a_little_behind_issues_nothing_and_says_when_to_repeat(now: str, latest: str, seconds: int) -> None:
    with pytest.raises(ClockBehind) as refused:
        signing.next_entry(datetime.strptime(now, signing.ENTRY_FORMAT), latest)
    assert refused.value.retry_after == seconds
    assert refused.value.message == (
        f"The server's clock ({now}) is {seconds} s behind the last document issued ({latest}): retry in {seconds} s"
    )
    assert isinstance(refused.value, Unavailable), "a passing fault: 503"
    # once the clock has gone on by that many seconds, the document takes the signing moment
    caught_up = datetime.strptime(now, signing.ENTRY_FORMAT) + timedelta(seconds=seconds)
    assert signing.next_entry(caught_up, latest) == latest


def test_a_clock_far_behind_the_last_document_issues_nothing() -> None:
    with pytest.raises(ValidationFailed, match=r"behind the last document issued \(2026-03-10T10:00:00\)"):
        signing.next_entry(datetime(2026, 3, 10, 9, 58, 59), "2026-03-10T10:00:00")
