"""The planner service on the demo scenario, and the plant states and cycle reports it learns from."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.core.commands import Commands, Targets
from controller.core.estimate import PlantState, estimate
from controller.core.history import first_history
from controller.core.report import CycleReport
from controller.runtime.market import ScenarioMarket
from controller.runtime.planner import PlannerService
from controller.scenarios import default_scenario_path
from drivers.clock import SimClock
from drivers.scenario import load_scenario
from tests.core.fakes import plant_snapshot, river

T0 = datetime(2024, 1, 9, 6, 0, tzinfo=UTC)  # 07:00 in Copenhagen: before the day-ahead results


def plant_state(now: datetime, now_s: float, tank_c: float = 70.0) -> PlantState:
    plant = river()
    snap = plant_snapshot(plant.site, tank_c, now_s=now_s, demand_kw=15000.0)
    snap.now_utc = now
    return estimate(snap, plant.site)


def cycle_report(state: PlantState) -> CycleReport:
    histories = {u.name: first_history(u, state.now_s - 10_000) for u in state.units}
    empty = Targets(unit_on={}, unit_heat_kw={}, boiler_heat_kw=0.0, source="rules", reasons={})
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


def planner_service() -> tuple[PlannerService, SimClock]:
    plant = river()
    scenario = load_scenario(default_scenario_path())
    clock = SimClock(T0)
    market = ScenarioMarket(
        scenario, plant.control.planner.publication_time, plant.site.plant.timezone
    )
    return PlannerService(plant, market, clock), clock
