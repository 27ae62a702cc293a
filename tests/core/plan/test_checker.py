"""The checker itself: a valid plan passes, and each kind of tampering is reported."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.core.plan import Plan, solve_plan
from tests.core.plan.checker import plan_problems
from tests.core.plan.factories import make_inputs, make_unit

STEPS = 16


@pytest.fixture(scope="module")
def plan() -> Plan:
    prices = tuple(40.0 if t < 8 else 160.0 for t in range(STEPS))
    units = (make_unit(steps=STEPS), make_unit("hp2", steps=STEPS, min_run_steps=3))
    result = solve_plan(make_inputs(STEPS, units=units, price_eur_per_mwh=prices))
    assert plan_problems(result) == []
    return result


def _with_unit_value(
    rows: tuple[tuple[float, ...], ...], step: int, value: float
) -> tuple[tuple[float, ...], ...]:
    first = list(rows[0])
    first[step] = value
    return (tuple(first), *rows[1:])


def test_broken_energy_balance_is_reported(plan: Plan) -> None:
    storage = list(plan.storage_kwh)
    storage[5] += 50.0
    problems = plan_problems(replace(plan, storage_kwh=tuple(storage)))
    assert any("step 5: storage" in p for p in problems)


def test_heat_below_minimum_load_is_reported(plan: Plan) -> None:
    step = plan.unit_on[0].index(True)
    tampered = replace(plan, unit_heat_kw=_with_unit_value(plan.unit_heat_kw, step, 100.0))
    assert any("outside load range" in p for p in plan_problems(tampered))


def test_heat_from_a_unit_that_is_off_is_reported(plan: Plan) -> None:
    on = list(plan.unit_on[0])
    step = on.index(True)
    on[step] = False
    tampered = replace(plan, unit_on=(tuple(on), *plan.unit_on[1:]))
    assert any("off but heat" in p for p in plan_problems(tampered))


def test_a_wrong_cost_is_reported(plan: Plan) -> None:
    tampered = replace(plan, objective_eur=plan.objective_eur + 10.0)
    assert any("cost recomputed" in p for p in plan_problems(tampered))


def test_an_unusable_plan_fails_the_check(plan: Plan) -> None:
    assert plan_problems(replace(plan, usable=False)) == ["plan is not usable"]
