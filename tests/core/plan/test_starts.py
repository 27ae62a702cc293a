"""Starting solutions: warm (the previous plan shifted) and cold (the rounded LP relaxation).

A start only changes how fast HiGHS gets there, never what a plan may be: every start must
pass the independent checker, warm and cold solves agree within the gap, and a warm start the
new state makes infeasible falls back to a cold solve.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from controller.core.plan import Plan, PlanInputs, build_model, solve_plan
from controller.core.plan.result import plan_from_solution
from controller.core.plan.solve import (
    certified_gap,
    solve_model,
    solve_relaxation,
    starting_solution,
)
from controller.core.plan.start import complete_start, shifted_wish, start_violation
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import dk2_day, make_inputs, make_unit, per_quarter_hour

STEPS = 96  # 24 h of quarter-hours
GAP = 0.01


def _day_inputs(offset_steps: int = 0) -> PlanInputs:
    """Four units with run/off times and a starts limit on a real DK2 day, `offset_steps` on."""
    prices, carbon = dk2_day("2022-01-10T00:00Z")
    price_q, carbon_q = per_quarter_hour(prices), per_quarter_hour(carbon)
    shifted = [t + offset_steps for t in range(STEPS)]
    units = tuple(
        make_unit(
            f"hp{i + 1}",
            STEPS,
            heat_min_kw=300.0 + 50.0 * i,
            heat_max_kw=1000.0 + 200.0 * i,
            cop=tuple(3.0 + 0.3 * math.sin((t + i) / 10.0) for t in shifted),
            min_run_steps=2 + i % 3,
            min_off_steps=1 + i % 2,
            max_starts_per_window=2,
            start_window_steps=4,
            start_cost_eur=20.0,
            initially_on=i % 2 == 0,
            steps_in_state=3,
            part_load_cop_factor=0.9,
        )
        for i in range(4)
    )
    inputs = make_inputs(
        STEPS,
        start_utc=make_inputs().start_utc + timedelta(minutes=15 * offset_steps),
        price_eur_per_mwh=tuple(price_q[t % len(price_q)] for t in shifted),
        carbon_g_per_kwh=tuple(carbon_q[t % len(carbon_q)] for t in shifted),
        heat_demand_kw=tuple(2200.0 + 600.0 * math.cos(t / 15.0) for t in shifted),
        units=units,
        storage_capacity_kwh=8000.0,
        storage_initial_kwh=4000.0,
        storage_terminal_kwh=4000.0,
        mip_rel_gap=GAP,
    )
    return inputs


def _followed_one_step(inputs: PlanInputs, previous: Plan) -> PlanInputs:
    """`inputs` with the state reached by following `previous` for its first step."""
    units = []
    for u, unit in enumerate(previous.inputs.units):
        on = previous.unit_on[u][0]
        units.append(
            replace(
                inputs.units[u],
                initially_on=on,
                steps_in_state=unit.steps_in_state + 1 if on == unit.initially_on else 1,
                starts_in_window_before=min(
                    unit.starts_in_window_before + int(previous.unit_start[u][0]),
                    unit.max_starts_per_window,
                ),
            )
        )
    return replace(inputs, units=tuple(units), storage_initial_kwh=previous.storage_kwh[0])


def _as_plan(inputs: PlanInputs, x: np.ndarray) -> Plan:  # type: ignore[type-arg]
    model = build_model(inputs)
    return plan_from_solution(
        inputs,
        model,
        x,
        status="optimal",
        objective_eur=float(model.cost @ x),
        mip_gap=0.0,
        solve_time_s=0.0,
    )


@pytest.fixture(scope="module")
def previous() -> Plan:
    plan = solve_plan(_day_inputs(), cold_start=True)
    assert plan.usable
    return plan


def test_warm_and_cold_solves_of_the_same_inputs_agree_within_the_gap(previous: Plan) -> None:
    inputs = _followed_one_step(_day_inputs(1), previous)
    warm = solve_plan(inputs, previous)
    cold = solve_plan(inputs, cold_start=True)
    plain = solve_plan(inputs)
    assert (warm.start, cold.start, plain.start) == ("warm", "cold", "none")
    for plan in (warm, cold, plain):
        assert plan.usable
        assert_plan_valid(plan)
        assert plan.time_to_first_solution_s <= plan.solve_time_s
    best = min(warm.objective_eur, cold.objective_eur, plain.objective_eur)
    for plan in (warm, cold, plain):
        assert plan.objective_eur <= best + GAP * abs(best) + 1e-6


def test_a_warm_start_infeasible_for_the_new_state_falls_back_to_a_cold_solve(
    previous: Plan,
) -> None:
    # The new state caps emissions far below what the previous commitment emits: the shifted
    # plan breaks the cap, so it cannot seed the solve.
    inputs = replace(_followed_one_step(_day_inputs(1), previous), emissions_cap_kg=500.0)
    model = build_model(inputs)
    wish = shifted_wish(previous, inputs)
    assert wish is not None
    assert complete_start(inputs, model, *wish) is None
    plan = solve_plan(inputs, previous)
    assert plan.start in ("cold", "none")
    assert plan.usable
    assert_plan_valid(plan)
    assert plan.carbon_t * 1000.0 <= 500.0 + 1e-3


def test_highs_does_not_keep_a_start_that_breaks_its_rows(previous: Plan) -> None:
    inputs = _followed_one_step(_day_inputs(1), previous)
    model = build_model(inputs)
    kind, start = starting_solution(inputs, model, previous, cold_start=False)
    assert kind == "warm" and start is not None
    broken = start.copy()
    broken[model.index.storage] += 500.0  # the tank balance no longer holds
    assert start_violation(model, broken) > 1.0
    outcome = solve_model(model, 10.0, GAP, broken)
    assert not outcome.start_accepted
    assert outcome.x is not None and start_violation(model, outcome.x) < 1e-5


def test_a_warm_start_after_a_trip_keeps_the_tripped_unit_off(previous: Plan) -> None:
    inputs = _followed_one_step(_day_inputs(1), previous)
    running = next(u for u, row in enumerate(previous.unit_on) if any(row[1:]))
    units = list(inputs.units)
    units[running] = replace(units[running], available=False, initially_on=False)
    tripped = replace(inputs, units=tuple(units))
    model = build_model(tripped)
    kind, start = starting_solution(tripped, model, previous, cold_start=False)
    assert kind == "warm" and start is not None
    assert not start[model.index.on[running]].any()
    assert_plan_valid(_as_plan(tripped, start))


def test_a_previous_plan_that_cannot_speak_for_the_new_horizon_gives_no_warm_start(
    previous: Plan,
) -> None:
    later = _day_inputs(STEPS)  # no overlap left
    assert shifted_wish(previous, later) is None
    half_step = replace(_day_inputs(1), start_utc=previous.inputs.start_utc + timedelta(minutes=7))
    assert shifted_wish(previous, half_step) is None
    renamed = replace(
        _day_inputs(1), units=tuple(replace(u, name=u.name + "x") for u in _day_inputs(1).units)
    )
    assert shifted_wish(previous, renamed) is None


@pytest.mark.parametrize("seed", range(6))
def test_any_wish_is_repaired_into_a_start_the_checker_accepts(seed: int) -> None:
    # A random commitment breaks run/off times and the starts limit everywhere; the repaired
    # start must satisfy them all, carried-over history included.
    rng = random.Random(seed)
    inputs = _day_inputs()
    units = tuple(
        replace(
            unit,
            initially_on=rng.random() < 0.5,
            steps_in_state=rng.randrange(0, 4),
            starts_in_window_before=rng.randrange(0, 3),
            available=rng.random() < 0.9,
        )
        for unit in inputs.units
    )
    inputs = replace(inputs, units=units, storage_initial_kwh=rng.uniform(0.0, 8000.0))
    model = build_model(inputs)
    shape = model.index.on.shape
    wanted_on = np.array([[rng.random() < 0.5 for _ in range(shape[1])] for _ in range(shape[0])])
    wanted_heat = np.array(
        [[rng.uniform(0.0, 2000.0) for _ in range(shape[1])] for _ in range(shape[0])]
    )
    wanted_boiler = np.array([rng.uniform(0.0, 2500.0) for _ in range(shape[1])])
    x = complete_start(inputs, model, wanted_on, wanted_heat, wanted_boiler)
    assert x is not None
    assert start_violation(model, x) <= 1e-6
    assert_plan_valid(_as_plan(inputs, x))


def test_a_start_within_the_gap_of_the_lp_bound_is_the_plan_without_a_mip(previous: Plan) -> None:
    """The LP relaxation bounds every integer plan from below, so a start within the gap of it
    is within the gap of the optimum: it is returned as it is, and nothing better than the gap
    allows is lost against a full MIP solve."""
    inputs = _followed_one_step(_day_inputs(1), previous)
    model = build_model(inputs)
    kind, start = starting_solution(inputs, model, previous, cold_start=False)
    assert kind == "warm"
    assert start is not None
    relaxed = solve_relaxation(model, 30.0)
    assert relaxed is not None
    bound = float(model.cost @ relaxed)
    assert certified_gap(model, start, bound) <= GAP  # this day exercises the certificate
    mip = solve_model(model, 30.0, GAP)
    assert mip.x is not None
    assert bound <= mip.objective_eur + 1e-6  # the bound holds against HiGHS's own answer
    plan = solve_plan(inputs, previous)
    assert plan.usable
    assert plan.start == "warm"
    assert_plan_valid(plan)
    assert plan.mip_gap <= GAP
    raw_objective = plan.objective_eur - model.cost_offset_eur
    assert raw_objective == pytest.approx(float(model.cost @ start))
    assert raw_objective - bound <= GAP * abs(raw_objective) + 1e-6


def test_a_start_outside_the_gap_is_improved_by_the_mip(previous: Plan) -> None:
    inputs = replace(_followed_one_step(_day_inputs(1), previous), mip_rel_gap=1e-7)
    model = build_model(inputs)
    _, start = starting_solution(inputs, model, previous, cold_start=False)
    assert start is not None
    plan = solve_plan(inputs, previous)
    assert plan.usable
    assert_plan_valid(plan)
    # HiGHS ran: it proves far tighter than the start's own distance from the LP bound
    assert plan.objective_eur - model.cost_offset_eur <= float(model.cost @ start) + 1e-6
    assert plan.mip_gap < 1e-3
