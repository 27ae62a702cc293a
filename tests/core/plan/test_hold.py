"""Plan stability: a new plan keeps the previous plan's near-term commitment unless changing it
gains more than the hold's price, and a warm-started re-plan with the hold is still valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from controller.core.plan import Plan, PlanInputs, solve_plan, with_hold
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit

STEPS = 16
HELD = 4  # the previous plan ran the unit in the first hour


def _dear_power(**unit_overrides: object) -> PlanInputs:
    """Power dearer than the boiler's heat all day: left alone, the unit stays off."""
    unit = make_unit(steps=STEPS, **unit_overrides)  # type: ignore[arg-type]
    return make_inputs(STEPS, units=(unit,), price_eur_per_mwh=(300.0,) * STEPS)


def _held(inputs: PlanInputs, eur_per_step: float) -> PlanInputs:
    unit = replace(inputs.units[0], hold_on=(True,) * HELD, hold_eur_per_step=eur_per_step)
    return replace(inputs, units=(unit,))


def _cost_without_hold(plan: Plan) -> float:
    return plan.objective_eur - plan.hold_eur


def test_the_hold_keeps_a_commitment_below_its_price_and_gives_it_up_above() -> None:
    free = solve_plan(_dear_power())
    assert_plan_valid(free)
    assert not any(free.unit_on[0])
    # What running the held hour really costs: the plan forced to keep it (a prohibitive hold).
    forced = solve_plan(_held(_dear_power(), 1e6))
    assert_plan_valid(forced)
    assert forced.unit_on[0][:HELD] == (True,) * HELD and forced.hold_eur == 0.0
    gain_per_step = (_cost_without_hold(forced) - _cost_without_hold(free)) / HELD
    assert gain_per_step > 1.0  # a real gain, well above the solver's tolerance

    kept = solve_plan(_held(_dear_power(), 2.0 * gain_per_step))
    assert_plan_valid(kept)
    assert kept.unit_on[0][:HELD] == (True,) * HELD
    assert kept.hold_eur == 0.0

    changed = solve_plan(_held(_dear_power(), 0.5 * gain_per_step))
    assert_plan_valid(changed)
    assert not any(changed.unit_on[0])
    assert changed.hold_eur == pytest.approx(HELD * 0.5 * gain_per_step)
    # the objective carries the hold it paid; the cash costs are the free plan's
    assert _cost_without_hold(changed) == pytest.approx(_cost_without_hold(free), rel=1e-6)


def test_a_unit_held_off_waits_for_the_end_of_the_hold_under_a_prohibitive_price() -> None:
    # Cheap power, an empty tank and dear gas: the unit would start at once, but the previous
    # plan had it off for an hour.
    cheap = make_inputs(
        STEPS,
        units=(make_unit(steps=STEPS),),
        price_eur_per_mwh=(20.0,) * STEPS,
        storage_initial_kwh=0.0,
        boiler_fuel_price_eur_per_mwh=200.0,
    )
    free = solve_plan(cheap)
    assert free.unit_on[0][0]
    off = replace(cheap.units[0], hold_on=(False,) * HELD, hold_eur_per_step=1e6)
    held = solve_plan(replace(cheap, units=(off,)))
    assert_plan_valid(held)
    assert not any(held.unit_on[0][:HELD]) and any(held.unit_on[0][HELD:])


def test_a_warm_started_replan_with_the_hold_is_valid_and_holds_the_shifted_plan() -> None:
    prices = tuple(40.0 if 6 <= t < 12 else 250.0 for t in range(STEPS + 4))
    first = make_inputs(
        STEPS,
        units=(make_unit("hp1", STEPS), make_unit("hp2", STEPS, initially_on=True)),
        price_eur_per_mwh=prices[:STEPS],
    )
    previous = solve_plan(first)
    assert_plan_valid(previous)
    # an hour later, the state the plan led to, and the prices moved on with the clock
    units = tuple(
        replace(
            unit,
            initially_on=previous.unit_on[u][3],
            steps_in_state=100,
            starts_in_window_before=0,
        )
        for u, unit in enumerate(first.units)
    )
    later = replace(
        first,
        start_utc=first.start_utc + timedelta(hours=1),
        price_eur_per_mwh=prices[4:],
        units=units,
        storage_initial_kwh=previous.storage_kwh[3],
    )
    held = with_hold(later, previous, hold_h=2.0, hold_eur_per_mwh=5.0)
    for u, unit in enumerate(held.units):
        assert unit.hold_on == previous.unit_on[u][4:12]  # 2 h of quarter-hours, shifted
        assert unit.hold_eur_per_step == pytest.approx(5.0 * 1.0 * 0.25)  # 1 MW x 1/4 h
    plan = solve_plan(held, previous)
    assert plan.usable and plan.start == "warm"
    assert_plan_valid(plan)


def test_nothing_is_held_without_a_previous_plan_that_reaches_the_new_start() -> None:
    inputs = make_inputs(STEPS)
    assert with_hold(inputs, None, 3.0, 5.0) is inputs
    previous = solve_plan(inputs)
    assert with_hold(inputs, previous, 0.0, 5.0) is inputs
    too_late = replace(inputs, start_utc=inputs.start_utc + timedelta(hours=5))
    assert with_hold(too_late, previous, 3.0, 5.0) is too_late
    # only the steps the previous plan covered are held
    near_end = replace(inputs, start_utc=inputs.start_utc + timedelta(hours=3, minutes=30))
    assert len(with_hold(near_end, previous, 3.0, 5.0).units[0].hold_on) == 2
