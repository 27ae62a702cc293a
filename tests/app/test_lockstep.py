"""The one lockstep loop and run recorder: phases in order, starts per hour, stored heat, meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from controller.app.lockstep import (
    FixedOutdoor,
    InProcessIO,
    Instant,
    Lockstep,
    RunRecorder,
    max_starts_in_any_hour,
    stored_heat_kwh,
)
from controller.config import Plant
from controller.core.commands import Interlock
from controller.core.report import CycleReport
from controller.evaluate.plantio import ModelPool
from controller.runtime.cycle import ControlCycle
from drivers.clock import SimClock
from drivers.kinds import StateCode
from sim_plant.physics import Boundary, PlantModel
from tests.core.fakes import river

START = datetime(2024, 1, 8, tzinfo=UTC)
STEP_S = 300.0
STOPPED = 0  # any state code that is neither starting nor running


@pytest.fixture
def plant() -> Plant:
    return river().with_replay_step(STEP_S).with_control(policy="rules")


def test_max_starts_counts_a_sliding_hour_not_clock_hours() -> None:
    # clock hours hold 3 and 2 starts; the hour from 1000 s holds 4 (1000, 3599, 3600, 4000)
    starts_s = [4000.0, 0.0, 1000.0, 3599.0, 3600.0, 7300.0]
    assert max_starts_in_any_hour(starts_s) == 4


def test_max_starts_window_is_half_open_and_empty_is_zero() -> None:
    assert max_starts_in_any_hour([]) == 0
    assert max_starts_in_any_hour([0.0]) == 1
    assert max_starts_in_any_hour([0.0, 3600.0, 7200.0]) == 1  # exactly an hour apart
    assert max_starts_in_any_hour([0.0, 3599.0, 7198.0]) == 2


def _report(
    now_s: float,
    state_code: int | None,
    supply_temp_c: float | None,
    new_interlocks: tuple[Interlock, ...] = (),
) -> CycleReport:
    """The fields of a cycle report the recorder reads, for one unit `hp1`."""
    unit = SimpleNamespace(
        name="hp1",
        state_code=state_code,
        compressor_on=state_code == StateCode.RUNNING,
        supply_temp_c=supply_temp_c,
    )
    return cast(
        CycleReport,
        SimpleNamespace(
            duration_s=0.001,
            targets=SimpleNamespace(source="rules"),
            new_interlocks=new_interlocks,
            state=SimpleNamespace(
                now_s=now_s, now_utc=START + timedelta(seconds=now_s), units=(unit,), soc=0.5
            ),
        ),
    )


def test_recorder_measures_switching_and_skips_unreadable_units(plant: Plant) -> None:
    model = PlantModel(plant.site, START)
    recorder = RunRecorder(model, plant.site.network.return_temp_c, steps_per_hour=12)
    sequence = [
        (0.0, STOPPED, 60.0),
        (300.0, StateCode.RUNNING, 75.0),  # start
        (600.0, None, None),  # unreadable: neither a stop nor, when it reads again, a start
        (900.0, StateCode.RUNNING, 80.0),
        (1200.0, STOPPED, 70.0),  # stop: ran 900 s
        (2400.0, StateCode.RUNNING, 78.0),  # start: stood still 1200 s
        (5000.0, STOPPED, 65.0),
        (5400.0, StateCode.RUNNING, 76.0),
    ]
    for now_s, code, supply_c in sequence:
        recorder.observe(_report(now_s, code, supply_c))
    assert recorder.switches["hp1"] == [
        (300.0, True),
        (1200.0, False),
        (2400.0, True),
        (5000.0, False),
        (5400.0, True),
    ]
    assert recorder.max_starts_per_hour() == {"hp1": 2}  # 2400 and 5400 s
    assert recorder.shortest_completed(True) == {"hp1": 900.0}
    assert recorder.shortest_completed(False) == {"hp1": 400.0}
    assert recorder.max_supply_temp_c == {"hp1": 80.0}
    assert recorder.policy_cycles == {"rules": len(sequence)}
    assert len(recorder.durations_s) == len(sequence)


def test_recorder_counts_interlock_interventions_by_reason_and_equipment(plant: Plant) -> None:
    model = PlantModel(plant.site, START)
    recorder = RunRecorder(model, plant.site.network.return_temp_c, steps_per_hour=12)
    tank = "tank tank1 top 83.1 °C at its limit 85.0 °C"
    sequence = [
        (0.0, ()),
        (
            300.0,
            (Interlock("hp1", "tank_high_temp", tank), Interlock("hp2", "tank_high_temp", tank)),
        ),
        (900.0, (Interlock("boiler", "tank_high_temp", tank),)),
        (1200.0, (Interlock("hp2", "unit_tripped", "unit tripped (alarm 5)"),)),
        (3600.0, (Interlock("hp1", "tank_high_temp", tank),)),
    ]
    for now_s, interlocks in sequence:
        recorder.observe(_report(now_s, StateCode.RUNNING, 75.0, interlocks))
    assert recorder.interlocks == {"tank_high_temp": 4, "unit_tripped": 1}
    assert recorder.interlocks_by_equipment == {
        "tank_high_temp": {"hp1": 2, "hp2": 1, "boiler": 1},
        "unit_tripped": {"hp2": 1},
    }
    assert recorder.interlock_first_utc == {
        "tank_high_temp": START + timedelta(seconds=300),
        "unit_tripped": START + timedelta(seconds=1200),
    }


def test_stored_heat_counts_the_tank_water_above_the_network_return(plant: Plant) -> None:
    model = PlantModel(plant.site, START, initial_soc=0.3)
    return_c = plant.site.network.return_temp_c
    water_kwh_per_m3_k = 975.0 * 4.19 / 3600.0
    expected_kwh = sum(
        tank.volume_m3
        / tank.layers
        * water_kwh_per_m3_k
        * (model.true_value(tank.name, "layer_temp_c", index) - return_c)
        for tank in plant.site.tanks
        for index in range(1, tank.layers + 1)
    )
    assert stored_heat_kwh(model, return_c) == pytest.approx(expected_kwh, rel=1e-12)
    for tank in model.tanks:
        tank.temps_c = np.full_like(tank.temps_c, return_c)
    assert stored_heat_kwh(model, return_c) == pytest.approx(0.0, abs=1e-9)


class _Tape:
    """Writes down, in order, every phase of the loop and the simulated time it saw."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.events: list[tuple[str, datetime]] = []

    def mark(self, event: str) -> None:
        self.events.append((event, self.clock.now()))


