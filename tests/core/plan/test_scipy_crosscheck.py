"""Property tests: HiGHS (through solve_plan) and scipy.optimize.milp agree on the same arrays."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from controller.core.plan import MilpModel, PlanInputs, UnitPlanData, build_model, solve_plan
from controller.core.plan.result import plan_from_solution
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs

GAP = 1e-6


def scipy_solve(model: MilpModel) -> tuple[float, np.ndarray] | None:
    """Solve the planner's arrays with scipy's milp; None when scipy finds them infeasible."""
    matrix = model.matrix
    a = csr_array((matrix.value, matrix.index, matrix.start), shape=matrix.shape)
    result = milp(
        c=model.cost,
        constraints=[LinearConstraint(a, model.row_lower, model.row_upper)],
        bounds=Bounds(model.col_lower, model.col_upper),
        integrality=model.integrality,
        options={"mip_rel_gap": GAP, "time_limit": 30.0},
    )
    if result.status == 2:
        return None
    assert result.status == 0, result.message
    return float(result.fun), np.asarray(result.x)


@st.composite
def units(draw: st.DrawFn, steps: int, index: int) -> UnitPlanData:
    heat_max_kw = draw(st.floats(300.0, 1500.0))
    initially_on = draw(st.booleans())
    window = draw(st.integers(2, 6))
    return UnitPlanData(
        name=f"hp{index}",
        heat_min_kw=heat_max_kw * draw(st.floats(0.2, 0.6)),
        heat_max_kw=heat_max_kw,
        cop=tuple(draw(st.lists(st.floats(2.0, 4.5), min_size=steps, max_size=steps))),
        start_cost_eur=draw(st.floats(0.0, 30.0)),
        min_run_steps=draw(st.integers(1, 4)),
        min_off_steps=draw(st.integers(1, 4)),
        max_starts_per_window=draw(st.integers(1, 2)),
        start_window_steps=window,
        initially_on=initially_on,
        steps_in_state=draw(st.integers(0, 5)),
        starts_in_window_before=draw(st.integers(0, 2)),
        available=draw(st.booleans().map(lambda b: b or index > 0)),
        part_load_cop_factor=draw(st.sampled_from([1.0, 0.85])),
    )


@st.composite
def instances(draw: st.DrawFn) -> PlanInputs:
    steps = draw(st.integers(8, 16))
    count = draw(st.integers(2, 3))
    series = st.lists(st.floats(-50.0, 400.0), min_size=steps, max_size=steps)
    carbon = st.lists(st.floats(20.0, 400.0), min_size=steps, max_size=steps)
    demand = st.lists(st.floats(0.0, 2500.0), min_size=steps, max_size=steps)
    capacity = draw(st.floats(0.0, 3000.0))
    base = make_inputs(steps)
    terminal_value = draw(st.none() | st.floats(0.0, 0.2))
    return replace(
        base,
        price_eur_per_mwh=tuple(draw(series)),
        carbon_g_per_kwh=tuple(draw(carbon)),
        heat_demand_kw=tuple(draw(demand)),
        units=tuple(draw(units(steps, i)) for i in range(count)),
        storage_capacity_kwh=capacity,
        storage_initial_kwh=capacity * draw(st.floats(0.0, 1.0)),
        storage_loss_per_step=draw(st.floats(0.0, 0.01)),
        storage_max_charge_kw=draw(st.none() | st.floats(200.0, 3000.0)),
        storage_terminal_value_eur_per_kwh=terminal_value,
        storage_terminal_kwh=draw(st.none() | st.floats(0.0, 3000.0)),
        boiler_heat_max_kw=draw(st.floats(0.0, 2000.0)),
        carbon_price_eur_per_t=draw(st.floats(0.0, 300.0)),
        grid_import_limit_kw=draw(st.none() | st.floats(100.0, 1500.0)),
        emissions_cap_kg=draw(st.none() | st.floats(0.0, 400.0)),
        unmet_penalty_eur_per_mwh=draw(st.sampled_from([3000.0, 10_000.0])),
        mip_rel_gap=GAP,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_highs_and_scipy_reach_the_same_objective(inputs: PlanInputs) -> None:
    plan = solve_plan(inputs)
    model = build_model(inputs)
    scipy_result = scipy_solve(model)
    event(plan.status)
    if plan.status == "infeasible":
        # Only an emissions cap that units held on by their history already break does this.
        assert inputs.emissions_cap_kg is not None
        assert scipy_result is None
        return
    assert plan.status == "optimal"
    assert_plan_valid(plan)
    assert scipy_result is not None
    scipy_objective, scipy_x = scipy_result
    scale = max(abs(plan.objective_eur), abs(scipy_objective), 1.0)
    assert plan.objective_eur == pytest.approx(scipy_objective, abs=1e-5 * scale + 1e-4)
    # The other solver's solution also passes the independent checks: the arrays, not just
    # HiGHS, encode the plant's rules.
    other = plan_from_solution(
        inputs,
        model,
        scipy_x,
        status="optimal",
        objective_eur=scipy_objective,
        mip_gap=0.0,
        solve_time_s=0.0,
    )
    assert_plan_valid(other)
