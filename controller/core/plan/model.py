"""Build the dispatch MILP once, as plain arrays: min c.x subject to row and column bounds.

Columns per unit and step: on (binary), start and stop (continuous: the transition equality
plus the turn-on/turn-off inequalities make them integral whenever `on` is), heat. Per step:
boiler heat, unmet heat, surplus heat (a dump at the same penalty, so forced minimum loads with
a full tank stay feasible), stored energy at the end of the step. One more column carries any
shortfall against the end-of-horizon floor, again at the penalty, and one the CO2 emitted
above the guard (`emissions_guard_kg`), at its own penalty. Electric power is not a column: it is `power_on_kw * on + power_per_heat * heat`, linear in both.

The same arrays feed highspy (solve.py) and, in the tests, scipy.optimize.milp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from controller.core.plan.inputs import PlanInputs, UnitPlanData
from controller.core.plan.sparse import CsrMatrix, FloatArray, IntArray, RowBuilder


@dataclass(frozen=True)
class VarIndex:
    """Column numbers of each variable family; unit families are (units, steps) arrays."""

    on: IntArray
    start: IntArray
    stop: IntArray
    heat: IntArray
    boiler: IntArray
    unmet: IntArray
    surplus: IntArray
    storage: IntArray
    terminal_shortfall: int
    emissions_excess: int  # kg of CO2 above the guard
    num_cols: int

    @staticmethod
    def layout(units: int, steps: int) -> VarIndex:
        """Unit families first (unit-major), then the per-step families, then the scalar."""
        per_unit = units * steps
        blocks = [
            np.arange(k * per_unit, (k + 1) * per_unit).reshape(units, steps) for k in range(4)
        ]
        base = 4 * per_unit
        per_step = [np.arange(base + k * steps, base + (k + 1) * steps) for k in range(4)]
        shortfall = base + 4 * steps
        return VarIndex(
            on=blocks[0],
            start=blocks[1],
            stop=blocks[2],
            heat=blocks[3],
            boiler=per_step[0],
            unmet=per_step[1],
            surplus=per_step[2],
            storage=per_step[3],
            terminal_shortfall=shortfall,
            emissions_excess=shortfall + 1,
            num_cols=shortfall + 2,
        )


@dataclass(frozen=True)
class MilpModel:
    """min cost.x s.t. row_lower <= A x <= row_upper, col_lower <= x <= col_upper."""

    cost: FloatArray
    matrix: CsrMatrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integrality: IntArray  # 1 = integer (the on/off binaries), 0 = continuous
    index: VarIndex
    power_on_kw: FloatArray  # (units, steps): electric power drawn just for being on
    power_per_heat: FloatArray  # (units, steps): kW electric per kW heat above that
    row_blocks: dict[str, int]
    # constant part of the objective (the commitment hold's): objective = cost.x + this
    cost_offset_eur: float = 0.0


def power_coefficients(unit: UnitPlanData) -> tuple[FloatArray, FloatArray]:
    """Per step (power when on at zero heat, power per kW heat): the part-load line."""
    cop = np.asarray(unit.cop, dtype=np.float64)
    power_max_kw = unit.heat_max_kw / cop
    span_kw = unit.heat_max_kw - unit.heat_min_kw
    if span_kw <= 0.0 or unit.part_load_cop_factor >= 1.0:
        return np.zeros_like(cop), 1.0 / cop
    power_min_kw = unit.heat_min_kw / (cop * unit.part_load_cop_factor)
    slope = (power_max_kw - power_min_kw) / span_kw
    return power_max_kw - slope * unit.heat_max_kw, slope


def _window_cols(cols: IntArray, length: int) -> IntArray:
    """(steps, length): row t holds cols[t-length+1 .. t], -1 before the horizon start."""
    steps = cols.size
    lag = np.arange(length)[None, :]
    k = np.arange(steps)[:, None] - lag
    return np.where(k >= 0, cols[np.clip(k, 0, None)], -1)


def _unit_col_bounds(
    unit: UnitPlanData, cols: VarIndex, u: int, lower: FloatArray, upper: FloatArray
) -> None:
    steps = cols.on.shape[1]
    upper[cols.on[u]] = 1.0
    upper[cols.start[u]] = 1.0
    upper[cols.stop[u]] = 1.0
    upper[cols.heat[u]] = unit.heat_max_kw
    if not unit.available:
        upper[cols.on[u]] = 0.0
        upper[cols.start[u]] = 0.0
        upper[cols.heat[u]] = 0.0
        return
    # The measured history carries minimum run and off times across the horizon start.
    if unit.initially_on:
        forced_on = min(max(unit.min_run_steps - unit.steps_in_state, 0), steps)
        lower[cols.on[u][:forced_on]] = 1.0
    else:
        forced_off = min(max(unit.min_off_steps - unit.steps_in_state, 0), steps)
        upper[cols.on[u][:forced_off]] = 0.0
        upper[cols.heat[u][:forced_off]] = 0.0
    # Steps whose lift the unit cannot make are off, whatever its minimum run says: the lift
    # interlock would stop it there anyway.
    blocked = ~unit.runnable_mask(steps)
    if blocked.any():
        for column in (cols.on[u], cols.start[u], cols.heat[u]):
            upper[column[blocked]] = 0.0
        lower[cols.on[u][blocked]] = 0.0


def _add_unit_rows(rows: RowBuilder, unit: UnitPlanData, cols: VarIndex, u: int) -> None:
    on, start, stop, heat = cols.on[u], cols.start[u], cols.stop[u], cols.heat[u]
    steps = on.size
    initial_on = 1.0 if unit.initially_on else 0.0
    previous = np.concatenate([[-1], on[:-1]])
    rhs = np.zeros(steps)
    rhs[0] = initial_on
    rows.add("transition", [(on, 1.0), (previous, -1.0), (start, -1.0), (stop, 1.0)], rhs, rhs)
    run = _window_cols(start, max(unit.min_run_steps, 1))
    rows.add("min_run", [*((run[:, j], 1.0) for j in range(run.shape[1])), (on, -1.0)], -np.inf, 0)
    off = _window_cols(stop, max(unit.min_off_steps, 1))
    rows.add("min_off", [*((off[:, j], 1.0) for j in range(off.shape[1])), (on, 1.0)], -np.inf, 1)
    rows.add("load_max", [(heat, 1.0), (on, -unit.heat_max_by_step(steps))], -np.inf, 0.0)
    rows.add("load_min", [(heat, 1.0), (on, -unit.heat_min_kw)], 0.0, np.inf)
    _add_starts_limit(rows, unit, start)


def _add_starts_limit(rows: RowBuilder, unit: UnitPlanData, start: IntArray) -> None:
    """At most N starts in every window of W steps, counting the starts before the horizon.

    Only the count of earlier starts in the last W-1 steps is known, not their times, so every
    window reaching back before the horizon counts all of them: conservative, never optimistic.
    Windows that minimum run plus off time already satisfy are left out.
    """
    steps, window = start.size, unit.start_window_steps
    ends = np.arange(steps)
    in_horizon = np.minimum(ends + 1, window)
    before = np.where(ends < window - 1, unit.starts_in_window_before, 0)
    allowed = np.maximum(unit.max_starts_per_window - before, 0)
    cycle = max(unit.min_run_steps, 1) + max(unit.min_off_steps, 1)
    possible = -(-in_horizon // cycle)
    if unit.initially_on:
        # A unit that is on must stop and sit out its off time before it can start again.
        from_start = ends <= window - 1
        late = -(-np.maximum(in_horizon - max(unit.min_off_steps, 1), 0) // cycle)
        possible = np.where(from_start, late, possible)
    needed = allowed < possible
    if not needed.any():
        return
    wins = _window_cols(start, window)[needed]
    rows.add("starts_limit", [(wins[:, j], 1.0) for j in range(window)], -np.inf, allowed[needed])


def build_model(inputs: PlanInputs) -> MilpModel:
    """The MILP for `inputs` as arrays; pure, deterministic, no solver involved."""
    steps, units = inputs.steps, len(inputs.units)
    step_h = inputs.step_h
    cols = VarIndex.layout(units, steps)
    n = cols.num_cols
    cost, lower, upper = np.zeros(n), np.zeros(n), np.full(n, np.inf)
    integrality = np.zeros(n, dtype=np.int64)
    integrality[cols.on.ravel()] = 1

    price = np.asarray(inputs.price_eur_per_mwh, dtype=np.float64)
    carbon = np.asarray(inputs.carbon_g_per_kwh, dtype=np.float64)
    demand = np.asarray(inputs.heat_demand_kw, dtype=np.float64)
    # EUR per kWh of electricity, carbon included (EUR/t x g/kWh x 1e-6 t/g).
    electricity_eur_per_kwh = price / 1000.0 + inputs.carbon_price_eur_per_t * carbon * 1e-6
    penalty_eur_per_kwh = inputs.unmet_penalty_eur_per_mwh / 1000.0

    power_on = np.zeros((units, steps))
    power_slope = np.zeros((units, steps))
    rows = RowBuilder()
    for u, unit in enumerate(inputs.units):
        power_on[u], power_slope[u] = power_coefficients(unit)
        _unit_col_bounds(unit, cols, u, lower, upper)
        _add_unit_rows(rows, unit, cols, u)
        cost[cols.start[u]] = unit.start_cost_eur
    cost[cols.on] = power_on * electricity_eur_per_kwh * step_h
    cost[cols.heat] = power_slope * electricity_eur_per_kwh * step_h

    fuel_per_heat = step_h / inputs.boiler_efficiency  # kWh fuel per kW boiler heat per step
    boiler_carbon_eur_per_kwh = inputs.carbon_price_eur_per_t * inputs.boiler_fuel_carbon_g_per_kwh
    fuel_price = np.asarray(inputs.fuel_price_per_step, dtype=np.float64)
    cost[cols.boiler] = fuel_per_heat * (fuel_price / 1000.0 + boiler_carbon_eur_per_kwh * 1e-6)
    upper[cols.boiler] = inputs.boiler_heat_max_kw
    cost[cols.unmet] = penalty_eur_per_kwh * step_h
    upper[cols.unmet] = demand
    cost[cols.surplus] = penalty_eur_per_kwh * step_h
    cost[cols.terminal_shortfall] = penalty_eur_per_kwh
    cost[cols.emissions_excess] = inputs.emissions_guard_penalty_eur_per_t / 1000.0
    if inputs.emissions_guard_kg is None:
        upper[cols.emissions_excess] = 0.0

    _add_storage(rows, inputs, cols, demand, lower, upper, cost)
    _add_plant_limits(rows, inputs, cols, power_on, power_slope, carbon, lower)
    cost_offset_eur = add_commitment_hold(inputs, cols, cost)

    matrix, row_lower, row_upper = rows.build(n)
    return MilpModel(
        cost=cost,
        matrix=matrix,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=lower,
        col_upper=upper,
        integrality=integrality,
        index=cols,
        power_on_kw=power_on,
        power_per_heat=power_slope,
        row_blocks=rows.blocks(),
        cost_offset_eur=cost_offset_eur,
    )


def add_commitment_hold(inputs: PlanInputs, cols: VarIndex, cost: FloatArray) -> float:
    """Price each step whose commitment differs from the previous plan's (`hold_on`).

    |on - held| is linear in `on` because `held` is a constant 0 or 1: `on` where the previous
    plan had the unit off, 1 - `on` where it had it on. The costs go on the on/off columns (in
    place) and the constant part is returned, to be added to the objective. A new plan then
    changes a held commitment only where that gains more than `hold_eur_per_step` per step.
    """
    offset_eur = 0.0
    for u, unit in enumerate(inputs.units):
        if not unit.hold_on or unit.hold_eur_per_step <= 0.0:
            continue
        held = np.asarray(unit.hold_on, dtype=bool)
        columns = cols.on[u][: held.size]
        cost[columns] += np.where(held, -unit.hold_eur_per_step, unit.hold_eur_per_step)
        offset_eur += unit.hold_eur_per_step * float(held.sum())
    return offset_eur


def _add_storage(
    rows: RowBuilder,
    inputs: PlanInputs,
    cols: VarIndex,
    demand: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
) -> None:
    """s[t] = (1 - loss) s[t-1] + step_h (heat + boiler + unmet - surplus - demand)."""
    steps, step_h = inputs.steps, inputs.step_h
    keep = 1.0 - inputs.storage_loss_per_step
    # A measured state of charge can sit a little outside the model's range.
    initial_kwh = min(max(inputs.storage_initial_kwh, 0.0), inputs.storage_capacity_kwh)
    store = cols.storage
    previous = np.concatenate([[-1], store[:-1]])
    carried = np.zeros(steps)
    carried[0] = keep * initial_kwh
    rhs = carried - step_h * demand
    terms: list[tuple[npt.ArrayLike, npt.ArrayLike]] = [(store, 1.0), (previous, -keep)]
    terms += [(cols.heat[u], -step_h) for u in range(cols.heat.shape[0])]
    terms += [(cols.boiler, -step_h), (cols.unmet, -step_h), (cols.surplus, step_h)]
    rows.add("storage_balance", terms, rhs, rhs)
    upper[store] = inputs.storage_capacity_kwh
    charge = inputs.storage_max_charge_kw
    discharge = inputs.storage_max_discharge_kw
    if charge is not None or discharge is not None:
        low = -np.inf if discharge is None else -discharge * step_h
        high = np.inf if charge is None else charge * step_h
        # Net flow into the tank, before standing losses.
        rows.add("storage_rate", [(store, 1.0), (previous, -keep)], low + carried, high + carried)
    floor = inputs.terminal_floor_kwh
    if floor is not None:
        rows.add("terminal", [(store[-1:], 1.0), (cols.terminal_shortfall, 1.0)], floor, np.inf)
    else:
        upper[cols.terminal_shortfall] = 0.0
    if inputs.storage_terminal_value_eur_per_kwh is not None:
        cost[store[-1]] -= inputs.storage_terminal_value_eur_per_kwh


def _add_plant_limits(
    rows: RowBuilder,
    inputs: PlanInputs,
    cols: VarIndex,
    power_on: FloatArray,
    power_slope: FloatArray,
    carbon: FloatArray,
    col_lower: FloatArray,
) -> None:
    units = cols.on.shape[0]
    if inputs.grid_import_limit_kw is not None and units:
        terms: list[tuple[npt.ArrayLike, npt.ArrayLike]] = [
            (cols.on[u], power_on[u]) for u in range(units)
        ]
        terms += [(cols.heat[u], power_slope[u]) for u in range(units)]
        # Units held on by their minimum run time draw at least their minimum-load power; a
        # limit below that is raised to it for those steps rather than making the plan fail.
        heat_min = np.array([[unit.heat_min_kw] for unit in inputs.units])
        forced_kw = (col_lower[cols.on] * (power_on + power_slope * heat_min)).sum(axis=0)
        limit_kw = np.maximum(inputs.grid_import_limit_kw, forced_kw)
        rows.add("grid_import", terms, -np.inf, limit_kw)
    if inputs.source_heat_max_kw is not None and units:
        # evaporator heat = heat - power = (1 - power_per_heat) heat - power_on on: with a
        # constant COP, heat x (COP - 1) / COP <= recoverable, i.e. heat <= recoverable x
        # COP / (COP - 1). Units held on at minimum load take at least their minimum's share:
        # a limit below that is raised to it (their minimum run time outranks the source; the
        # plant's units unload on their evaporator protection) rather than failing the plan.
        terms = [(cols.on[u], -power_on[u]) for u in range(units)]
        terms += [(cols.heat[u], 1.0 - power_slope[u]) for u in range(units)]
        heat_min = np.array([[unit.heat_min_kw] for unit in inputs.units])
        forced_kw = (col_lower[cols.on] * ((1.0 - power_slope) * heat_min - power_on)).sum(axis=0)
        limit_kw = np.maximum(np.asarray(inputs.source_heat_max_kw, dtype=np.float64), forced_kw)
        rows.add("source_heat", terms, -np.inf, limit_kw)
    if inputs.emissions_cap_kg is not None or inputs.emissions_guard_kg is not None:
        kg_per_kw = carbon * inputs.step_h / 1000.0  # kg per kW held over one step
        boiler_kg = inputs.boiler_fuel_carbon_g_per_kwh * inputs.step_h / inputs.boiler_efficiency
        all_cols = np.concatenate([cols.on.ravel(), cols.heat.ravel(), cols.boiler])
        all_vals = np.concatenate(
            [
                (power_on * kg_per_kw).ravel(),
                (power_slope * kg_per_kw).ravel(),
                np.full(inputs.steps, boiler_kg / 1000.0),
            ]
        )
        if inputs.emissions_cap_kg is not None:
            rows.add_single("emissions_cap", all_cols, all_vals, -np.inf, inputs.emissions_cap_kg)
        if inputs.emissions_guard_kg is not None:
            # soft: the excess column carries what the plan must emit beyond the guard
            rows.add_single(
                "emissions_guard",
                np.append(all_cols, cols.emissions_excess),
                np.append(all_vals, -1.0),
                -np.inf,
                inputs.emissions_guard_kg,
            )
