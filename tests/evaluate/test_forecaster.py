"""The forecaster learns a plant's demand from its past and scores itself honestly."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from controller.config import Plant
from controller.core.forecast import network_demand_kw
from controller.evaluate.forecaster import Forecaster

START = datetime(2024, 1, 1, tzinfo=UTC)


def outdoor_c(when: datetime) -> float:
    return 2.0 + 3.0 * math.sin(2 * math.pi * (when.hour - 8) / 24)


def test_it_learns_demand_with_a_daily_profile_and_forecasts_it(river: Plant) -> None:
    network = river.site.network
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


def test_without_history_it_falls_back_to_the_design_curve(river: Plant) -> None:
    network = river.site.network
    forecaster = Forecaster(network, "Europe/Copenhagen")
    outdoor, demand = forecaster.forecast(START, [START, START + timedelta(hours=1)], -5.0)
    assert outdoor == (-5.0, -5.0)
    assert demand == pytest.approx([network_demand_kw(network, -5.0)] * 2)
