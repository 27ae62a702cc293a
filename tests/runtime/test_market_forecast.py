"""Information discipline: the planner never sees a price before its publication, nor the
future of carbon intensity or weather; forecasts come from the past only."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from controller.core.forecast import (
    day_ahead_known_until,
    demand_correction,
    network_demand_kw,
    series_forecast,
    weather_forecast,
)
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
        lines.append(f"{when:%Y-%m-%dT%H:%MZ},{q},{2000 + q}")
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


def test_weather_forecast_uses_only_the_past() -> None:
    now = datetime(2024, 1, 5, 12, tzinfo=UTC)
    observed = {now - timedelta(hours=h): float(-h) for h in range(1, 49)}
    future_leak = {**observed, now + timedelta(hours=3): 999.0}
    steps = [now + timedelta(hours=h) for h in range(24)]
    clean = weather_forecast(observed, now, current=-1.0, steps_utc=steps)
    leaked = weather_forecast(future_leak, now, current=-1.0, steps_utc=steps)
    assert clean == leaked  # a value from the future is never used
    assert clean[0] == pytest.approx(-1.0 + (-24.0 - (-24.0)), abs=1.0)


def test_demand_follows_the_network_curve_scaled_by_measured_history() -> None:
    network = river().site.network
    assert network_demand_kw(network, network.design_outdoor_temp_c) == pytest.approx(
        network.design_heat_kw
    )
    assert network_demand_kw(network, 25.0) == pytest.approx(
        network.design_heat_kw * network.base_load_fraction
    )
    now = datetime(2024, 1, 5, 12, tzinfo=UTC)
    outdoor = {now - timedelta(hours=h): 0.0 for h in range(1, 25)}
    measured = {hour: 1.1 * network_demand_kw(network, 0.0) for hour in outdoor}
    assert demand_correction(measured, outdoor, network, now) == pytest.approx(1.1)
    assert demand_correction({}, outdoor, network, now) == 1.0


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
