"""Measured history carries across the horizon start: min run/off, starts per window, trips."""

from __future__ import annotations

import itertools
from dataclasses import replace

from controller.core.plan import solve_plan, steps_in_state
from tests.core.plan.checker import assert_plan_valid, plan_problems
from tests.core.plan.factories import make_inputs, make_unit

STEPS = 16


def test_a_unit_that_just_started_keeps_running_through_its_minimum_run_time() -> None:
    # Power is expensive and the tank is full: the unit would stop at once if it were allowed.
    unit = make_unit(steps=STEPS, min_run_steps=6, initially_on=True, steps_in_state=2)
    inputs = make_inputs(
        STEPS,
        units=(unit,),
        price_eur_per_mwh=(900.0,) * STEPS,
        storage_initial_kwh=2000.0,
        storage_terminal_kwh=0.0,
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert plan.unit_on[0][:4] == (True,) * 4
    assert not any(plan.unit_on[0][4:])
    # Held on, it runs at minimum load, and nothing is started.
    assert plan.unit_heat_kw[0][:4] == (300.0,) * 4
    assert not any(plan.unit_start[0])


def test_a_unit_that_just_stopped_stays_off_through_its_minimum_off_time() -> None:
    # Negative prices make running attractive from the first step.
    unit = make_unit(steps=STEPS, min_off_steps=5, initially_on=False, steps_in_state=1)
    inputs = make_inputs(
        STEPS, units=(unit,), price_eur_per_mwh=(-200.0,) * STEPS, storage_initial_kwh=0.0
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert plan.unit_on[0][:4] == (False,) * 4
    assert plan.unit_on[0][4]


def test_starts_before_the_horizon_count_against_the_window() -> None:
    # Price alternates every step, so an unconstrained unit would cycle; one start per 4 steps,
    # and one start already made in the last 3 steps.
    prices = tuple(-300.0 if t % 2 == 0 else 500.0 for t in range(STEPS))
    unit = make_unit(
        steps=STEPS,
        start_cost_eur=0.0,
        max_starts_per_window=1,
        start_window_steps=4,
        initially_on=False,
        steps_in_state=1,
        starts_in_window_before=1,
    )
    inputs = make_inputs(STEPS, units=(unit,), price_eur_per_mwh=prices, storage_initial_kwh=0.0)
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert not any(plan.unit_start[0][:3])
    starts = [t for t, s in enumerate(plan.unit_start[0]) if s]
    assert starts, "the unit should still cycle later in the horizon"
    assert all(b - a >= 4 for a, b in itertools.pairwise(starts))


def test_an_unavailable_unit_is_planned_off_even_against_its_minimum_run() -> None:
    tripped = make_unit(
        steps=STEPS, available=False, initially_on=True, steps_in_state=1, min_run_steps=8
    )
    spare = make_unit("hp2", steps=STEPS)
    inputs = make_inputs(STEPS, units=(tripped, spare))
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert not any(plan.unit_on[0])
    assert sum(plan.unit_heat_kw[1]) > 0.0


def test_the_checker_catches_a_run_cut_short_across_the_horizon_start() -> None:
    unit = make_unit(steps=STEPS, min_run_steps=6, initially_on=True, steps_in_state=2)
    plan = solve_plan(make_inputs(STEPS, units=(unit,), price_eur_per_mwh=(900.0,) * STEPS))
    assert_plan_valid(plan)
    # The same schedule for a unit with less history would have stopped too early.
    shorter = make_unit(steps=STEPS, min_run_steps=6, initially_on=True, steps_in_state=1)
    other_inputs = make_inputs(STEPS, units=(shorter,), price_eur_per_mwh=(900.0,) * STEPS)
    forged = replace(plan, inputs=other_inputs)
    assert any("stopped at step 4 after running 5 steps" in p for p in plan_problems(forged))


def test_a_served_minimum_time_holds_no_whole_step() -> None:
    # Hourly steps, a 30-minute minimum run: the hour has not passed, the minimum has.
    hour = 3600.0
    assert steps_in_state(1800.0, 1800.0, hour) == 1  # min_run_steps 1: nothing left to hold
    assert steps_in_state(2400.0, 1800.0, hour) == 1
    assert steps_in_state(7300.0, 1800.0, hour) == 2  # the whole steps, when there are more
    # Any minimum time left holds the step that holds it, as before.
    assert steps_in_state(1799.0, 1800.0, hour) == 0
    assert steps_in_state(0.0, 1800.0, hour) == 0
    # Quarter-hours: 20 of 30 minutes served leaves 10, one step, as the floor already said.
    assert steps_in_state(1200.0, 1800.0, 900.0) == 1
    assert steps_in_state(600.0, 1800.0, 900.0) == 0  # 20 minutes left: two steps held


def test_a_unit_that_has_served_its_minimum_run_is_free_to_stop_in_the_first_hour() -> None:
    # The hourly plan the evaluator's mpc makes: a unit on for its 30 minutes, power dear.
    unit = make_unit(
        steps=STEPS,
        min_run_steps=1,
        initially_on=True,
        steps_in_state=steps_in_state(1800.0, 1800.0, 3600.0),
    )
    inputs = make_inputs(
        STEPS,
        step_s=3600.0,
        units=(unit,),
        price_eur_per_mwh=(900.0,) * STEPS,
        storage_terminal_kwh=0.0,
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    assert not any(plan.unit_on[0])