class _TapedModel(PlantModel):
    tape: _Tape

    def step(self, dt_s: float, boundary: Boundary) -> None:
        self.tape.mark("physics")
        super().step(dt_s, boundary)


class _TapedIO(InProcessIO):
    def __init__(self, tape: _Tape) -> None:
        self.tape = tape

    async def publish(self) -> None:
        self.tape.mark("publish")

    async def refresh(self) -> None:
        self.tape.mark("refresh")


class _TapedPlanner:
    def __init__(self, tape: _Tape) -> None:
        self.tape = tape

    async def replan_if_due(self) -> None:
        self.tape.mark("replan")


class _TapedRecorder(RunRecorder):
    tape: _Tape

    def observe(self, report: CycleReport) -> None:
        self.tape.mark("tick")
        super().observe(report)

    def stepped(self, instant: Instant) -> None:
        self.tape.mark("meter")
        super().stepped(instant)


async def test_each_step_runs_its_phases_in_order_on_the_simulated_clock(plant: Plant) -> None:
    clock = SimClock(START)
    tape = _Tape(clock)
    model = _TapedModel(plant.site, START)
    model.tape = tape
    recorder = _TapedRecorder(model, plant.site.network.return_temp_c, steps_per_hour=12)
    recorder.tape = tape
    outdoor = FixedOutdoor(outdoor_temp_c=-2.0)

    def conditions(step: int, now_utc: datetime) -> Instant:
        tape.mark(f"conditions {step}")
        return outdoor(step, now_utc)

    cycle = ControlCycle(plant, ModelPool(model, plant.maps, clock), clock)
    lockstep = Lockstep(
        model, clock, cycle, _TapedIO(tape), conditions, STEP_S, _TapedPlanner(tape), recorder
    )
    report = await lockstep.run(2)
    later = START + timedelta(seconds=STEP_S)
    latest = later + timedelta(seconds=STEP_S)
    assert tape.events == [
        ("conditions 0", START),
        ("physics", START),
        ("publish", START),
        ("refresh", later),
        ("replan", later),
        ("tick", later),
        ("meter", later),
        ("conditions 1", later),
        ("physics", later),
        ("publish", later),
        ("refresh", latest),
        ("replan", latest),
        ("tick", latest),
        ("meter", latest),
    ]
    assert report is not None and report.state.now_utc == latest
    assert lockstep.steps_done == 2


