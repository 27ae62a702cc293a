"""The plan moves heat production to where it is cheap, and to low-carbon hours when carbon costs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.core.plan import Plan, solve_plan
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit

STEPS = 48  # 12 h of quarter-hours
CHEAP = range(24, 32)  # a 2 h block


def _heat_in(plan: Plan, steps: range) -> float:
    return sum(plan.unit_heat_kw[0][t] for t in steps)


def _block(inside: float, outside: float) -> tuple[float, ...]:
    return tuple(inside if t in CHEAP else outside for t in range(STEPS))


def test_a_cheap_price_block_pulls_production_into_it_through_the_tank() -> None:
    inputs = make_inputs(
        STEPS,
        price_eur_per_mwh=_block(20.0, 200.0),
        heat_demand_kw=(500.0,) * STEPS,
        units=(make_unit(steps=STEPS, heat_min_kw=200.0, heat_max_kw=2000.0),),
        storage_capacity_kwh=12_000.0,
        storage_initial_kwh=1_000.0,
        boiler_fuel_price_eur_per_mwh=400.0,
    )
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    # Full output all through the cheap block, and the tank carries it into the dear hours.
    assert [plan.unit_heat_kw[0][t] for t in CHEAP] == pytest.approx([2000.0] * len(CHEAP))
    assert plan.storage_kwh[CHEAP[-1]] > plan.storage_kwh[CHEAP[0] - 1] + 2_500.0
    after = range(CHEAP[-1] + 1, STEPS)
    assert _heat_in(plan, after) == pytest.approx(0.0, abs=1e-6)
    before = range(CHEAP[0] - len(CHEAP), CHEAP[0])
    assert _heat_in(plan, CHEAP) > 3 * _heat_in(plan, before)


def test_same_instance_with_flat_price_spreads_production_instead() -> None:
    inputs = make_inputs(
        STEPS,
        price_eur_per_mwh=(110.0,) * STEPS,
        heat_demand_kw=(500.0,) * STEPS,
        units=(make_unit(steps=STEPS, heat_min_kw=200.0, heat_max_kw=2000.0),),
        storage_capacity_kwh=12_000.0,
        storage_initial_kwh=1_000.0,
        storage_loss_per_step=0.002,
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    # With standing losses and no price reason to store, nothing is stockpiled in the block.
    assert plan.storage_kwh[CHEAP[-1]] < 1_500.0


def test_a_high_carbon_price_moves_production_to_low_carbon_hours() -> None:
    base = make_inputs(
        STEPS,
        price_eur_per_mwh=(100.0,) * STEPS,
        carbon_g_per_kwh=_block(40.0, 400.0),
        heat_demand_kw=(500.0,) * STEPS,
        units=(make_unit(steps=STEPS, heat_min_kw=200.0, heat_max_kw=2000.0),),
        storage_capacity_kwh=12_000.0,
        storage_initial_kwh=1_000.0,
    )
    no_carbon_price = solve_plan(base)
    carbon_priced = solve_plan(replace(base, carbon_price_eur_per_t=500.0))
    for plan in (no_carbon_price, carbon_priced):
        assert_plan_valid(plan)
    assert _heat_in(carbon_priced, CHEAP) > _heat_in(no_carbon_price, CHEAP) + 2_000.0
    assert carbon_priced.carbon_t < no_carbon_price.carbon_t
    heat_in_block = [carbon_priced.unit_heat_kw[0][t] for t in CHEAP]
    assert heat_in_block == pytest.approx([2000.0] * len(CHEAP))


def test_negative_prices_run_units_to_fill_the_tank_within_its_limits() -> None:
    inputs = make_inputs(
        STEPS,
        price_eur_per_mwh=_block(-80.0, 150.0),
        heat_demand_kw=(300.0,) * STEPS,
        units=(make_unit(steps=STEPS), make_unit("hp2", steps=STEPS)),
        storage_capacity_kwh=5_000.0,
        storage_initial_kwh=500.0,
        storage_terminal_kwh=500.0,
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert max(plan.storage_kwh) <= 5_000.0 + 1e-6
    assert plan.storage_kwh[CHEAP[-1]] > 3_000.0
    assert sum(plan.surplus_heat_kw) == 0.0


def test_a_fuel_price_per_step_puts_the_boiler_where_gas_is_cheap_and_costs_it_there() -> None:
    # electricity dear throughout: the boiler carries the load, and the tank moves its heat
    # into the cheap-gas block
    fuel = _block(20.0, 300.0)
    inputs = make_inputs(
        STEPS,
        price_eur_per_mwh=(400.0,) * STEPS,
        heat_demand_kw=(500.0,) * STEPS,
        storage_capacity_kwh=12_000.0,
        storage_initial_kwh=1_000.0,
        boiler_fuel_price_by_step=fuel,
    )
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    in_block = sum(plan.boiler_heat_kw[t] for t in CHEAP)
    outside = sum(plan.boiler_heat_kw[t] for t in range(STEPS) if t not in CHEAP)
    assert in_block > outside
    fuel_kwh = [plan.boiler_heat_kw[t] * 0.25 / inputs.boiler_efficiency for t in range(STEPS)]
    expected_eur = sum(kwh * price / 1000.0 for kwh, price in zip(fuel_kwh, fuel, strict=True))
    assert plan.boiler_fuel_eur == pytest.approx(expected_eur)


def test_a_fuel_price_series_of_the_wrong_length_or_sign_is_refused() -> None:
    with pytest.raises(ValueError, match="boiler_fuel_price_by_step has 3 values"):
        make_inputs(STEPS, boiler_fuel_price_by_step=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"boiler_fuel_price_by_step\[0\] must be finite"):
        make_inputs(STEPS, boiler_fuel_price_by_step=(-1.0,) + (1.0,) * (STEPS - 1))
