"""The merit policy's view of the market: this hour, today's published prices, carbon so far."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.config import ConfigError
from controller.core.estimate import estimate
from controller.runtime.dispatch import build_dispatch
from controller.runtime.merit_policy import MeritPolicy, local_day_utc, merit_prices
from drivers.clock import SimClock
from tests.core.fakes import plant_snapshot, river, settled_histories, situation

TZ = "Europe/Copenhagen"
HOUR = timedelta(hours=1)


class DictMarket:
    """Prices and intensities from dicts, as published by `known_until` (no audit here)."""

    def __init__(
        self,
        prices: dict[datetime, float],
        carbon: dict[datetime, float],
        fuel: float | None = None,
    ) -> None:
        self._prices = prices
        self._carbon = carbon
        self._fuel = fuel
        self.price_reads = 0

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        self.price_reads += 1
        until = max(self._prices, default=now_utc) + HOUR
        return dict(self._prices), until

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        return {when: value for when, value in self._carbon.items() if when <= now_utc}

    def fuel_price(self, now_utc: datetime) -> float | None:
        return self._fuel


def test_the_local_day_has_23_hours_when_the_clocks_go_forward() -> None:
    start, end = local_day_utc(datetime(2024, 3, 31, 12, tzinfo=UTC), TZ)
    assert (start, end - start) == (datetime(2024, 3, 30, 23, tzinfo=UTC), timedelta(hours=23))
    start, end = local_day_utc(datetime(2024, 1, 9, 23, 30, tzinfo=UTC), TZ)
    assert start == datetime(2024, 1, 9, 23, tzinfo=UTC)  # already the 10th in Copenhagen


def test_merit_prices_take_today_only_and_carbon_measured_so_far() -> None:
    midnight = datetime(2024, 1, 8, 23, tzinfo=UTC)  # 9 January, local
    prices = {midnight + k * HOUR: 10.0 * (k % 24) for k in range(48)}  # today and tomorrow
    prices[midnight - HOUR] = 1000.0  # yesterday's last hour
    carbon = {midnight + k * HOUR: 100.0 + k for k in range(24)}
    now = midnight + 5 * HOUR + timedelta(minutes=20)
    seen = merit_prices(DictMarket(prices, carbon), now, TZ)
    assert seen is not None
    assert seen.price_eur_per_mwh == 50.0
    assert seen.day_mean_price_eur_per_mwh == pytest.approx(115.0)  # 0..230, not tomorrow's
    assert seen.carbon_g_per_kwh == 105.0
    assert seen.day_mean_carbon_g_per_kwh == pytest.approx(102.5)  # hours 0-5 measured
    assert merit_prices(DictMarket({}, carbon), now, TZ) is None


def test_the_policy_reads_the_feed_once_an_hour_and_falls_back_to_the_rules_without_a_price() -> (
    None
):
    plant = river()
    snap = plant_snapshot(plant.site, 77.0, {"hp1": True}, demand_kw=8000.0)
    now = datetime(2024, 1, 8, 10, 5, tzinfo=UTC)
    snap.now_utc = now
    state = estimate(snap, plant.site)
    market = DictMarket({now.replace(minute=0) + k * HOUR: 50.0 for k in range(-10, 14)}, {})
    policy = MeritPolicy(plant, market)
    targets = policy.targets(situation(plant, state, settled_histories(state)), None)
    assert targets.source == "merit"
    policy.targets(situation(plant, state, settled_histories(state)), targets)
    assert market.price_reads == 1
    blind = MeritPolicy(plant, DictMarket({}, {}))
    assert blind.targets(situation(plant, state, settled_histories(state)), None).source == "rules"
    assert blind.fallback


def test_policy_merit_is_chosen_in_the_plant_file_and_needs_prices() -> None:
    plant = river().with_control(policy="merit")
    clock = SimClock(datetime(2024, 1, 8, tzinfo=UTC))
    with pytest.raises(ConfigError, match="policy 'merit' needs prices"):
        build_dispatch(plant, None, clock)
    dispatch = build_dispatch(plant, DictMarket({}, {}), clock)
    assert isinstance(dispatch.policy, MeritPolicy) and dispatch.planner is None


def test_a_quoted_fuel_price_reaches_merits_prices() -> None:
    hour = datetime(2024, 1, 9, 10, tzinfo=UTC)
    market = DictMarket({hour: 80.0}, {hour: 200.0}, fuel=133.0)
    prices = merit_prices(market, hour, TZ)
    assert prices is not None and prices.fuel_price_eur_per_mwh == 133.0
