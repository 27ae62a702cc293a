"""The bridge's market messages: strict numbers, and JSON that Python cannot use is a message
error (the bridge's garbage), never an exception of another kind."""

from __future__ import annotations

import pytest

from controller.telemetry.mqtt.messages import (
    REASON_MAX_CHARS,
    MessageError,
    parse_carbon,
    parse_fuel,
    parse_prices,
    parse_request,
)

HOUR = "2024-01-08T00:00:00Z"


def test_a_price_given_as_text_is_refused() -> None:
    with pytest.raises(MessageError, match="price_eur_per_mwh"):
        parse_prices(
            b'{"prices": [{"start_utc": "%s", "price_eur_per_mwh": "50"}]}' % HOUR.encode()
        )
    update = parse_prices(
        b'{"prices": [{"start_utc": "%s", "price_eur_per_mwh": 50}]}' % HOUR.encode()
    )
    assert update.prices[0].price_eur_per_mwh == 50.0


def test_a_carbon_value_given_as_a_boolean_is_refused() -> None:
    with pytest.raises(MessageError, match="carbon_g_per_kwh"):
        parse_carbon(b'{"values": [{"start_utc": "%s", "carbon_g_per_kwh": true}]}' % HOUR.encode())


@pytest.mark.parametrize(
    "payload",
    [
        b'{"prices": [{"start_utc": "2024-01-08T00:00:00Z", "price_eur_per_mwh": '
        + b"9" * 5000
        + b"}]}",
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe not utf-8",
    ],
    ids=["5000-digit number", "nested 100000 deep", "not UTF-8"],
)
def test_unusable_json_is_a_message_error(payload: bytes) -> None:
    with pytest.raises(MessageError):
        parse_prices(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"fuel_price_eur_per_mwh": "35"}',
        b'{"fuel_price_eur_per_mwh": -1}',
        b'{"fuel_price_eur_per_mwh": 35, "currency": "EUR"}',
        b'{"fuel_price_eur_per_mwh": 35, "valid_from_utc": "2024-01-08T00:00:00"}',
    ],
)
def test_a_bad_fuel_price_is_a_message_error(payload: bytes) -> None:
    with pytest.raises(MessageError):
        parse_fuel(payload)


def test_a_fuel_price_is_read() -> None:
    update = parse_fuel(b'{"fuel_price_eur_per_mwh": 35.5, "valid_from_utc": "2024-01-08T00:00Z"}')
    assert update.fuel_price_eur_per_mwh == 35.5
    assert update.valid_from_utc is not None and update.valid_from_utc.day == 8


def test_a_price_off_the_quarter_hour_is_refused() -> None:
    with pytest.raises(MessageError, match="not the start of a quarter-hour"):
        parse_prices(b'{"prices": [{"start_utc": "2025-10-06T00:10:00Z", "price_eur_per_mwh": 1}]}')
    update = parse_prices(
        b'{"prices": [{"start_utc": "2025-10-06T00:15:00Z", "price_eur_per_mwh": 1}]}'
    )
    assert update.prices[0].start_utc.minute == 15


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"NaN", "NaN is not a JSON number"),
        (b"Infinity", "Infinity is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"4001", "less than or equal to 4000"),
        (b"-501", "greater than or equal to -500"),
    ],
)
def test_a_price_must_be_a_finite_json_number_within_the_market_limits(
    value: bytes, reason: str
) -> None:
    with pytest.raises(MessageError, match=reason):
        parse_prices(b'{"prices": [{"start_utc": "%s", "price_eur_per_mwh": %s}]}' % (
            HOUR.encode(), value))  # fmt: skip


@pytest.mark.parametrize("start", [b"1704672000", b'"1704672000"', b"true"])
def test_a_time_must_be_written_out_not_given_as_seconds(start: bytes) -> None:
    with pytest.raises(MessageError, match=r"prices\.0\.start_utc: must be an ISO 8601"):
        parse_prices(b'{"prices": [{"start_utc": %s, "price_eur_per_mwh": 5}]}' % start)


def test_carbon_and_fuel_must_be_physically_sensible() -> None:
    with pytest.raises(MessageError, match="less than or equal to 2000"):
        parse_carbon(b'{"values": [{"start_utc": "%s", "carbon_g_per_kwh": 2500}]}' % HOUR.encode())
    with pytest.raises(MessageError, match="less than or equal to 2000"):
        parse_fuel(b'{"fuel_price_eur_per_mwh": 2500}')
    assert parse_fuel(b'{"fuel_price_eur_per_mwh": 2000}').fuel_price_eur_per_mwh == 2000.0


def test_the_reason_stays_short_whatever_the_sender_wrote() -> None:
    long_key = b'{"prices": [{"start_utc": "%s", "price_eur_per_mwh": 5}], "%s": 1}' % (
        HOUR.encode(), b"k" * 5000)  # fmt: skip
    with pytest.raises(MessageError) as caught:
        parse_prices(long_key)
    assert len(str(caught.value)) <= REASON_MAX_CHARS
    assert "Extra inputs are not permitted" in str(caught.value)
    with pytest.raises(MessageError) as caught:
        parse_request(b'{"id": "r1", "priority": 1, "kind": "%s"}' % (b"k" * 5000))
    assert len(str(caught.value)) <= REASON_MAX_CHARS
