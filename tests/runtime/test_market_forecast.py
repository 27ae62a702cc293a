"""Information discipline: the planner never sees a price before its publication, nor the
future of carbon intensity or weather; forecasts come from the past only."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from controller.core.forecast import (
    day_ahead_known_until,
    network_demand_kw,
    series_forecast,
    source_forecast,
)
from controller.core.forecaster import Forecaster
from controller.runtime.market import ScenarioMarket
from drivers.scenario import parse_scenario
from tests.core.fakes import river

NOON = time(12, 0)
CPH = "Europe/Copenhagen"


def _hourly_scenario(start: datetime, hours: int) -> list[str]:
    lines = ["timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c"]
    for h in range(hours):
        when = start + timedelta(hours=h)
        lines.append(f"{when:%Y-%m-%dT%H:%MZ},{h},{1000 + h},{h % 24}")
    return lines


def test_day_ahead_prices_appear_at_noon_copenhagen_time() -> None:
    # 11:59 in Copenhagen (UTC+1 in January): today's prices only
    before = datetime(2024, 1, 9, 10, 59, tzinfo=UTC)
    after = datetime(2024, 1, 9, 11, 0, tzinfo=UTC)
    assert day_ahead_known_until(before, NOON, CPH) == datetime(2024, 1, 9, 23, 0, tzinfo=UTC)
    assert day_ahead_known_until(after, NOON, CPH) == datetime(2024, 1, 10, 23, 0, tzinfo=UTC)
    # summer time: Copenhagen is UTC+2
    summer = datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    assert day_ahead_known_until(summer, NOON, CPH) == datetime(2024, 7, 2, 22, 0, tzinfo=UTC)


def test_the_market_feed_hands_out_no_price_before_publication() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    scenario = parse_scenario(_hourly_scenario(start, 24 * 10), "s.csv")
    market = ScenarioMarket(scenario, NOON, CPH)
    morning = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)
    prices, until = market.prices(morning)
    assert until == datetime(2024, 1, 5, 23, 0, tzinfo=UTC)
    assert max(prices) < until
    assert datetime(2024, 1, 5, 22, 0, tzinfo=UTC) in prices
    afternoon = datetime(2024, 1, 5, 11, 30, tzinfo=UTC)
    prices, until = market.prices(afternoon)
    assert max(prices) == datetime(2024, 1, 6, 22, 0, tzinfo=UTC)
    carbon = market.carbon(morning)
    assert max(carbon) == datetime(2024, 1, 5, 9, 0, tzinfo=UTC)  # the present hour, no further


def _quarter_hourly_scenario(start: datetime, hours: int) -> list[str]:
    lines = ["timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh"]
    for q in range(hours * 4):
        when = start + timedelta(minutes=15 * q)
        lines.append(f"{when:%Y-%m-%dT%H:%MZ},{q},{1000 + q}")
    return lines


@pytest.mark.parametrize("rows", [_hourly_scenario, _quarter_hourly_scenario])
def test_prices_asked_every_cycle_are_what_a_fresh_feed_answers(rows: object) -> None:
    """The feed keeps the hourly means of the rows it last averaged (the planner asks every
    cycle): asked every 55 s across hour changes and a publication, with hourly or
    quarter-hour rows, it answers exactly what a feed asked for the first time answers."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = rows(start, 24 * 10)  # type: ignore[operator]
    scenario = parse_scenario(lines, "s.csv")
    asked_often = ScenarioMarket(scenario, NOON, CPH)
    begin = datetime(2024, 1, 9, 10, 50, 3, tzinfo=UTC)  # past, a publication, hour changes
    for step in range(0, 3 * 3600, 55):
        now = begin + timedelta(seconds=step)
        fresh = ScenarioMarket(scenario, NOON, CPH)
        assert asked_often.prices(now) == fresh.prices(now)
        assert asked_often.carbon(now) == fresh.carbon(now)


def test_prices_asked_again_within_the_same_rows_are_the_same_dict() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    market = ScenarioMarket(
        scenario := parse_scenario(_hourly_scenario(start, 240), "s"), NOON, CPH
    )
    first, _ = market.prices(datetime(2024, 1, 9, 9, 0, 5, tzinfo=UTC))
    again, _ = market.prices(datetime(2024, 1, 9, 9, 59, 55, tzinfo=UTC))
    assert again is first  # the planner's scan of the latest hour is skipped for it
    later, _ = market.prices(datetime(2024, 1, 9, 10, 0, 5, tzinfo=UTC))
    assert later is not first and min(later) == min(first) + timedelta(hours=1)
    assert scenario.span(start, start + timedelta(hours=3)) == (0, 3)


def test_prices_beyond_publication_repeat_the_last_known_day() -> None:
    known = {datetime(2024, 1, 5, h, tzinfo=UTC): float(h) for h in range(24)}
    until = datetime(2024, 1, 6, tzinfo=UTC)
    steps = [
        datetime(2024, 1, 5, 22, tzinfo=UTC),
        datetime(2024, 1, 6, 3, tzinfo=UTC),
        datetime(2024, 1, 7, 5, tzinfo=UTC),
    ]
    assert series_forecast(known, steps, until, fallback=-1.0) == (22.0, 3.0, 5.0)
    assert series_forecast({}, steps, until, fallback=-1.0) == (-1.0, -1.0, -1.0)


