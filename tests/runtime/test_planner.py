"""The slow loop and the fallback ladder: new plan -> last plan -> rules, each step logged once
and counted; re-planning on cadence and when new prices are published; `hpctl plan`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import controller.runtime.planner as planning
from controller.app.cli import main
from controller.core.estimate import PlantState, estimate
from controller.core.history import first_history
from controller.core.plan import Plan
from controller.core.report import CycleReport
from controller.runtime.market import ScenarioMarket
from controller.runtime.planner import PlannerService, PlanPolicy
from controller.scenarios import default_scenario_path
from drivers.clock import SimClock
from drivers.scenario import load_scenario
from tests.core.fakes import RIVER, plant_snapshot, river

T0 = datetime(2024, 1, 9, 6, 0, tzinfo=UTC)  # 07:00 in Copenhagen: before the day-ahead results


def _state(now: datetime, now_s: float, tank_c: float = 70.0) -> PlantState:
    plant = river()
    snap = plant_snapshot(plant.site, tank_c, now_s=now_s, demand_kw=15000.0)
    snap.now_utc = now
    return estimate(snap, plant.site)


def _report(state: PlantState) -> CycleReport:
    histories = {u.name: first_history(u, state.now_s - 10_000) for u in state.units}
    empty = planning.Targets(
        unit_on={}, unit_heat_kw={}, boiler_heat_kw=0.0, source="rules", reasons={}
    )
    from controller.core.commands import Commands

    return CycleReport(
        number=1,
        state=state,
        targets=empty,
        commands=Commands(units={}, valves={}, boiler=None),
        interlocks=(),
        new_interlocks=(),
        handed_back=False,
        writes={},
        write_errors={},
        histories=histories,
        duration_s=0.0,
    )


def _service() -> tuple[PlannerService, SimClock]:
    plant = river()
    scenario = load_scenario(default_scenario_path())
    clock = SimClock(T0)
    market = ScenarioMarket(
        scenario, plant.control.planner.publication_time, plant.site.plant.timezone
    )
    return PlannerService(plant, market, clock), clock


async def test_a_fresh_plan_drives_the_targets() -> None:
    service, clock = _service()
    policy = PlanPolicy(river(), service)
    state = _state(T0, clock.monotonic_s())
    service.observe(_report(state))
    assert service.due()
    plan = await service.replan()
    assert plan is not None and plan.usable
    assert not service.due()  # nothing changed since
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    targets = policy.targets(state, histories, None)
    assert targets.source == "plan"
    step = plan.step_at(state.now_utc)
    assert step is not None
    assert targets.unit_on == {
        name: plan.unit_on[i][step] for i, name in enumerate(plan.unit_names)
    }
    assert policy.transitions[("rules", "plan")] == 1


async def test_publication_of_new_prices_triggers_a_replan() -> None:
    service, clock = _service()
    service.observe(_report(_state(T0, 0.0)))
    await service.replan()
    clock.advance(5 * 3600 - 60)  # 11:59 in Copenhagen: still the old prices, inside the cadence?
    service.observe(_report(_state(T0 + timedelta(seconds=5 * 3600 - 60), clock.monotonic_s())))
    assert service.due()  # the 15-minute cadence is long past
    await service.replan()
    clock.advance(120)  # 12:01: tomorrow's prices are out
    service.observe(_report(_state(T0 + timedelta(seconds=5 * 3600 + 60), clock.monotonic_s())))
    assert service.due()


async def test_fallback_ladder_plan_last_plan_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    service, clock = _service()
    plant = river()
    policy = PlanPolicy(plant, service)
    state = _state(T0, 0.0)
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    service.observe(_report(state))
    await service.replan()
    assert policy.targets(state, histories, None).source == "plan"

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
    later = _state(T0 + timedelta(seconds=1800), clock.monotonic_s())
    service.observe(_report(later))
    failed = await service.replan()
    assert failed is not None and not failed.usable
    assert service.solve_failures_total == 1
    assert policy.targets(later, histories, None).source == "last_plan"  # still covers now

    much_later = T0 + timedelta(seconds=plant.control.planner.max_plan_age_s + 60)
    stale = replace(later, now_utc=much_later)
    assert policy.targets(stale, histories, None).source == "rules"
    assert policy.transitions == {
        ("rules", "plan"): 1,
        ("plan", "last_plan"): 1,
        ("last_plan", "rules"): 1,
    }


async def test_a_solver_exception_never_reaches_the_controller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, _ = _service()
    service.observe(_report(_state(T0, 0.0)))

    def exploding(
        inputs: planning.PlanInputs, previous: Plan | None = None, *, cold_start: bool = False
    ) -> Plan:
        raise RuntimeError("segfault in disguise")

    monkeypatch.setattr(planning, "solve_plan", exploding)
    assert await service.replan() is None
    assert service.current is None and service.solve_failures_total == 1


def test_planner_inputs_carry_measured_history_and_forecasts_only() -> None:
    service, _ = _service()
    plant = river()
    snap = plant_snapshot(plant.site, 70.0, {"hp1": True}, now_s=5000.0)
    snap.now_utc = T0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, 5000.0 - 600.0) for u in state.units}
    inputs, forecast = service.build_inputs(state, histories)
    hp1 = next(u for u in inputs.units if u.name == "hp1")
    assert hp1.initially_on and hp1.steps_in_state == 600 // 900
    assert hp1.starts_in_window_before == 1
    assert forecast.prices_known_until == datetime(2024, 1, 9, 23, 0, tzinfo=UTC)
    assert inputs.steps == plant.control.planner.horizon_steps
    staging = plant.control.staging
    band = staging.soc_max_plan - staging.soc_reserve_plan
    assert inputs.storage_capacity_kwh == pytest.approx(state.capacity_kwh * band)
    reserve_kwh = state.capacity_kwh * staging.soc_reserve_plan
    assert inputs.storage_initial_kwh == pytest.approx((state.energy_kwh or 0.0) - reserve_kwh)


def test_hpctl_plan_prints_a_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "plan",
        "--plant",
        str(RIVER),
        "--scenario",
        str(default_scenario_path()),
        "--start",
        "2024-01-09T13:00Z",
        "--horizon",
        "24h",
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "plan optimal" in table or "plan time_limit_feasible" in table
    assert "2024-01-10 12:45" in table and "*" in table  # beyond the published day: forecast
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["usable"] and len(data["steps"]) == 96
    assert data["prices_known_until_utc"] == "2024-01-10T23:00:00+00:00"
    assert all(
        step["price_known"] == (step["start_utc"] < "2024-01-10T23") for step in data["steps"]
    )


def test_hpctl_plan_refuses_a_bad_horizon(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "plan",
                "--plant",
                str(RIVER),
                "--scenario",
                str(default_scenario_path()),
                "--start",
                "2024-01-09T13:00Z",
                "--horizon",
                "500h",
            ]
        )
    assert "outside 2..96 h" in capsys.readouterr().err


async def test_no_plan_without_prices() -> None:
    plant = river()

    class SilentMarket:
        def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
            return {}, now_utc

        def carbon(self, now_utc: datetime) -> dict[datetime, float]:
            return {}

    service = PlannerService(plant, SilentMarket(), SimClock(T0))
    service.observe(_report(_state(T0, 0.0)))
    assert not service.due()
    assert await service.replan_if_due() is None
    state = _state(T0, 0.0)
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    assert PlanPolicy(plant, service).targets(state, histories, None).source == "rules"


async def test_replans_start_warm_from_the_last_plan_and_cold_after_a_long_gap() -> None:
    service, clock = _service()
    service.observe(_report(_state(T0, 0.0)))
    first = await service.replan()
    assert first is not None and first.usable and first.start == "cold"
    clock.advance(900)
    service.observe(_report(_state(T0 + timedelta(seconds=900), clock.monotonic_s())))
    second = await service.replan()
    assert second is not None and second.usable and second.start == "warm"
    assert second.time_to_first_solution_s <= second.solve_time_s
    gap_s = river().control.planner.max_plan_age_s + 900
    clock.advance(gap_s)
    service.observe(_report(_state(T0 + timedelta(seconds=900 + gap_s), clock.monotonic_s())))
    third = await service.replan()
    assert third is not None and third.usable and third.start == "cold"
