"""The CO2 guard: no plan buys a saving with CO2 beyond what running the heat pumps on demand
emits, unless nothing else can meet the heat; never at the price of unmet heat."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.core.plan import heat_pumps_on_demand_kg, solve_plan
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs

STEPS = 16


def test_the_reference_is_the_heat_pumps_meeting_demand_and_the_tanks_losses() -> None:
    inputs = make_inputs(STEPS)  # 600 kW for 4 h, COP 3, 150 g/kWh, 2 MWh stored, 0.1 %/step
    need_kw = 600.0 + 0.001 * 2000.0 * STEPS / 4.0
    assert heat_pumps_on_demand_kg(inputs) == pytest.approx(need_kw / 3.0 * 150.0 * 4.0 / 1000.0)
    # beyond the units' capacity the boiler makes the rest, at its own factor
    big = replace(inputs, heat_demand_kw=(1600.0,) * STEPS, storage_loss_per_step=0.0)
    expected = (1000.0 / 3.0 * 150.0 + 600.0 * 202.0 / 0.9) * 4.0 / 1000.0
    assert heat_pumps_on_demand_kg(big) == pytest.approx(expected)


def test_cheap_gas_beside_dear_power_is_not_burnt_beyond_the_guard() -> None:
    dear = make_inputs(
        STEPS,
        price_eur_per_mwh=(300.0,) * STEPS,
        boiler_fuel_price_eur_per_mwh=30.0,
        storage_loss_per_step=0.0,
    )
    free = solve_plan(dear)
    assert_plan_valid(free)
    assert sum(free.boiler_heat_kw) > 0.0  # without the guard the boiler is cheaper
    guard_kg = heat_pumps_on_demand_kg(dear)
    guarded = solve_plan(replace(dear, emissions_guard_kg=guard_kg))
    assert_plan_valid(guarded)
    assert guarded.carbon_t * 1000.0 <= guard_kg + 1e-3
    assert guarded.emissions_excess_kg == pytest.approx(0.0, abs=1e-6)
    assert guarded.carbon_t < free.carbon_t
    assert sum(guarded.unmet_heat_kw) == pytest.approx(0.0, abs=1e-6)


def test_a_guard_nothing_can_meet_costs_its_penalty_and_never_leaves_heat_unmet() -> None:
    inputs = replace(make_inputs(STEPS), emissions_guard_kg=0.0)
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    assert sum(plan.unmet_heat_kw) == pytest.approx(0.0, abs=1e-6)
    assert plan.emissions_excess_kg == pytest.approx(plan.carbon_t * 1000.0, rel=1e-6)
    assert plan.penalty_eur == pytest.approx(plan.emissions_excess_kg, rel=1e-6)  # 1000 EUR/t


def test_a_warm_start_under_the_guard_is_feasible_and_reaches_the_cold_objective() -> None:
    inputs = make_inputs(
        STEPS,
        price_eur_per_mwh=(300.0,) * 8 + (40.0,) * 8,
        boiler_fuel_price_eur_per_mwh=30.0,
        mip_rel_gap=1e-4,
    )
    inputs = replace(inputs, emissions_guard_kg=heat_pumps_on_demand_kg(inputs) * 0.9)
    cold = solve_plan(inputs, cold_start=True)
    warm = solve_plan(inputs, previous=cold)
    assert_plan_valid(warm)
    assert warm.start == "warm"
    assert warm.objective_eur == pytest.approx(cold.objective_eur, rel=1e-3)
