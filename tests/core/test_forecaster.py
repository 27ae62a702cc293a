"""The forecaster learns a plant's demand from its past and scores itself honestly; it learns
hour by hour from the cycle, with or without a heat meter, and at any plan step."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from controller.core.forecast import network_demand_kw
from controller.core.forecaster import Forecaster
from tests.core.fakes import river
from tests.runtime.planner_rig import cycle_report, plant_state

START = datetime(2024, 1, 1, tzinfo=UTC)


def outdoor_c(when: datetime) -> float:
    return 2.0 + 3.0 * math.sin(2 * math.pi * (when.hour - 8) / 24)


def test_it_learns_demand_with_a_daily_profile_and_forecasts_it() -> None:
    network = river().site.network
    forecaster = Forecaster(network, "Europe/Copenhagen")

    def demand_kw(when: datetime) -> float:
        morning = 2000.0 if 5 <= when.hour <= 8 else 0.0  # hot water in the morning
        return network_demand_kw(network, outdoor_c(when)) + morning

    for h in range(21 * 24):
        hour = START + timedelta(hours=h)
        forecaster.add_hour(hour, hour + timedelta(hours=1), outdoor_c(hour), demand_kw(hour))
    now = START + timedelta(days=21)
    steps = [now + timedelta(hours=k) for k in range(36)]
    outdoor, demand = forecaster.forecast(now, steps, outdoor_c(now))
    # the weather repeats exactly, so a forecaster that learned it is close everywhere
    for when, temp, kw in zip(steps, outdoor, demand, strict=True):
        assert temp == pytest.approx(outdoor_c(when), abs=0.3)
        assert kw == pytest.approx(demand_kw(when), rel=0.03)
    for k, when in enumerate(steps[:24]):
        forecaster.add_hour(when, when + timedelta(hours=1), outdoor_c(when) + 1.0, demand_kw(when))
        assert k >= 0
    errors = forecaster.errors()
    assert errors["scored_forecast_hours"] == 24
    assert errors["outdoor_mae_k"] == pytest.approx(1.0, abs=0.3)  # the 1 K surprise is counted
    assert errors["demand_mae_pct"] < 5.0


def test_without_history_it_falls_back_to_the_design_curve() -> None:
    network = river().site.network
    forecaster = Forecaster(network, "Europe/Copenhagen")
    outdoor, demand = forecaster.forecast(START, [START, START + timedelta(hours=1)], -5.0)
    assert outdoor == (-5.0, -5.0)
    assert demand == pytest.approx([network_demand_kw(network, -5.0)] * 2)
    assert "design curve" in forecaster.basis["demand"]
    assert "held" in forecaster.basis["outdoor"]


def test_it_learns_hourly_means_from_the_cycle_and_keeps_a_seeded_hour() -> None:
    network = river().site.network
    forecaster = Forecaster(network, "Europe/Copenhagen")
    seeded = START - timedelta(hours=1)
    forecaster.add_hour(seeded, START, -3.0, 12_000.0)
    for minute in range(0, 121, 5):  # two hours of five-minute cycles, the first at START
        state = plant_state(START + timedelta(minutes=minute), minute * 60.0)
        forecaster.observe(cycle_report(state))
    # the first cycle's reading closes the seeded hour: it stays as the history database had it
    assert forecaster.history_hours == 3
    assert forecaster.demand_hours == 3


def test_quarter_hour_steps_are_scored_at_hour_starts_and_nothing_piles_up() -> None:
    network = river().site.network
    forecaster = Forecaster(network, "Europe/Copenhagen")
    for h in range(4 * 24):
        hour = START + timedelta(hours=h)
        forecaster.add_hour(hour, hour + timedelta(hours=1), outdoor_c(hour), None)
    now = START + timedelta(days=4)
    for replan in range(8):  # every 15 minutes for two hours, 36 h in quarter-hours
        at = now + timedelta(minutes=15 * replan)
        steps = [at + timedelta(minutes=15 * k) for k in range(144)]
        outdoor, demand = forecaster.forecast(at, steps, outdoor_c(at))
        assert len(outdoor) == len(demand) == 144
        if replan % 4 == 3:
            hour = at.replace(minute=0)
            forecaster.add_hour(hour, hour + timedelta(hours=1), outdoor_c(hour), None)
    assert all(when.minute == 0 for when in forecaster._pending)
    errors = forecaster.errors()
    # the first hour by the first plan only (the later ones start after its start), the second
    # by all five plans that had it ahead
    assert errors["scored_forecast_hours"] == 1 + 5
    assert math.isnan(errors["demand_mae_kw"])  # no heat meter: no demand is scored
    # an hour never measured is dropped, not kept waiting for ever
    later = now + timedelta(hours=30)
    forecaster.add_hour(later, later + timedelta(hours=1), 0.0, None)
    assert min(forecaster._pending, default=later + timedelta(hours=1)) > later


def test_errors_with_no_demand_at_all_are_a_percentage_of_nothing_not_a_crash() -> None:
    # a scenario whose demand column is 0 for the whole replay (a summer week of a heating-only
    # network) once ended `hpctl evaluate` in a ZeroDivisionError
    forecaster = Forecaster(river().site.network, "Europe/Copenhagen")
    for h in range(8 * 24):
        hour = START + timedelta(hours=h)
        forecaster.add_hour(hour, hour + timedelta(hours=1), 20.0, 0.0)
    now = START + timedelta(days=8)
    steps = [now + timedelta(hours=k) for k in range(4)]
    forecaster.forecast(now, steps, 20.0)
    for when in steps:
        forecaster.add_hour(when, when + timedelta(hours=1), 20.0, 0.0)
    errors = forecaster.errors()
    assert errors["scored_forecast_hours"] > 0
    assert math.isnan(errors["demand_mae_pct"])
