"""Starting solutions for the MILP: a complete, feasible assignment to every column.

HiGHS spends almost all of a solve looking for a first good integer answer; handed one, it
usually closes the gap at the root node. Two sources feed the same completion:
- warm: the previous plan shifted to the new start, its tail holding the last step;
- cold: the LP relaxation, rounded.
Either way the wanted commitment is repaired unit by unit against the measured history
(minimum run and off times, the starts limit, availability), heat is held inside each unit's
load range, and the tank is re-run from the measured energy, with the boiler, then unmet heat
or surplus, closing whatever the tank cannot take. The result is checked against the model's
own rows; a start that still violates one (a grid limit, an emissions cap) is dropped.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from controller.core.plan.inputs import PlanInputs, UnitPlanData
from controller.core.plan.model import MilpModel
from controller.core.plan.result import Plan
from controller.core.plan.sparse import FloatArray

BoolArray = npt.NDArray[np.bool_]

# Absolute slack on rows and bounds when checking a start: far below anything that matters in
# kW or kWh, far above the round-off of re-running the tank balance.
FEASIBILITY_TOLERANCE = 1e-6


def shifted_wish(
    previous: Plan, inputs: PlanInputs
) -> tuple[BoolArray, FloatArray, FloatArray] | None:
    """(on, heat_kw, boiler_kw) of `previous` moved to `inputs.start_utc`, or None.

    None when the previous plan cannot speak for the new horizon: not usable, another step
    length or unit list, a start that is not a whole number of steps later, or no overlap.
    """
    old = previous.inputs
    if not previous.usable or old.step_s != inputs.step_s:
        return None
    if previous.unit_names != tuple(unit.name for unit in inputs.units):
        return None
    elapsed = (inputs.start_utc - old.start_utc).total_seconds() / inputs.step_s
    shift = round(elapsed)
    if abs(elapsed - shift) > 1e-6 or shift < 0 or shift >= old.steps:
        return None
    # Steps past the previous horizon hold its last step.
    source = np.minimum(np.arange(inputs.steps) + shift, old.steps - 1)
    on = np.asarray(previous.unit_on, dtype=bool).reshape(len(inputs.units), old.steps)
    heat = np.asarray(previous.unit_heat_kw, dtype=np.float64).reshape(on.shape)
    boiler = np.asarray(previous.boiler_heat_kw, dtype=np.float64)
    return on[:, source], heat[:, source], boiler[source]


def rounded_wish(
    model: MilpModel, relaxed_x: FloatArray
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """(on, heat_kw, boiler_kw) read off an LP relaxation, on/off rounded at one half."""
    cols = model.index
    return relaxed_x[cols.on] >= 0.5, relaxed_x[cols.heat], relaxed_x[cols.boiler]


def repaired_commitment(unit: UnitPlanData, wanted_on: BoolArray) -> BoolArray:
    """The commitment closest to `wanted_on` (greedy, step by step) the unit may follow.

    A unit stays on until its minimum run time is served and off until its minimum off time
    is, counting the measured time in state before the horizon; a start that would break the
    starts limit in the window ending at it is skipped. Checking only the window that ends at
    each start suffices: every later window holding that start holds no earlier starts than it.
    """
    steps = wanted_on.size
    on = np.zeros(steps, dtype=bool)
    if not unit.available:
        return on
    runnable = unit.runnable_mask(steps)
    state_on = unit.initially_on
    in_state = unit.steps_in_state
    window = unit.start_window_steps
    starts: list[int] = []
    for t in range(steps):
        if not runnable[t]:
            keep = False  # the lift interlock's ground: off, even inside the minimum run
        elif state_on:
            keep = bool(wanted_on[t]) or in_state < unit.min_run_steps
        else:
            may_start = in_state >= unit.min_off_steps
            if may_start and wanted_on[t]:
                recent = sum(1 for s in starts if s > t - window)
                before = unit.starts_in_window_before if t < window - 1 else 0
                may_start = recent + before + 1 <= unit.max_starts_per_window
            keep = bool(wanted_on[t]) and may_start
            if keep:
                starts.append(t)
        if keep == state_on:
            in_state += 1
        else:
            state_on, in_state = keep, 1
        on[t] = keep
    return on


def complete_start(
    inputs: PlanInputs,
    model: MilpModel,
    wanted_on: BoolArray,
    wanted_heat_kw: FloatArray,
    wanted_boiler_kw: FloatArray,
) -> FloatArray | None:
    """A full column vector near the wish that satisfies every row, or None if none is found."""
    cols = model.index
    steps = inputs.steps
    x = np.zeros(cols.num_cols)
    on = np.zeros((len(inputs.units), steps), dtype=bool)
    heat_min = np.zeros((len(inputs.units), 1))
    heat_max = np.zeros((len(inputs.units), steps))
    for u, unit in enumerate(inputs.units):
        on[u] = repaired_commitment(unit, wanted_on[u])
        heat_min[u, 0] = unit.heat_min_kw
        heat_max[u] = unit.heat_max_by_step(steps)
    heat = np.where(on, np.clip(wanted_heat_kw, heat_min, heat_max), 0.0)
    boiler = np.clip(wanted_boiler_kw, 0.0, inputs.boiler_heat_max_kw)
    low_kw = np.where(on, heat_min, 0.0)
    high_kw = np.where(on, heat_max, 0.0)
    storage, unmet, surplus, shortfall = _run_tank(inputs, heat, low_kw, high_kw, boiler)

    initially_on = np.array([[unit.initially_on] for unit in inputs.units], dtype=bool)
    before = np.concatenate([initially_on, on[:, :-1]], axis=1) if on.size else on
    x[cols.on] = on
    x[cols.start] = on & ~before
    x[cols.stop] = before & ~on
    x[cols.heat] = heat
    x[cols.boiler] = boiler
    x[cols.unmet] = unmet
    x[cols.surplus] = surplus
    x[cols.storage] = storage
    x[cols.terminal_shortfall] = shortfall
    guard = inputs.emissions_guard_kg
    if guard is not None:
        x[cols.emissions_excess] = max(0.0, planned_emissions_kg(inputs, model, x) - guard)
    return x if start_violation(model, x) <= FEASIBILITY_TOLERANCE else None


def _run_tank(
    inputs: PlanInputs,
    heat: FloatArray,
    low_kw: FloatArray,
    high_kw: FloatArray,
    boiler: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Re-run the tank from the measured energy, adjusting heat in place to keep it in range.

    A step whose tank would overflow (or charge too fast) first cuts the boiler, then the
    units down to their minimum load, then dumps the rest as surplus; a step whose tank would
    run dry (or discharge too fast) raises the units to full load, then the boiler, then leaves
    heat unmet. The last step aims at the end-of-horizon floor the same way, short of unmet.
    """
    steps, step_h = inputs.steps, inputs.step_h
    keep = 1.0 - inputs.storage_loss_per_step
    capacity = inputs.storage_capacity_kwh
    charge_kw = math.inf if inputs.storage_max_charge_kw is None else inputs.storage_max_charge_kw
    discharge_kw = (
        math.inf if inputs.storage_max_discharge_kw is None else inputs.storage_max_discharge_kw
    )
    floor = inputs.terminal_floor_kwh
    demand = np.asarray(inputs.heat_demand_kw, dtype=np.float64)
    storage = np.zeros(steps)
    unmet = np.zeros(steps)
    surplus = np.zeros(steps)
    stored = min(max(inputs.storage_initial_kwh, 0.0), capacity)
    for t in range(steps):
        carried = keep * stored
        # net flow into the tank (kW) that keeps it within its range and rates
        net_max = min(charge_kw, (capacity - carried) / step_h)
        net_min = max(-discharge_kw, -carried / step_h)
        in_range_min = net_min
        if t == steps - 1 and floor is not None:
            net_min = min(max(net_min, (floor - carried) / step_h), net_max)
        net = float(heat[:, t].sum()) + float(boiler[t]) - float(demand[t])
        if net > net_max:
            excess = net - net_max
            cut = min(excess, float(boiler[t]))
            boiler[t] -= cut
            surplus[t] = -_move_units(heat, low_kw, t, -(excess - cut))
        elif net < net_min:
            deficit = _move_units(heat, high_kw, t, net_min - net)
            boiler[t] += min(deficit, inputs.boiler_heat_max_kw - float(boiler[t]))
            # short of the end-of-horizon floor is the shortfall column's job, not unmet heat's
            supplied = float(heat[:, t].sum()) + float(boiler[t]) - float(demand[t])
            unmet[t] = min(max(in_range_min - supplied, 0.0), float(demand[t]))
        net = float(heat[:, t].sum()) + float(boiler[t]) + unmet[t] - surplus[t] - float(demand[t])
        stored = carried + step_h * net
        storage[t] = stored
    shortfall = 0.0 if floor is None else max(0.0, floor - float(storage[-1]))
    return storage, unmet, surplus, shortfall


