"""Small pure parts: rate limiter, log redaction, settings, wire coercions, series rules."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from ixserver.config import Settings
from ixserver.domain.doctypes import DOC_TYPES, ID_ALLOCATION_ORDER
from ixserver.domain.errors import SequenceNameNotAllowed, ValidationFailed
from ixserver.domain.sequences import validate_serie
from ixserver.logs import RedactApiKeys, redact
from ixserver.web.ratelimit import RateLimiter
from ixserver.web.wire import as_decimal, as_flag, as_text, dumps
from tests.support import MovedClock


def test_rate_limiter_slides_over_one_minute() -> None:
    clock = MovedClock()
    limiter = RateLimiter(3, clock)
    assert [limiter.check(1) for _ in range(3)] == [0, 0, 0]
    assert limiter.check(1) == 60
    assert limiter.check(2) == 0, "per account"
    clock.move(30)
    assert limiter.check(1) == 30
    clock.move(30.001)
    assert limiter.check(1) == 0


def test_api_keys_are_redacted_from_log_lines() -> None:
    assert redact("GET /x.json?api_key=abc123&page=2") == "GET /x.json?api_key=[REDACTED]&page=2"
    record = logging.LogRecord(
        "uvicorn.access", 20, "", 0, '%s - "%s %s"', ("1.2.3.4", "GET", "/a?api_key=s3cret"), None
    )
    RedactApiKeys().filter(record)
    assert "s3cret" not in record.getMessage()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IXSERVER_ACCOUNT_DOMAINS", "localhost, .example.test")
    monkeypatch.setenv("IXSERVER_RATE_LIMIT", "0")
    monkeypatch.setenv("IXSERVER_DATA_DIR", "/tmp/ixdata")
    settings = Settings()
    assert settings.account_domains == ["localhost", "example.test"]
    assert settings.rate_limit == 0
    assert settings.resolved_database_url == "sqlite:////tmp/ixdata/ixserver.db"


def test_decimals_are_rendered_as_exact_json_numbers() -> None:
    assert dumps({"total": Decimal("30.00"), "x": Decimal("2.0244"), "big": Decimal("123456789012.123456")}) == (
        b'{"total":30.00,"x":2.0244,"big":123456789012.123456}'
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), (1, True), (True, True), ("0", False), (0, False), (None, None)]
)
def test_flags(value: object, expected: bool | None) -> None:
    assert as_flag(value, "f") is expected


def test_coercions() -> None:
    assert as_text(2017, "serie") == "2017"
    assert as_decimal("23.0", "value") == Decimal("23.0")
    assert as_decimal(Decimal("1.005"), "value") == Decimal("1.005")
    for bad in ("1,5", "abc", True, "NaN", [1]):
        with pytest.raises(ValidationFailed):
            as_decimal(bad, "value")
    with pytest.raises(ValidationFailed):
        as_flag("maybe", "f")


def test_series_identifiers() -> None:
    assert validate_serie("2025A") == "2025A"
    for bad in ("", "A B", "A/B", "A^B", "x" * 36):
        with pytest.raises(SequenceNameNotAllowed):
            validate_serie(bad)


def test_every_type_has_one_id_slot() -> None:
    assert sorted(ID_ALLOCATION_ORDER) == sorted(t.key for t in DOC_TYPES)
    assert ID_ALLOCATION_ORDER[0] == "invoice"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"api_key=abc", "abc"),
        (b"page=2&api_key=abc&per_page=3", "abc"),
        (b"x_api_key=no&api_key=yes", "yes"),
        (b"api_key=a%20b", "a b"),
        (b"api_key=", ""),
        (b"page=1", None),
    ],
)
def test_api_key_from_the_query_string(query: bytes, expected: str | None) -> None:
    from ixserver.web.auth import api_key_of

    assert api_key_of({"query_string": query, "headers": []}) == expected


def test_seeded_rates_are_the_reference_rates() -> None:
    import json

    from ixserver.domain.taxes import RATES
    from tests.support import data_file

    reference = json.loads(data_file("vat-rates.json").read_text())["regions"]
    for region, rates in RATES.items():
        assert {code: Decimal(rate) for code, rate in reference[region].items() if code in rates} == rates


def test_the_dated_rates_are_the_reference_rates() -> None:
    """Today's rates are RATES; Madeira's reduced rate was 5 % before 1 October 2024; nothing is
    known here before RATES_KNOWN_SINCE, nor of another country."""
    import json
    from datetime import date, timedelta

    from ixserver.domain.taxes import RATES, RATES_KNOWN_SINCE, rates_on
    from tests.support import data_file

    madeira = json.loads(data_file("vat-rates.json").read_text())["regions"]["PT-MA"]
    for region, rates in RATES.items():
        assert rates_on(region, date(2026, 1, 1)) == rates_on(region, date(2024, 10, 1)) == rates
        assert rates_on(region, RATES_KNOWN_SINCE - timedelta(days=1)) is None
    assert rates_on("PT-MA", date(2024, 9, 30)) == {**RATES["PT-MA"], "RED": Decimal(madeira["RED_before_2024-10-01"])}
    assert rates_on("PT", RATES_KNOWN_SINCE) == RATES["PT"]
    assert rates_on("FR", date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [("23", "23.0"), ("23.00", "23.0"), ("16.26020", "16.2602"), ("0", "0.0"), ("0.10", "0.1"), ("1E+2", "100.0")],
)
def test_numbers_are_written_as_invoicexpress_does(value: str, text: str) -> None:
    from ixserver.web.wire import number

    assert dumps(number(Decimal(value))) == text.encode()


def test_exemption_texts_fit_saft() -> None:
    from ixserver.domain.exemptions import EXEMPTIONS, saft_reason

    assert all(6 <= len(saft_reason(code)) <= 60 for code in EXEMPTIONS)
    assert saft_reason("M07") == EXEMPTIONS["M07"]


def test_private_files_are_created_once_even_by_racing_processes(tmp_path: Path) -> None:
    import multiprocessing

    from tests.unit.racers import create_key

    path = tmp_path / "key"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        seen = pool.map(create_key, [str(path)] * 8)
    assert len(set(seen)) == 1, "every process reads the one key that was linked into place"
    assert seen[0].startswith("key-") and len(seen[0]) == 36
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["key"], "no temporary file left behind"


# -- VAT MOSS: the consumer's country's rates (domain/vat_moss.py) ---------------------------


def test_vat_moss_documents_take_an_eu_consumer_countrys_rates() -> None:
    from ixserver.domain.vat_moss import rates_of, vat_moss_problems

    assert Decimal("19") in rates_of("DE") and Decimal("7") in rates_of("DE")
    assert rates_of("NO") == () and rates_of("US") == ()
    assert vat_moss_problems("vat_moss_invoice", "Germany", [Decimal("19"), Decimal("7.0")]) == []
    assert vat_moss_problems("vat_moss_credit_note", "Germany", [Decimal("23")])[0].startswith(
        "VAT at 23% is not a rate of Germany ("
    )
    assert vat_moss_problems("vat_moss_invoice", "Norway", [Decimal("25")]) == [
        "A VAT MOSS document is for a consumer in another EU country, not in Norway"
    ]
    assert vat_moss_problems("vat_moss_invoice", None, [])[0].endswith("not in no country")
    assert vat_moss_problems("invoice", "Germany", [Decimal("23")]) == [], "only the VAT MOSS types"


def test_every_country_a_client_may_name_has_a_saft_code() -> None:
    """What canonical_country keeps is a country SAF-T and the QR code can name: the list's
    names the tax-country table spells otherwise ("UK", "Great Britain", "Curaçao"…) included,
    which SAF-T called "Desconhecido"; only the list's "International Monetary Fund" is none."""
    from ixserver.domain.clients import _COUNTRIES, canonical_country
    from ixserver.domain.reference import COUNTRIES, UNKNOWN_COUNTRY, country_code

    unknown = sorted({kept for kept in _COUNTRIES.values() if country_code(kept) == UNKNOWN_COUNTRY})
    assert unknown == ["International Monetary Fund"]
    assert [country_code(name) for name in ("UK", "Great Britain", "Curaçao", "Portugal")] == ["GB", "GB", "CW", "PT"]
    assert all(canonical_country(name) == name for name in COUNTRIES), "the list's names are kept as they are"
    assert all(canonical_country(name.upper()) == name for name in COUNTRIES)


def test_the_from_address_is_one_header() -> None:
    """IXSERVER_SMTP_FROM becomes every e-mail's From: a line break in it is refused at start."""
    with pytest.raises(ValueError, match="IXSERVER_SMTP_FROM can't contain a line break"):
        Settings(smtp_from="faturas@example.com\u2028Bcc: spy@example.com")
    assert Settings(smtp_from="Faturas <faturas@example.com>").smtp_from == "Faturas <faturas@example.com>"
