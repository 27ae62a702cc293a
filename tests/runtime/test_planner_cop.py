"""The planner plans each unit's COP with the one heat-pump model at the temperatures the plant
will have: the condenser inlet from the tank bottom, an air source from the outdoor forecast,
the capacity an air-source unit keeps in the cold."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import load_plant
from controller.core.cop import condenser_inlet_forecast_c, planned_cop
from controller.core.estimate import estimate
from controller.core.stage import supply_setpoint_c
from controller.runtime.market import ScenarioMarket
from controller.runtime.planner import PlannerService
from controller.scenarios import default_scenario_path
from drivers.clock import SimClock
from drivers.heat_pump_cop import capacity_fraction
from drivers.scenario import load_scenario
from tests.core.fakes import plant_snapshot, river
from tests.runtime.planner_rig import T0, planner_service

AIR = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "air_subzero_2x8mw.toml"


def test_a_cold_tank_bottom_is_planned_as_cheaper_heat() -> None:
    plant = river()
    service, _ = planner_service()
    first_cops = {}
    for tank_c in (50.0, 80.0):
        snap = plant_snapshot(plant.site, tank_c, now_s=5000.0)
        snap.now_utc = T0
        state = estimate(snap, plant.site)
        inputs, forecast = service.build_inputs(state, {})
        hp1 = inputs.units[0]
        spec = plant.site.units[0]
        inlet_c = condenser_inlet_forecast_c(tank_c, plant.site, inputs.step_s, inputs.steps)
        supply_c = supply_setpoint_c(
            plant.site.network,
            forecast.outdoor_temp_c[0],
            plant.control.supply_temp_setpoint_c,
        )
        assert hp1.cop[0] == pytest.approx(
            planned_cop(spec, inlet_c[0], supply_c, forecast.source_temp_c[0])
        )
        first_cops[tank_c] = hp1.cop[0]
    assert first_cops[50.0] > first_cops[80.0]


def test_an_air_source_plant_plans_on_the_outdoor_forecast_with_its_cold_capacity() -> None:
    plant = load_plant(AIR)
    scenario = load_scenario(default_scenario_path())
    market = ScenarioMarket(
        scenario, plant.control.planner.publication_time, plant.site.plant.timezone
    )
    service = PlannerService(plant, market, SimClock(T0))
    snap = plant_snapshot(plant.site, 80.0, now_s=5000.0)
    snap.now_utc = T0
    state = estimate(snap, plant.site)
    inputs, forecast = service.build_inputs(state, {})
    assert forecast.source_temp_c == forecast.outdoor_temp_c
    assert forecast.provenance["source"] == "outdoor air: the outdoor temperature forecast"
    spec = plant.site.units[0]
    hp1 = inputs.units[0]
    assert hp1.heat_max_fraction == tuple(
        capacity_fraction(spec, temp_c) for temp_c in forecast.outdoor_temp_c
    )
    assert min(hp1.heat_max_fraction) < 1.0  # a January morning: below the 7 °C rating point
