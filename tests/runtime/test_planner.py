"""The slow loop: re-planning on cadence and when new prices are published, the planning
problem built from what the plant knows, `hpctl plan` (the fallback ladder that follows the
plans is tested in test_plan_policy.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import controller.runtime.planner as planning
from controller.app.cli import main
from controller.core.estimate import estimate
from controller.core.history import first_history
from controller.core.plan import Plan
from controller.core.tank_limit import soc_below_high_limit
from controller.runtime.market import ScenarioMarket
from controller.runtime.plan_policy import PlanPolicy
from controller.runtime.planner import PlannerService
from controller.scenarios import default_scenario_path
from drivers.clock import SimClock
from drivers.scenario import parse_scenario
from tests.core.fakes import RIVER, plant_snapshot, river, situation
from tests.runtime.planner_rig import T0, cycle_report, planner_service, plant_state


async def test_publication_of_new_prices_triggers_a_replan() -> None:
    service, clock = planner_service()
    service.observe(cycle_report(plant_state(T0, 0.0)))
    await service.replan()
    clock.advance(6 * 3600 - 60)  # 12:59 in Copenhagen: results not out yet
    service.observe(
        cycle_report(plant_state(T0 + timedelta(seconds=6 * 3600 - 60), clock.monotonic_s()))
    )
    assert service.due()  # the 15-minute cadence is long past
    await service.replan()
    clock.advance(120)  # 13:01: tomorrow's prices are out
    service.observe(
        cycle_report(plant_state(T0 + timedelta(seconds=6 * 3600 + 60), clock.monotonic_s()))
    )
    assert service.due()


async def test_the_cadence_keeps_to_the_clock_grid_and_a_plan_starts_at_the_clock() -> None:
    """A plan made five minutes into a quarter-hour is followed by one made on the next
    quarter-hour, before that quarter-hour's first cycle, although the cycle's last state
    is older: the new step is planned for, not guessed from the old plan."""
    service, clock = planner_service()
    clock.advance(300)
    service.observe(cycle_report(plant_state(T0 + timedelta(seconds=300), 300.0)))
    first = await service.replan()
    assert first is not None and first.inputs.start_utc == T0
    clock.advance(300)
    service.observe(cycle_report(plant_state(T0 + timedelta(seconds=600), 600.0)))
    assert not service.due()  # 06:10: the plan for this quarter-hour stands
    clock.advance(300)  # 06:15 on the clock; the last state is the 06:10 cycle's
    assert service.due()
    second = await service.replan()
    assert second is not None and second.inputs.start_utc == T0 + timedelta(minutes=15)


async def test_a_solver_exception_never_reaches_the_controller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, _ = planner_service()
    service.observe(cycle_report(plant_state(T0, 0.0)))

    def exploding(
        inputs: planning.PlanInputs, previous: Plan | None = None, *, cold_start: bool = False
    ) -> Plan:
        raise RuntimeError("segfault in disguise")

    monkeypatch.setattr(planning, "solve_plan", exploding)
    assert await service.replan() is None
    assert service.current is None and service.solve_failures_total == 1


def test_planner_inputs_carry_measured_history_and_forecasts_only() -> None:
    service, _ = planner_service()
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
    # the band ends where the tank, fully mixed, reaches the stager's soft band below the
    # interlock: 85 - 2 - 3 = 80 °C in a 65-85 °C tank is 0.75, below soc_max_plan 0.85
    assert soc_below_high_limit(plant.site, plant.control) == pytest.approx(0.75)
    band = min(staging.soc_max_plan, 0.75) - staging.soc_reserve_plan
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

        def fuel_price(self, now_utc: datetime) -> float | None:
            return None

    service = PlannerService(plant, SilentMarket(), SimClock(T0))
    service.observe(cycle_report(plant_state(T0, 0.0)))
    assert not service.due()
    assert await service.replan_if_due() is None
    state = plant_state(T0, 0.0)
    histories = {u.name: first_history(u, -10_000) for u in state.units}
    assert (
        PlanPolicy(plant, service).targets(situation(plant, state, histories), None).source
        == "rules"
    )


async def test_prices_that_arrive_in_the_same_dict_object_or_a_new_one_are_seen() -> None:
    """A feed may hand out one dict for the whole run (the evaluator's perfect market) or a
    new one when prices change: either way a price for now makes a plan due."""
    plant = river()

    class LateMarket:
        def __init__(self) -> None:
            self.book: dict[datetime, float] = {T0 - timedelta(hours=3): 50.0}

        def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
            return self.book, max(self.book) + timedelta(hours=1)

        def carbon(self, now_utc: datetime) -> dict[datetime, float]:
            return {}

        def fuel_price(self, now_utc: datetime) -> float | None:
            return None

    market = LateMarket()
    service = PlannerService(plant, market, SimClock(T0))
    service.observe(cycle_report(plant_state(T0, 0.0)))
    assert not service.due()  # the only price is three hours old
    market.book = {**market.book, T0: 60.0}
    assert service.due()


def test_the_planner_prices_the_boiler_at_the_quoted_fuel_price_and_falls_back_to_the_plant_file() -> (
    None
):
    plant = river()
    assert plant.site.boiler is not None
    snap = plant_snapshot(plant.site, 70.0, now_s=5000.0)
    snap.now_utc = T0
    state = estimate(snap, plant.site)
    lines = ["timestamp_utc,price_eur_per_mwh,fuel_price_eur_per_mwh"]
    lines += [
        f"{T0 + timedelta(hours=h - 48):%Y-%m-%dT%H:%MZ},60,{120.0 if h <= 48 else 999.0}"
        for h in range(96)
    ]
    quoted = ScenarioMarket(
        parse_scenario(lines, "fuel.csv"),
        plant.control.planner.publication_time,
        plant.site.plant.timezone,
    )
    inputs, forecast = PlannerService(plant, quoted, SimClock(T0)).build_inputs(state, {})
    assert forecast.fuel_price_eur_per_mwh == 120.0  # the quote in force now, not a later one
    assert inputs.boiler_fuel_price_eur_per_mwh == 120.0
    assert set(inputs.fuel_price_per_step) == {120.0}
    service, _ = planner_service()  # the demo scenario has no fuel column
    inputs, forecast = service.build_inputs(state, {})
    assert forecast.fuel_price_eur_per_mwh is None
    assert inputs.boiler_fuel_price_eur_per_mwh == plant.site.boiler.fuel_price_eur_per_mwh