def test_the_source_forecast_uses_only_the_past() -> None:
    now = datetime(2024, 1, 5, 12, tzinfo=UTC)
    observed = {now - timedelta(hours=h): float(-h) for h in range(1, 49)}
    future_leak = {**observed, now + timedelta(hours=3): 999.0}
    steps = [now + timedelta(hours=h) for h in range(24)]

    def declared(when: datetime) -> float:
        return 10.0

    clean, how = source_forecast(observed, now, -1.0, steps, declared)
    leaked, _ = source_forecast(future_leak, now, -1.0, steps, declared)
    assert clean == leaked  # a value from the future is never used
    assert clean[0] == pytest.approx(-1.0 + (-24.0 - (-24.0)), abs=1.0)
    assert "yesterday's shape" in how


def test_demand_follows_the_network_curve_scaled_by_measured_history() -> None:
    network = river().site.network
    assert network_demand_kw(network, network.design_outdoor_temp_c) == pytest.approx(
        network.design_heat_kw
    )
    assert network_demand_kw(network, 25.0) == pytest.approx(
        network.design_heat_kw * network.base_load_fraction
    )
    now = datetime(2024, 1, 5, 12, tzinfo=UTC)
    steps = [now + timedelta(hours=h) for h in range(3)]
    metered = Forecaster(network, CPH)
    blind = Forecaster(network, CPH)  # outdoor history, no heat meter
    for h in range(24, 0, -1):
        hour = now - timedelta(hours=h)
        metered.add_hour(hour, now, 0.0, 1.1 * network_demand_kw(network, 0.0))
        blind.add_hour(hour, now, 0.0, None)
    outdoor, demand = metered.forecast(now, steps, 0.0)
    assert outdoor == pytest.approx((0.0, 0.0, 0.0))
    assert demand == pytest.approx([1.1 * network_demand_kw(network, 0.0)] * 3)
    assert "x 1.10" in metered.basis["demand"]
    _, demand = blind.forecast(now, steps, 0.0)
    assert demand == pytest.approx([network_demand_kw(network, 0.0)] * 3)
    assert "no metered demand yet" in blind.basis["demand"]


def test_a_price_file_is_reread_when_it_changes_and_a_bad_one_keeps_the_last_good(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    from controller.runtime.market import FileMarket
    from drivers.scenario import ScenarioError

    path = tmp_path / "prices.csv"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    path.write_text("\n".join(_hourly_scenario(start, 48)) + "\n")
    market = FileMarket(path, NOON, CPH)
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    prices, _ = market.prices(now)
    assert prices[datetime(2024, 1, 1, 5, tzinfo=UTC)] == 5.0
    lines = _hourly_scenario(start, 48)
    lines[6] = lines[6].replace(",5,", ",55.5,")
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, ns=(1, 10**18))  # a new modification time, whatever the file system's resolution
    prices, _ = market.prices(now)
    assert prices[datetime(2024, 1, 1, 5, tzinfo=UTC)] == 55.5
    path.write_text("timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,oops\n")
    os.utime(path, ns=(1, 2 * 10**18))
    prices, _ = market.prices(now)
    assert prices[datetime(2024, 1, 1, 5, tzinfo=UTC)] == 55.5  # the last good prices stay
    assert market.errors_total == 1
    path.unlink()
    with pytest.raises(ScenarioError, match="line 2"):
        path.write_text("timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,oops\n")
        FileMarket(path, NOON, CPH)  # a bad file at start refuses to start


def test_the_fuel_price_is_the_latest_quote_up_to_now_and_none_without_a_column() -> None:
    start = datetime(2024, 1, 8, tzinfo=UTC)
    lines = ["timestamp_utc,price_eur_per_mwh,fuel_price_eur_per_mwh"]
    lines += [f"{start + timedelta(hours=h):%Y-%m-%dT%H:%MZ},50,{30 + h // 24}" for h in range(72)]
    market = ScenarioMarket(parse_scenario(lines, "fuel.csv"), NOON, CPH)
    assert market.fuel_price(start + timedelta(hours=23, minutes=59)) == 30.0
    assert market.fuel_price(start + timedelta(hours=24)) == 31.0  # never the next day's early
    without = ScenarioMarket(parse_scenario(_hourly_scenario(start, 24), "plain.csv"), NOON, CPH)
    assert without.fuel_price(start + timedelta(hours=3)) is None


def test_quarter_hour_prices_are_kept_per_quarter_and_an_hourly_step_pays_their_mean() -> None:
    start = datetime(2025, 10, 6, tzinfo=UTC)
    lines = ["timestamp_utc,price_eur_per_mwh"]
    lines += [
        f"{start + timedelta(minutes=15 * q):%Y-%m-%dT%H:%MZ},{10.0 * (q % 4)}"
        for q in range(96 * 3)
    ]
    market = ScenarioMarket(parse_scenario(lines, "quarters.csv"), NOON, CPH)
    known, until = market.prices(start + timedelta(hours=30))
    assert known[start + timedelta(minutes=15)] == 10.0  # no hourly averaging of the market
    quarter_steps = [start + timedelta(minutes=15 * q) for q in range(4)]
    assert series_forecast(known, quarter_steps, until, -1.0, timedelta(minutes=15)) == (
        0.0,
        10.0,
        20.0,
        30.0,
    )
    hourly_steps = [start + timedelta(hours=h) for h in range(2)]
    assert series_forecast(known, hourly_steps, until, -1.0, timedelta(hours=1)) == (15.0, 15.0)
    # hourly prices still serve quarter-hour steps: each quarter takes its hour's price
    hourly = ScenarioMarket(parse_scenario(_hourly_scenario(start, 48), "h.csv"), NOON, CPH)
    known, until = hourly.prices(start + timedelta(hours=20))
    assert series_forecast(known, quarter_steps, until, -1.0, timedelta(minutes=15)) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )
