"""The replay's `mpc` is the controller as it runs live: its forecast is `PlannerService`'s own,
made by the same learned forecaster class `hpctl run`, `hpctl demo` and `hpctl plan` use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.config import Plant
from controller.core.estimate import estimate
from controller.core.forecaster import WINDOW_H, Forecaster
from controller.evaluate import policies
from controller.evaluate.data import EvaluationData
from controller.runtime.dispatch import build_dispatch
from controller.runtime.market import ScenarioMarket
from controller.runtime.planner import Forecast, PlannerService
from drivers.clock import SimClock
from tests.core.fakes import plant_snapshot, settled_histories

START = datetime(2024, 1, 9, 13, tzinfo=UTC)  # 3.5 days after the file starts


def test_mpc_forecasts_through_the_live_planners_own_path(
    river: Plant, january: EvaluationData, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimClock(START)
    setup = policies.mpc(river, january, clock, START)
    planner = setup.planner
    assert planner is not None
    live = build_dispatch(
        river.with_control(policy="planner"),
        ScenarioMarket(january.market_scenario, river.control.planner.publication_time, "UTC"),
        clock,
    ).planner
    assert live is not None
    # one forecaster class, owned by the planner, fed once per cycle (through the planner)
    assert type(planner.forecaster) is type(live.forecaster) is Forecaster
    assert setup.forecaster is planner.forecaster
    assert planner.forecaster not in setup.observers

    made: list[Forecast] = []
    own = PlannerService.build_forecast

    def spy(self: PlannerService, state):  # type: ignore[no-untyped-def]
        made.append(own(self, state))
        return made[-1]

    monkeypatch.setattr(PlannerService, "build_forecast", spy)
    snap = plant_snapshot(river.site, 70.0, now_s=0.0)
    snap.now_utc = START
    state = estimate(snap, river.site)
    forecast = planner.build_forecast(state)
    assert made == [forecast] and forecast is made[0]  # PlannerService's forecast, unreplaced
    assert forecast.provenance["outdoor"].startswith("learned forecaster")
    assert forecast.provenance["demand"].startswith("learned forecaster")

    # and it is what a forecaster learning the same weeks before the start says
    alone = Forecaster(river.site.network, river.site.plant.timezone)
    for index in range(max(0, january.hour_index(START) - WINDOW_H), january.hour_index(START)):
        alone.add_hour(
            january.hour_utc(index),
            START,
            float(january.outdoor_temp_c[index]),
            float(january.heat_demand_kw[index]),
        )
    outdoor, demand = alone.forecast(START, forecast.steps_utc, state.outdoor_temp_c)
    assert forecast.outdoor_temp_c == pytest.approx(outdoor)
    assert forecast.heat_demand_kw == pytest.approx(demand)


def test_perfect_keeps_the_true_future(river: Plant, january: EvaluationData) -> None:
    clock = SimClock(START)
    setup = policies.perfect(river, january, clock)
    assert setup.planner is not None and setup.forecaster is None
    snap = plant_snapshot(river.site, 70.0, now_s=0.0)
    snap.now_utc = START
    forecast = setup.planner.build_forecast(estimate(snap, river.site))
    first = january.hour_index(START)
    assert forecast.outdoor_temp_c == pytest.approx(
        list(january.outdoor_temp_c[first : first + len(forecast.steps_utc)])
    )


def test_mpc_solves_to_the_gap_the_live_planner_uses(river: Plant, january: EvaluationData) -> None:
    """The replay's mpc once stopped each solve at a 5 % gap to save time; with carbon priced
    that cost it a twentieth of perfect's saving (30 days of DK2 November 2021: capture 0.937
    at 5 %, 0.989 at the shipped 1 %). It must plan as the live controller does."""
    clock = SimClock(START)
    planner = policies.mpc(river, january, clock, START).planner
    assert planner is not None
    snap = plant_snapshot(river.site, 70.0, now_s=0.0)
    snap.now_utc = START
    state = estimate(snap, river.site)
    inputs, _ = planner.build_inputs(state, settled_histories(state))
    assert inputs.mip_rel_gap == river.control.planner.mip_rel_gap == 0.01