def _move_units(heat: FloatArray, limit_kw: FloatArray, t: int, change_kw: float) -> float:
    """Move the units' heat at step t by up to `change_kw` towards their limits (in place).

    Returns the part of the change the units could not take, with the sign of the change.
    """
    room = limit_kw[:, t] - heat[:, t]
    available = float(room.sum())
    if change_kw > 0.0:
        moved = min(change_kw, max(available, 0.0))
    else:
        moved = max(change_kw, min(available, 0.0))
    if available != 0.0:
        heat[:, t] += room * (moved / available)
    return change_kw - moved


def start_violation(model: MilpModel, x: FloatArray) -> float:
    """The largest violation of a column bound, row bound or integrality by `x` (0 if none)."""
    activity = model.matrix.dot(x)
    worst = [
        float(np.max(model.col_lower - x, initial=0.0)),
        float(np.max(x - model.col_upper, initial=0.0)),
        float(np.max(model.row_lower - activity, initial=0.0)),
        float(np.max(activity - model.row_upper, initial=0.0)),
    ]
    integer = model.integrality.astype(bool)
    worst.append(float(np.max(np.abs(x[integer] - np.round(x[integer])), initial=0.0)))
    return max(worst)


def planned_emissions_kg(inputs: PlanInputs, model: MilpModel, x: FloatArray) -> float:
    """CO2 of a column vector: the units' power at the step's intensity, the boiler's fuel."""
    cols = model.index
    step_h = inputs.step_h
    power_kw = (model.power_on_kw * x[cols.on] + model.power_per_heat * x[cols.heat]).sum(axis=0)
    carbon = np.asarray(inputs.carbon_g_per_kwh, dtype=np.float64)
    fuel_kwh = x[cols.boiler] * step_h / inputs.boiler_efficiency
    grams = float(power_kw @ carbon) * step_h + float(fuel_kwh.sum()) * (
        inputs.boiler_fuel_carbon_g_per_kwh
    )
    return grams / 1000.0
