"""The plan follower's fallback ladder: new plan -> last plan -> rules, each step logged once
and counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

import controller.runtime.planner as planning
from controller.core.history import first_history
from controller.core.plan import Plan
from controller.runtime.plan_policy import PlanPolicy
from tests.core.fakes import river, situation
from tests.runtime.planner_rig import T0, cycle_report, planner_service, plant_state


async def test_a_fresh_plan_drives_the_targets() -> None:
    service, clock = planner_service()
    policy = PlanPolicy(river(), service)
    state = plant_state(T0, clock.monotonic_s())
    service.observe(cycle_report(state))
    assert service.due()
    plan = await service.replan()
    assert plan is not None and plan.usable
    assert not service.due()  # nothing changed since
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    targets = policy.targets(situation(river(), state, histories), None)
    assert targets.source == "plan"
    step = plan.step_at(state.now_utc)
    assert step is not None
    assert targets.unit_on == {
        name: plan.unit_on[i][step] for i, name in enumerate(plan.unit_names)
    }
    assert policy.transitions[("rules", "plan")] == 1


async def test_fallback_ladder_plan_last_plan_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    service, clock = planner_service()
    plant = river()
    policy = PlanPolicy(plant, service)
    state = plant_state(T0, 0.0)
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    service.observe(cycle_report(state))
    await service.replan()
    assert policy.targets(situation(plant, state, histories), None).source == "plan"

    def failing(
        inputs: planning.PlanInputs, previous: Plan | None = None, *, cold_start: bool = False
    ) -> Plan:
        return Plan(
            inputs=inputs,
            status="error",
            usable=False,
            objective_eur=float("nan"),
            mip_gap=float("nan"),
            solve_time_s=0.0,
            message="solver crashed",
        )

    monkeypatch.setattr(planning, "solve_plan", failing)
    clock.advance(1800)
    later = plant_state(T0 + timedelta(seconds=1800), clock.monotonic_s())
    service.observe(cycle_report(later))
    failed = await service.replan()
    assert failed is not None and not failed.usable
    assert service.solve_failures_total == 1
    assert (
        policy.targets(situation(plant, later, histories), None).source == "last_plan"
    )  # still covers now

    much_later = T0 + timedelta(seconds=plant.control.planner.max_plan_age_s + 60)
    stale = replace(later, now_utc=much_later)
    assert policy.targets(situation(plant, stale, histories), None).source == "rules"
    assert policy.transitions == {
        ("rules", "plan"): 1,
        ("plan", "last_plan"): 1,
        ("last_plan", "rules"): 1,
    }


async def test_every_rung_change_is_logged_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11: the planner dropping to the rules said nothing about why."""
    service, clock = planner_service()
    plant = river()
    policy = PlanPolicy(plant, service)
    state = plant_state(T0, 0.0)
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    before = policy.targets(situation(plant, state, histories), None)
    assert before.source == "rules"
    assert before.source_reason == "no plan yet: the first planning run has not finished"
    service.observe(cycle_report(state))
    await service.replan()
    caplog.set_level("INFO", logger="controller.runtime.plan_policy")
    followed = policy.targets(situation(plant, state, histories), None)
    assert followed.source_reason.startswith("following the plan from")

    def failing(
        inputs: planning.PlanInputs, previous: Plan | None = None, *, cold_start: bool = False
    ) -> Plan:
        return Plan(
            inputs=inputs,
            status="error",
            usable=False,
            objective_eur=float("nan"),
            mip_gap=float("nan"),
            solve_time_s=0.0,
            message="solver crashed",
        )

    monkeypatch.setattr(planning, "solve_plan", failing)
    clock.advance(1800)
    later = plant_state(T0 + timedelta(seconds=1800), clock.monotonic_s())
    service.observe(cycle_report(later))
    await service.replan()
    last = policy.targets(situation(plant, later, histories), None)
    assert last.source == "last_plan"
    assert "the last planning run ended error (solver crashed)" in last.source_reason

    much_later = T0 + timedelta(seconds=plant.control.planner.max_plan_age_s + 60)
    rules = policy.targets(situation(plant, replace(later, now_utc=much_later), histories), None)
    assert rules.source == "rules"
    assert "h old, beyond max_plan_age_s" in rules.source_reason
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("dispatch: rules -> plan: following the plan") for line in lines)
    assert any(
        line.startswith("dispatch: plan -> last_plan: the last planning run ended error")
        for line in lines
    )
    assert any(
        line.startswith("dispatch: last_plan -> rules: the last usable plan is") for line in lines
    )
