"""MqttMarket hands out only what exists: prices from their publication, carbon up to now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.telemetry.mqtt.market import MAX_FUEL_QUOTES, MAX_WAITING, MqttMarket
from controller.telemetry.mqtt.messages import CarbonUpdate, FuelUpdate, MessageError, PriceUpdate
from tests.core.fakes import T0

H = timedelta(hours=1)


def _prices(first_hour: int, values: list[float], published: object = None) -> PriceUpdate:
    return PriceUpdate.model_validate(
        {
            "published_utc": published,
            "prices": [
                {"start_utc": T0 + (first_hour + k) * H, "price_eur_per_mwh": v}
                for k, v in enumerate(values)
            ],
        }
    )


def test_prices_count_from_their_publication_and_later_updates_win() -> None:
    market = MqttMarket()
    assert market.prices(T0) == ({}, T0)
    market.add_prices(_prices(0, [50.0, 60.0, 70.0]), received_utc=T0)
    known, until = market.prices(T0 + timedelta(minutes=30))
    assert known == {T0: 50.0, T0 + H: 60.0, T0 + 2 * H: 70.0}
    assert until == T0 + 3 * H
    # tomorrow's prices sent ahead of their publication stay hidden until then
    market.add_prices(_prices(3, [80.0, 90.0], published=T0 + 2 * H), received_utc=T0)
    assert market.prices(T0 + H)[1] == T0 + 3 * H
    known, until = market.prices(T0 + 2 * H)
    assert until == T0 + 5 * H
    assert known[T0 + 4 * H] == 90.0
    market.add_prices(_prices(1, [65.0]), received_utc=T0 + 2 * H)
    assert market.prices(T0 + 2 * H)[0][T0 + H] == 65.0


def test_a_gap_ends_the_known_prices_and_only_eight_days_are_kept() -> None:
    market = MqttMarket()
    market.add_prices(_prices(0, [1.0, 2.0]), received_utc=T0)
    market.add_prices(_prices(3, [4.0]), received_utc=T0)
    assert market.prices(T0)[1] == T0 + 2 * H
    week_later = T0 + timedelta(days=9)
    market.add_prices(_prices(24 * 9, [5.0]), received_utc=week_later)
    known, until = market.prices(week_later)
    assert known == {week_later: 5.0}
    assert until == week_later + H


def test_carbon_only_up_to_the_current_hour() -> None:
    market = MqttMarket()
    values = [{"start_utc": T0 + k * H, "carbon_g_per_kwh": 100.0 + k} for k in range(4)]
    market.add_carbon(CarbonUpdate.model_validate({"values": values}), received_utc=T0)
    assert market.carbon(T0 + timedelta(minutes=90)) == {T0: 100.0, T0 + H: 101.0}


def _fuel(price: float, valid_from: object = None) -> FuelUpdate:
    return FuelUpdate.model_validate(
        {"fuel_price_eur_per_mwh": price, "valid_from_utc": valid_from}
    )


def test_the_fuel_price_in_force_is_the_latest_quote_up_to_now_and_expires_after_a_week() -> None:
    market = MqttMarket()
    assert market.fuel_price(T0) is None  # no quote: the plant file's constant applies
    market.add_fuel(_fuel(40.0), received_utc=T0)
    market.add_fuel(_fuel(55.0, valid_from=T0 + 24 * H), received_utc=T0 + H)
    assert market.fuel_price(T0 + 2 * H) == 40.0  # tomorrow's quote is not in force yet
    assert market.fuel_price(T0 + 24 * H) == 55.0
    market.add_fuel(_fuel(50.0, valid_from=T0 + 24 * H), received_utc=T0 + 3 * H)
    assert market.fuel_price(T0 + 25 * H) == 50.0  # a correction for the same moment wins
    assert market.fuel_price(T0 + 24 * H * 10) is None  # a quote over 8 days old is not used


def test_quarter_hour_prices_are_accepted_and_known_until_steps_by_quarters() -> None:
    quarters = PriceUpdate.model_validate(
        {
            "prices": [
                {"start_utc": T0 + k * timedelta(minutes=15), "price_eur_per_mwh": 40.0 + k}
                for k in range(6)
            ]
        }
    )
    market = MqttMarket()
    market.add_prices(quarters, received_utc=T0)
    known, until = market.prices(T0)
    assert known[T0 + timedelta(minutes=45)] == 43.0
    assert until == T0 + timedelta(minutes=90)


def test_data_far_ahead_of_its_arrival_is_refused() -> None:
    market = MqttMarket()
    with pytest.raises(MessageError, match=r"start_utc .* is more than 8 days after its arrival"):
        market.add_prices(_prices(24 * 8 + 1, [50.0]), received_utc=T0)
    with pytest.raises(MessageError, match="published_utc"):
        market.add_prices(_prices(0, [50.0], published=T0 + timedelta(days=9)), received_utc=T0)
    carbon = CarbonUpdate.model_validate(
        {"values": [{"start_utc": T0 + timedelta(days=9), "carbon_g_per_kwh": 100.0}]}
    )
    with pytest.raises(MessageError, match="carbon value's start_utc"):
        market.add_carbon(carbon, received_utc=T0)
    with pytest.raises(MessageError, match="valid_from_utc"):
        market.add_fuel(_fuel(40.0, valid_from=T0 + timedelta(days=9)), received_utc=T0)
    assert market.prices(T0) == ({}, T0) and market.fuel_price(T0) is None


def test_a_flood_of_valid_updates_holds_a_bounded_amount() -> None:
    market = MqttMarket()
    for k in range(2000):
        market.add_prices(_prices(0, [float(k % 100)] * 48), received_utc=T0)
    assert len(market._price_updates) == 1  # merged: the flood did not pile up
    assert market.prices(T0)[0][T0 + H] == 99.0  # the last one still wins
    tomorrow = T0 + 24 * H
    for _ in range(MAX_WAITING):
        market.add_prices(_prices(24, [70.0], published=tomorrow), received_utc=T0)
    with pytest.raises(MessageError, match="already wait for their publication"):
        market.add_prices(_prices(24, [70.0], published=tomorrow), received_utc=T0)
    market.add_prices(_prices(1, [5.0]), received_utc=T0)  # one usable now is still taken
    assert market.prices(T0)[0][T0 + H] == 5.0
    for k in range(MAX_FUEL_QUOTES + 500):
        market.add_fuel(_fuel(40.0 + k % 7, valid_from=T0 + k * timedelta(minutes=1)), T0)
    assert len(market._fuel) == MAX_FUEL_QUOTES
    assert market.fuel_price(T0 + timedelta(days=2)) == 40.0 + (MAX_FUEL_QUOTES + 499) % 7
