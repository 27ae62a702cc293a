"""One policy over the replayed period: plant physics and the live control cycle in lockstep.

Each step: the plant steps under the scenario's boundary (the step's start), simulated time
moves, the planner re-plans if it is due (in its worker thread; the step waits for it so runs
are repeatable), and `controller.runtime.cycle.ControlCycle` runs its estimate, policy, staging, safety
and writes against the model. No sockets: the model is the driver pool. Meters are read off
the model's cumulative counters and charged at the price in force during the step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from controller.config import Plant
from controller.core.report import CycleReport
from controller.evaluate.data import HOUR_S, EvaluationData, FloatArray
from controller.evaluate.plantio import ModelPool
from controller.evaluate.policies import PolicySetup
from controller.evaluate.progress import ProgressSink
from controller.runtime.cycle import ControlCycle
from drivers.clock import SimClock
from sim_plant.physics import Boundary, PlantModel

DEFAULT_STEP_S = 300.0
PolicyFactory = Callable[[Plant, SimClock], PolicySetup]


@dataclass
class HourlyTrace:
    """Per replayed hour: energies in kWh over the hour, state at its end."""

    unit_heat_kwh: FloatArray  # (units, hours)
    unit_electricity_kwh: FloatArray  # (units, hours)
    boiler_heat_kwh: FloatArray
    boiler_fuel_kwh: FloatArray
    demand_kwh: FloatArray
    delivered_kwh: FloatArray
    electricity_cost_eur: FloatArray
    electricity_co2_kg: FloatArray
    soc: FloatArray  # tank state of charge at the end of the hour (estimate, 0..1)
    stored_kwh: FloatArray  # physical heat content change since the start, at the hour's end


@dataclass
class ReplayResult:
    """Everything measured while one policy ran: the report and the plots read it."""

    policy: str
    plant: str
    start_utc: datetime
    step_s: float
    hours: int
    unit_names: tuple[str, ...]
    trace: HourlyTrace
    unmet_heat_kwh: float
    hours_below_supply_min_h: float
    tank_loss_kwh: float
    stored_change_kwh: float  # physical heat content at the end minus at the start
    unit_starts: dict[str, int]
    unit_run_hours_h: dict[str, float]
    max_starts_in_any_hour: dict[str, int]
    interlocks: dict[str, int]
    levels: dict[str, int]  # cycles per dispatch level (plan, last_plan, rules)
    cycle_durations_s: FloatArray
    solve_times_s: FloatArray
    plan_statuses: dict[str, int]
    wall_s: float
    planning_wall_s: float
    physics_wall_s: float
    forecast_errors: dict[str, float] = field(default_factory=dict)


class _Recorder:
    """Cycle observer: compute time, interlock events, dispatch levels, starts per hour."""

    def __init__(self, capacity: int) -> None:
        self.durations_s = np.zeros(capacity)
        self.count = 0
        self.interlocks: dict[str, int] = {}
        self.levels: dict[str, int] = {}
        self.starts_s: dict[str, list[float]] = {}
        self._was_on: dict[str, bool] = {}
        self.last: CycleReport | None = None

    def observe(self, report: CycleReport) -> None:
        if self.count < self.durations_s.size:
            self.durations_s[self.count] = report.duration_s
        self.count += 1
        self.last = report
        source = report.targets.source
        self.levels[source] = self.levels.get(source, 0) + 1
        for interlock in report.new_interlocks:
            self.interlocks[interlock.reason] = self.interlocks.get(interlock.reason, 0) + 1
        for unit in report.state.units:
            was_on = self._was_on.get(unit.name)
            if was_on is False and unit.compressor_on:
                self.starts_s.setdefault(unit.name, []).append(report.state.now_s)
            self._was_on[unit.name] = unit.compressor_on

    def max_starts_per_hour(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, starts in self.starts_s.items():
            times = np.asarray(starts)
            ends = np.searchsorted(times, times + HOUR_S, side="left")
            out[name] = int((ends - np.arange(times.size)).max()) if times.size else 0
        return out


def _stored_kwh(model: PlantModel) -> float:
    return sum(tank.stored_kj() for tank in model.tanks) / 3600.0


async def _replay(
    plant: Plant,
    data: EvaluationData,
    make_setup: PolicyFactory,
    start_utc: datetime,
    hours: int,
    step_s: float,
    progress: ProgressSink | None,
) -> ReplayResult:
    steps_per_hour = round(HOUR_S / step_s)
    steps = hours * steps_per_hour
    clock = SimClock(start_utc)
    setup = make_setup(plant, clock)
    model = PlantModel(plant.site, start_utc)
    pool = ModelPool(model, plant.maps, clock)
    recorder = _Recorder(steps)
    cycle = ControlCycle(plant, pool, clock, setup.policy, observers=[recorder])
    if setup.planner is not None:
        cycle.add_observer(setup.planner)
    for observer in setup.observers:
        cycle.add_observer(observer)
    epoch = start_utc.timestamp() + np.arange(steps, dtype=np.float64) * step_s
    rows = data.rows_at(epoch)
    price = data.row_price[rows]
    carbon = data.row_carbon[rows]
    outdoor = data.row_outdoor[rows].tolist()
    demand = data.row_demand[rows].tolist()
    source = data.row_source[rows].tolist() if data.row_source is not None else None
    names = tuple(spec.name for spec in plant.site.units)
    units = model.units
    boiler = model.boiler
    trace = HourlyTrace(
        unit_heat_kwh=np.zeros((len(names), hours)),
        unit_electricity_kwh=np.zeros((len(names), hours)),
        boiler_heat_kwh=np.zeros(hours),
        boiler_fuel_kwh=np.zeros(hours),
        demand_kwh=np.zeros(hours),
        delivered_kwh=np.zeros(hours),
        electricity_cost_eur=np.zeros(hours),
        electricity_co2_kg=np.zeros(hours),
        soc=np.zeros(hours),
        stored_kwh=np.zeros(hours),
    )
    stored_start_kwh = _stored_kwh(model)
    electricity_step_kwh = np.zeros(steps)
    last_heat = units.heat_kwh.copy()
    last_elec = units.electricity_kwh.copy()
    last_boiler = (0.0, 0.0)
    last_totals = model.totals
    planning_s = physics_s = 0.0
    wall_start = time.perf_counter()
    for step in range(steps):
        now = clock.now()
        before_kwh = float(units.electricity_kwh.sum())
        tick = time.perf_counter()
        model.step(
            step_s,
            Boundary(
                now_utc=now,
                outdoor_temp_c=outdoor[step],
                heat_demand_kw=demand[step],
                source_temp_c=None if source is None else source[step],
            ),
        )
        physics_s += time.perf_counter() - tick
        electricity_step_kwh[step] = float(units.electricity_kwh.sum()) - before_kwh
        clock.advance(step_s)
        if setup.planner is not None:
            tick = time.perf_counter()
            # lockstep: the solve completes before the tick, which keeps runs repeatable
            await setup.planner.replan_if_due()
            planning_s += time.perf_counter() - tick
        await cycle.tick()
        if (step + 1) % steps_per_hour == 0:
            hour = step // steps_per_hour
            span = slice(step + 1 - steps_per_hour, step + 1)
            hour_kwh = electricity_step_kwh[span]
            trace.electricity_cost_eur[hour] = float(hour_kwh @ price[span]) / 1000.0
            trace.electricity_co2_kg[hour] = float(hour_kwh @ carbon[span]) / 1000.0
            trace.unit_heat_kwh[:, hour] = units.heat_kwh - last_heat
            trace.unit_electricity_kwh[:, hour] = units.electricity_kwh - last_elec
            last_heat = units.heat_kwh.copy()
            last_elec = units.electricity_kwh.copy()
            if boiler is not None:
                trace.boiler_heat_kwh[hour] = boiler.heat_kwh - last_boiler[0]
                trace.boiler_fuel_kwh[hour] = boiler.fuel_kwh - last_boiler[1]
                last_boiler = (boiler.heat_kwh, boiler.fuel_kwh)
            totals = model.totals
            trace.demand_kwh[hour] = totals.heat_demand_kwh - last_totals.heat_demand_kwh
            trace.delivered_kwh[hour] = totals.heat_delivered_kwh - last_totals.heat_delivered_kwh
            last_totals = totals
            state = recorder.last.state if recorder.last is not None else None
            trace.soc[hour] = state.soc if state is not None and state.soc is not None else np.nan
            trace.stored_kwh[hour] = _stored_kwh(model) - stored_start_kwh
            if progress is not None:
                progress.update(hour + 1)
    wall_s = time.perf_counter() - wall_start
    totals = model.totals
    planner = setup.planner
    solve_times = np.asarray(planner.solve_times_s if planner else [], dtype=np.float64)
    return ReplayResult(
        policy=setup.name,
        plant=plant.site.plant.name,
        start_utc=start_utc,
        step_s=step_s,
        hours=hours,
        unit_names=names,
        trace=trace,
        unmet_heat_kwh=totals.unmet_heat_kwh,
        hours_below_supply_min_h=totals.hours_below_supply_min_h,
        tank_loss_kwh=totals.tank_loss_kwh,
        stored_change_kwh=_stored_kwh(model) - stored_start_kwh,
        unit_starts={name: int(totals.unit_starts[name]) for name in names},
        unit_run_hours_h={name: totals.unit_run_hours_h[name] for name in names},
        max_starts_in_any_hour=recorder.max_starts_per_hour(),
        interlocks=recorder.interlocks,
        levels=recorder.levels,
        cycle_durations_s=recorder.durations_s[: min(recorder.count, steps)],
        solve_times_s=solve_times,
        plan_statuses=dict(planner.statuses) if planner is not None else {},
        wall_s=wall_s,
        planning_wall_s=planning_s,
        physics_wall_s=physics_s,
        forecast_errors=setup.forecaster.errors() if setup.forecaster is not None else {},
    )


def replay(
    plant: Plant,
    data: EvaluationData,
    make_setup: PolicyFactory,
    start_utc: datetime,
    end_utc: datetime,
    step_s: float = DEFAULT_STEP_S,
    progress: ProgressSink | None = None,
) -> ReplayResult:
    """Replay one policy from `start_utc` to `end_utc` (whole hours), a cycle every `step_s`.

    `make_setup(plant, clock)` builds the policy on the replay's own simulated clock; the
    plant's cycle time becomes the replay step, so ramps and protections count in that step.
    """
    if step_s <= 0 or HOUR_S % step_s != 0:
        raise ValueError(f"the replay step {step_s:g} s must divide an hour")
    hours = int((end_utc - start_utc) / timedelta(hours=1))
    if hours < 1:
        raise ValueError("the replay needs at least one hour")
    plant = plant.with_replay_step(step_s)
    return asyncio.run(_replay(plant, data, make_setup, start_utc, hours, step_s, progress))
