"""A data centre's recoverable heat caps what the plan's evaporators take, step by step."""

from __future__ import annotations

import pytest

from controller.core.plan import solve_plan
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit

STEPS = 16
# the servers' heat through the day: a trough, a peak, a weekend-like dip (kW)
RECOVERABLE_KW = (400.0,) * 4 + (700.0,) * 4 + (250.0,) * 4 + (600.0,) * 4


def _evaporator_kw(heat_kw: float, power_kw: float) -> float:
    return heat_kw - power_kw


def test_the_plan_never_takes_more_evaporator_heat_than_the_forecast_recoverable_heat() -> None:
    # cheap electricity and dear gas: without the limit both units would run flat out
    inputs = make_inputs(
        STEPS,
        unit_count=2,
        price_eur_per_mwh=(20.0,) * STEPS,
        heat_demand_kw=(1500.0,) * STEPS,
        boiler_fuel_price_eur_per_mwh=300.0,
        source_heat_max_kw=RECOVERABLE_KW,
    )
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    for t, limit_kw in enumerate(RECOVERABLE_KW):
        taken_kw = sum(
            _evaporator_kw(plan.unit_heat_kw[u][t], plan.unit_power_kw[u][t]) for u in range(2)
        )
        assert taken_kw <= limit_kw + 1e-6
        # at COP 3 the heat pumps may deliver recoverable x COP / (COP - 1), and with gas
        # this dear they do: the limit binds where the units could do more
        heat_kw = sum(plan.unit_heat_kw[u][t] for u in range(2))
        assert heat_kw <= limit_kw * 3.0 / 2.0 + 1e-6
        assert heat_kw == pytest.approx(min(2000.0, limit_kw * 1.5), abs=1.0)
    # the boiler (or the tank) covers what the source cannot
    assert sum(plan.boiler_heat_kw) > 0


def test_the_limit_holds_with_a_part_load_curve() -> None:
    unit = make_unit(steps=STEPS, part_load_cop_factor=0.8, heat_min_kw=300.0)
    inputs = make_inputs(
        STEPS,
        units=(unit,),
        price_eur_per_mwh=(20.0,) * STEPS,
        heat_demand_kw=(900.0,) * STEPS,
        boiler_fuel_price_eur_per_mwh=300.0,
        source_heat_max_kw=RECOVERABLE_KW,
    )
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    for t, limit_kw in enumerate(RECOVERABLE_KW):
        taken_kw = _evaporator_kw(plan.unit_heat_kw[0][t], plan.unit_power_kw[0][t])
        assert taken_kw <= limit_kw + 1e-6


def test_a_unit_held_on_by_its_minimum_run_keeps_its_minimum_load_above_a_lower_limit() -> None:
    # history holds the unit on for 4 steps; a source of 50 kW cannot feed even its minimum:
    # the plan keeps the protection (minimum run) and stays solvable
    unit = make_unit(steps=STEPS, initially_on=True, steps_in_state=0, min_run_steps=4)
    inputs = make_inputs(STEPS, units=(unit,), source_heat_max_kw=(50.0,) * STEPS)
    plan = solve_plan(inputs)
    assert plan.usable
    assert_plan_valid(plan)
    assert all(plan.unit_on[0][:4])
    assert plan.unit_heat_kw[0][:4] == pytest.approx([300.0] * 4)
    assert not any(plan.unit_on[0][4:])  # free again: 50 kW cannot carry a 300 kW minimum


def test_a_bad_source_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="source_heat_max_kw has 3 values, expected 16"):
        make_inputs(STEPS, source_heat_max_kw=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"source_heat_max_kw\[0\] must be finite and >= 0"):
        make_inputs(STEPS, source_heat_max_kw=(-1.0,) + (1.0,) * (STEPS - 1))
