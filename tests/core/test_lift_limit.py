"""The dispatch keeps clear of the lift interlock: a unit that cannot make the lift is left off.

Found by the city plant's year (DK1 2024): around 17 February, with the sea near 3 °C and the
supply at 85 °C and above (a tank charged hot raises the condenser's inlet), mpc and merit
enabled the 44 MW units until `lift_high` stopped them, 12 times each; the baseline never.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from controller.config import Plant
from controller.core.commands import Targets
from controller.core.estimate import PlantState, estimate
from controller.core.lift_limit import lift_allows, lift_soft_limit_k
from controller.core.plan import solve_plan
from controller.core.safety import apply_safety
from controller.core.stage import stage
from drivers.kinds import Role
from tests.core.fakes import city, plant_snapshot, settled_histories, situation
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit


def _cold_sea(source_c: float, supply_c: float, running: bool) -> tuple[Plant, PlantState]:
    plant = city()
    snap = plant_snapshot(plant.site, 60.0, {"hp1": running})
    for spec in plant.site.units:
        snap.values[(spec.name, Role.SOURCE_IN_TEMP_C, None)] = source_c
        snap.values[(spec.name, Role.SUPPLY_TEMP_C, None)] = supply_c
    return plant, estimate(snap, plant.site)


def _all_on(plant: Plant) -> Targets:
    return Targets(
        unit_on={spec.name: True for spec in plant.site.units},
        unit_heat_kw={spec.name: spec.heat_max_kw for spec in plant.site.units},
        boiler_heat_kw=0.0,
        source="plan",
        reasons={spec.name: "plan" for spec in plant.site.units},
    )


def test_the_soft_limit_lies_below_the_interlock() -> None:
    plant = city()
    spec = plant.site.units[0]
    # 85 K rated, 3 K interlock margin, 1 K soft band
    assert lift_soft_limit_k(spec, plant.control) == 81.0
    assert lift_allows(spec, 84.0, 3.5, plant.control)
    assert not lift_allows(spec, 85.0, 3.5, plant.control)


def test_a_unit_that_cannot_make_the_lift_is_not_started_and_the_interlock_never_acts() -> None:
    plant, state = _cold_sea(source_c=3.0, supply_c=85.0, running=False)
    histories = settled_histories(state)
    here = situation(plant, state, histories)
    commands = stage(_all_on(plant), here, None)
    for spec in plant.site.units:
        command = commands.units[spec.name]
        assert command.enable is False
        assert command.reason.startswith("start deferred: lift 82.0 K"), command.reason
    assert apply_safety(commands, here, 0.0).interlocks == ()


def test_a_running_unit_at_the_soft_limit_stops_once_its_minimum_run_allows() -> None:
    plant, state = _cold_sea(source_c=3.5, supply_c=84.6, running=True)
    settled = settled_histories(state)
    commands = stage(_all_on(plant), situation(plant, state, settled), None)
    assert commands.units["hp1"].enable is False
    assert commands.units["hp1"].reason.startswith("stopped: lift 81.1 K")
    # inside its minimum run it stays on (the interlock, 1 K higher, is still the last line)
    young = {**settled, "hp1": replace(settled["hp1"], since_s=state.now_s - 600.0)}
    commands = stage(_all_on(plant), situation(plant, state, young), None)
    assert commands.units["hp1"].enable is True
    assert commands.units["hp1"].reason.startswith("held on: min run time")


def test_a_unit_with_room_to_lift_is_staged_as_before() -> None:
    plant, state = _cold_sea(source_c=8.0, supply_c=85.0, running=False)
    commands = stage(_all_on(plant), situation(plant, state, settled_histories(state)), None)
    assert all("lift" not in command.reason for command in commands.units.values())


def test_the_plan_leaves_a_unit_off_where_it_cannot_make_the_lift() -> None:
    steps = 16
    blocked = tuple(not 4 <= t < 10 for t in range(steps))  # steps 4..9: the sea too cold
    cheap = (20.0,) * steps  # power so cheap the unit would run throughout
    unit = make_unit(steps=steps, runnable=blocked, initially_on=True, min_run_steps=8)
    inputs = make_inputs(steps=steps, units=(unit,), price_eur_per_mwh=cheap)
    plan = solve_plan(inputs, cold_start=True)
    assert plan.usable, plan.status
    on = np.asarray(plan.unit_on[0], dtype=bool)
    assert not on[4:10].any()  # off there, even inside its minimum run from the start
    assert on[:4].all() and on[10:].any()
    assert_plan_valid(plan)
