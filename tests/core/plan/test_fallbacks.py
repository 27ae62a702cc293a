"""Solver trouble never raises: the plan says what happened and whether it can be used."""

from __future__ import annotations

import math
from dataclasses import replace

import highspy
import pytest
from highspy._core import _Highs

from controller.core.plan import PlanInputs, solve_plan
from controller.core.plan import solve as solve_module
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit

BIG_STEPS = 192  # 48 h of quarter-hours


def big_instance(time_limit_s: float) -> PlanInputs:
    prices = tuple(60.0 + 50.0 * math.sin(t / 9.0) + (t % 7) * 3.0 for t in range(BIG_STEPS))
    units = tuple(
        make_unit(
            f"hp{i + 1}",
            BIG_STEPS,
            heat_min_kw=300.0 + 10 * i,
            min_run_steps=2 + i % 3,
            min_off_steps=1 + i % 2,
            max_starts_per_window=2,
            start_window_steps=8,
            initially_on=i % 2 == 0,
            steps_in_state=i,
        )
        for i in range(16)
    )
    return make_inputs(
        BIG_STEPS,
        units=units,
        price_eur_per_mwh=prices,
        heat_demand_kw=tuple(9000.0 + 3000.0 * math.cos(t / 15.0) for t in range(BIG_STEPS)),
        storage_capacity_kwh=20_000.0,
        storage_initial_kwh=10_000.0,
        time_limit_s=time_limit_s,
        mip_rel_gap=1e-9,
    )


def test_a_tiny_time_limit_gives_a_plan_with_its_status_and_never_raises() -> None:
    plan = solve_plan(big_instance(time_limit_s=0.001))
    assert plan.status in {"time_limit_feasible", "time_limit_no_solution"}
    if plan.usable:
        assert_plan_valid(plan)
        assert plan.mip_gap >= 0.0
    else:
        assert plan.unit_on == ()
        assert math.isnan(plan.objective_eur)


class _StopAtFirstSolution(_Highs):
    """Stops like a limit does, but deterministically: right after the first solution."""

    def run(self) -> highspy.HighsStatus:
        self.setOptionValue("mip_max_improving_sols", 1)
        return super().run()


def test_a_limit_hit_with_a_solution_in_hand_keeps_that_solution_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solve_module, "_Highs", _StopAtFirstSolution)
    plan = solve_plan(big_instance(time_limit_s=60.0))
    assert plan.status == "time_limit_feasible"
    assert plan.usable
    assert_plan_valid(plan)
    assert plan.mip_gap > 0.0


def test_an_emissions_cap_the_held_on_units_already_break_is_infeasible() -> None:
    # The unit must keep running (minimum run time) and every kWh it draws emits carbon, so no
    # amount of unmet-heat slack can bring emissions under a zero cap.
    held_on = make_unit(min_run_steps=8, initially_on=True, steps_in_state=1)
    plan = solve_plan(make_inputs(units=(held_on,), emissions_cap_kg=0.0))
    assert plan.status == "infeasible"
    assert not plan.usable
    assert plan.unit_on == ()


def test_an_emissions_cap_is_met_by_leaving_heat_unmet_at_the_penalty() -> None:
    plan = solve_plan(make_inputs(unit_count=1, emissions_cap_kg=50.0))
    assert plan.usable
    assert_plan_valid(plan)
    assert plan.carbon_t * 1000.0 == pytest.approx(50.0, abs=1e-3)
    assert sum(plan.unmet_heat_kw) > 0.0


class _ExplodingHighs(_Highs):
    def run(self) -> highspy.HighsStatus:
        raise RuntimeError("solver crashed")


class _RejectingHighs(_Highs):
    def passModel(self, *args: object) -> highspy.HighsStatus:
        return highspy.HighsStatus.kError


@pytest.mark.parametrize("highs_class", [_ExplodingHighs, _RejectingHighs])
def test_a_failing_solver_gives_an_unusable_plan(
    monkeypatch: pytest.MonkeyPatch, highs_class: type[_Highs]
) -> None:
    monkeypatch.setattr(solve_module, "_Highs", highs_class)
    plan = solve_plan(make_inputs(unit_count=2))
    assert plan.status == "error"
    assert not plan.usable
    assert plan.message


def test_the_plan_knows_which_step_covers_a_time() -> None:
    inputs = make_inputs(steps=8)
    plan = solve_plan(replace(inputs, time_limit_s=5.0))
    start = inputs.start_utc
    assert plan.step_at(start) == 0
    assert plan.step_at(start.replace(minute=14, second=59)) == 0
    assert plan.step_at(start.replace(minute=15)) == 1
    assert plan.step_at(start.replace(hour=1, minute=59)) == 7
    assert plan.step_at(plan.valid_until_utc) is None
    assert plan.step_at(start.replace(day=9)) is None
