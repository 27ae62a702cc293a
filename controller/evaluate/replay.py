"""One policy over the replayed period, on the lockstep loop the demo and the SIL tests run.

Each step (`controller.app.lockstep.Lockstep`): the plant steps under the scenario's boundary
(the step's start), simulated time moves, the planner re-plans if it is due (in its worker
thread; the step waits for it so runs are repeatable), and `controller.runtime.cycle.ControlCycle`
runs its estimate, policy, staging, safety and writes against the model. No sockets: the model
is the driver pool. The run recorder reads the meters off the model's cumulative counters and
charges them at the price in force during the step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from controller.app.lockstep import HourlyTrace, InProcessIO, Instant, Lockstep, RunRecorder
from controller.config import Plant
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
    # interlock interventions: reason -> equipment -> count, and each reason's first (ISO UTC)
    interlocks_by_equipment: dict[str, dict[str, int]] = field(default_factory=dict)
    interlock_first_utc: dict[str, str] = field(default_factory=dict)


class _DataConditions:
    """The replayed hours' boundary and tariff, looked up once for every step of the run."""

    def __init__(
        self, data: EvaluationData, start_utc: datetime, steps: int, step_s: float
    ) -> None:
        epoch = start_utc.timestamp() + np.arange(steps, dtype=np.float64) * step_s
        rows = data.rows_at(epoch)
        self._price = data.row_price[rows].tolist()
        self._carbon = data.row_carbon[rows].tolist()
        self._outdoor = data.row_outdoor[rows].tolist()
        self._demand = data.row_demand[rows].tolist()
        self._source = data.row_source[rows].tolist() if data.row_source is not None else None
        self._it_load = data.row_it_load[rows].tolist() if data.row_it_load is not None else None

    def __call__(self, step: int, now_utc: datetime) -> Instant:
        return Instant(
            boundary=Boundary(
                now_utc=now_utc,
                outdoor_temp_c=self._outdoor[step],
                heat_demand_kw=self._demand[step],
                source_temp_c=None if self._source is None else self._source[step],
                it_load_kw=None if self._it_load is None else self._it_load[step],
            ),
            price_eur_per_mwh=self._price[step],
            carbon_g_per_kwh=self._carbon[step],
        )


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
    recorder = RunRecorder(model, plant.site.network.return_temp_c, steps_per_hour)
    cycle = ControlCycle(plant, pool, clock, setup.policy)
    lockstep = Lockstep(
        model,
        clock,
        cycle,
        InProcessIO(),
        _DataConditions(data, start_utc, steps, step_s),
        step_s,
        setup.planner,
        recorder,
    )
    if setup.planner is not None:
        cycle.add_observer(setup.planner)
    for observer in setup.observers:
        cycle.add_observer(observer)
    names = tuple(spec.name for spec in plant.site.units)

    def hour_done(steps_done: int) -> None:
        if progress is not None and steps_done % steps_per_hour == 0:
            progress.update(steps_done // steps_per_hour)

    wall_start = time.perf_counter()
    await lockstep.run(steps, hour_done)
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
        trace=recorder.trace(),
        unmet_heat_kwh=totals.unmet_heat_kwh,
        hours_below_supply_min_h=totals.hours_below_supply_min_h,
        tank_loss_kwh=totals.tank_loss_kwh,
        stored_change_kwh=recorder.stored_change_kwh(),
        unit_starts={name: int(totals.unit_starts[name]) for name in names},
        unit_run_hours_h={name: totals.unit_run_hours_h[name] for name in names},
        max_starts_in_any_hour=recorder.max_starts_per_hour(),
        interlocks=recorder.interlocks,
        levels=recorder.policy_cycles,
        cycle_durations_s=np.asarray(recorder.durations_s, dtype=np.float64),
        solve_times_s=solve_times,
        plan_statuses=dict(planner.statuses) if planner is not None else {},
        wall_s=wall_s,
        planning_wall_s=lockstep.planning_wall_s,
        physics_wall_s=lockstep.physics_wall_s,
        forecast_errors=setup.forecaster.errors() if setup.forecaster is not None else {},
        interlocks_by_equipment=recorder.interlocks_by_equipment,
        interlock_first_utc={
            reason: when.isoformat() for reason, when in recorder.interlock_first_utc.items()
        },
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