async def test_a_silent_controller_leaves_the_plant_running(plant: Plant) -> None:
    clock = SimClock(START)
    model = PlantModel(plant.site, START)
    cycle = ControlCycle(plant, ModelPool(model, plant.maps, clock), clock)
    lockstep = Lockstep(model, clock, cycle, InProcessIO(), FixedOutdoor(-2.0), STEP_S)
    first = await lockstep.run(1)
    lockstep.ticking = False
    assert await lockstep.run(3) is first
    assert clock.now() == START + timedelta(seconds=4 * STEP_S)
    assert model.totals.simulated_s == pytest.approx(4 * STEP_S)


async def test_recorder_meters_each_step_at_its_tariff_and_closes_hours(plant: Plant) -> None:
    clock = SimClock(START)
    model = PlantModel(plant.site, START, initial_soc=0.1)  # a cold tank: units run
    recorder = RunRecorder(model, plant.site.network.return_temp_c, steps_per_hour=12)
    outdoor = FixedOutdoor(outdoor_temp_c=-5.0)

    def conditions(step: int, now_utc: datetime) -> Instant:
        # the tariff changes on the hour: each step pays the price in force at its start
        hour = step // 12
        return Instant(outdoor(step, now_utc).boundary, 100.0 + 50.0 * hour, 200.0)

    cycle = ControlCycle(plant, ModelPool(model, plant.maps, clock), clock)
    lockstep = Lockstep(model, clock, cycle, InProcessIO(), conditions, STEP_S, None, recorder)
    await lockstep.run(12)
    first_hour_kwh = model.totals.electricity_kwh
    await lockstep.run(6)  # half an hour more
    recorder.finish()
    trace = recorder.trace()
    totals = model.totals
    assert totals.electricity_kwh > 0.0
    assert trace.unit_electricity_kwh.shape == (len(plant.site.units), 2)
    assert trace.unit_electricity_kwh.sum() == pytest.approx(totals.electricity_kwh)
    assert trace.unit_heat_kwh.sum() == pytest.approx(sum(totals.unit_heat_kwh.values()))
    assert trace.demand_kwh.sum() == pytest.approx(totals.heat_demand_kwh)
    second_hour_kwh = totals.electricity_kwh - first_hour_kwh
    assert trace.electricity_cost_eur.tolist() == pytest.approx(
        [first_hour_kwh * 0.100, second_hour_kwh * 0.150]
    )
    assert recorder.electricity_cost_eur == pytest.approx(trace.electricity_cost_eur.sum())
    assert recorder.electricity_co2_kg == pytest.approx(totals.electricity_kwh * 0.2)
    assert trace.stored_kwh[-1] == pytest.approx(recorder.stored_change_kwh())
    assert recorder.stored_kwh() - recorder.stored_start_kwh == recorder.stored_change_kwh()
    assert len(recorder.durations_s) == 18
    assert 0.0 <= trace.soc[-1] <= 1.0
