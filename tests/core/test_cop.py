"""The controller's side of the one heat-pump model: the temperatures it plans a unit at."""

from __future__ import annotations

import pytest

from controller.config import load_plant
from controller.core.cop import (
    condenser_inlet_forecast_c,
    condenser_inlet_now_c,
    planned_cop,
    planned_cops,
)
from drivers.heat_pump_cop import MIN_CONDENSER_DT_K, unit_cop
from tests.core.fakes import PLANTS, estimated, river


def test_planned_cop_is_the_model_at_full_load_source_cooling() -> None:
    spec = river().site.units[0]
    expected = unit_cop(spec, 42.0, 80.0, 5.0, 5.0 - spec.source_cooling_k)
    assert planned_cop(spec, 42.0, 80.0, 5.0) == pytest.approx(expected)


def test_planned_supply_is_held_in_the_envelope_and_over_the_inlet() -> None:
    spec = river().site.units[0]
    # above the unit's maximum: planned at its maximum
    assert planned_cop(spec, 42.0, 99.0, 5.0) == pytest.approx(
        planned_cop(spec, 42.0, spec.max_supply_temp_c, 5.0)
    )
    # a tank bottom at 78 °C: the unit must heat to at least 83 °C whatever the network asks
    assert planned_cop(spec, 78.0, 70.0, 5.0) == pytest.approx(
        unit_cop(spec, 78.0, 78.0 + MIN_CONDENSER_DT_K, 5.0, 5.0 - spec.source_cooling_k)
    )


def test_a_cold_tank_bottom_makes_cheaper_heat() -> None:
    spec = river().site.units[0]
    assert planned_cop(spec, 40.0, 80.0, 5.0) > 1.1 * planned_cop(spec, 70.0, 80.0, 5.0)


def test_the_condenser_inlet_now_is_the_tank_bottom() -> None:
    plant = river()
    state = estimated(plant, {}, tank_c=55.0)
    assert condenser_inlet_now_c(state, plant.site.network.return_temp_c) == 55.0


def test_the_inlet_forecast_relaxes_from_the_bottom_to_the_network_return() -> None:
    site = river().site
    forecast = condenser_inlet_forecast_c(70.0, site, 900.0, 192)
    return_c = site.network.return_temp_c
    assert 70.0 > forecast[0] > forecast[4] > forecast[40] > return_c
    assert forecast[-1] == pytest.approx(return_c, abs=0.5)


def test_the_horizon_call_gives_each_step_what_the_single_call_gives() -> None:
    # across the envelope, the defrost threshold of an air-source unit and the inlet rule
    air = load_plant(PLANTS / "air_subzero_2x8mw.toml").site
    specs = [river().site.units[0], air.units[0]]
    inlet_c = [35.0, 42.0, 60.0, 78.0, 90.0, 42.0]
    supply_c = [70.0, 80.0, 99.0, 70.0, 95.0, 85.0]
    source_c = [-15.0, -3.0, 2.0, 5.0, 12.0, 35.0]
    for spec in specs:
        single = [
            planned_cop(spec, i, s, src)
            for i, s, src in zip(inlet_c, supply_c, source_c, strict=True)
        ]
        assert planned_cops(spec, inlet_c, supply_c, source_c) == pytest.approx(single, rel=1e-12)
