"""The immutable `Plan` the planner hands to the controller, and how it is read off a solution."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from controller.core.plan.inputs import PlanInputs
from controller.core.plan.model import MilpModel
from controller.core.plan.sparse import FloatArray

UnitSeries = tuple[tuple[float, ...], ...]
UnitFlags = tuple[tuple[bool, ...], ...]


@dataclass(frozen=True)
class Plan:
    """A dispatch schedule for every step, with how it was found and what it costs.

    Series are per step; unit series are per unit (in input order), then per step. A plan that
    is not `usable` has empty series and NaN figures: the controller keeps its previous plan or
    falls back to rules. `objective_eur` is the solver's objective; the cost breakdown is
    recomputed from the reported schedule, and the two agree to solver tolerance:
    objective = electricity + carbon + boiler fuel + starts + penalty - terminal value + hold.
    """

    inputs: PlanInputs
    # optimal (within the gap) | time_limit_feasible (a limit stopped the search with a solution
    # in hand) | time_limit_no_solution | infeasible | error
    status: str
    usable: bool
    objective_eur: float
    mip_gap: float
    solve_time_s: float
    message: str = ""
    # what HiGHS started from: the previous plan shifted ("warm"), a start built from the LP
    # relaxation ("cold"), or nothing ("none"); a start HiGHS could not use counts as none
    start: str = "none"
    time_to_first_solution_s: float = math.nan  # includes building the start
    unit_names: tuple[str, ...] = ()
    unit_on: UnitFlags = ()
    unit_start: UnitFlags = ()
    unit_heat_kw: UnitSeries = ()
    unit_power_kw: UnitSeries = ()
    boiler_heat_kw: tuple[float, ...] = ()
    storage_kwh: tuple[float, ...] = ()  # at the end of each step
    unmet_heat_kw: tuple[float, ...] = ()
    surplus_heat_kw: tuple[float, ...] = ()  # heat that had to be dumped (penalised)
    grid_power_kw: tuple[float, ...] = ()  # all units together
    terminal_shortfall_kwh: float = 0.0
    emissions_excess_kg: float = 0.0  # CO2 planned above the guard
    electricity_eur: float = math.nan
    boiler_fuel_eur: float = math.nan
    start_eur: float = math.nan
    carbon_t: float = math.nan
    carbon_eur: float = math.nan
    penalty_eur: float = math.nan
    terminal_value_eur: float = math.nan
    # what changing the previous plan's commitment cost in the held steps (not a cash cost)
    hold_eur: float = math.nan

    @property
    def valid_until_utc(self) -> datetime:
        """The end of the last step: after this the plan says nothing."""
        return self.inputs.start_utc + timedelta(seconds=self.inputs.step_s * self.inputs.steps)

    def step_at(self, when_utc: datetime) -> int | None:
        """Index of the step covering `when_utc`, or None outside the horizon."""
        offset_s = (when_utc - self.inputs.start_utc).total_seconds()
        if offset_s < 0.0:
            return None
        index = math.floor(offset_s / self.inputs.step_s)
        return index if index < self.inputs.steps else None


def unusable_plan(inputs: PlanInputs, status: str, solve_time_s: float, message: str) -> Plan:
    """A plan that carries only why there is no schedule."""
    return Plan(
        inputs=inputs,
        status=status,
        usable=False,
        objective_eur=math.nan,
        mip_gap=math.nan,
        solve_time_s=solve_time_s,
        message=message,
    )


def _rows(values: FloatArray) -> UnitSeries:
    return tuple(tuple(float(v) for v in row) for row in values)


def _flags(values: np.ndarray[tuple[int, int], np.dtype[np.bool_]]) -> UnitFlags:
    return tuple(tuple(bool(v) for v in row) for row in values)


def _series(values: FloatArray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def plan_from_solution(
    inputs: PlanInputs,
    model: MilpModel,
    x: FloatArray,
    *,
    status: str,
    objective_eur: float,
    mip_gap: float,
    solve_time_s: float,
    start: str = "none",
    time_to_first_solution_s: float = math.nan,
) -> Plan:
    """Read a usable plan off a solution vector, snapping solver round-off onto exact values.

    On/off are rounded, starts are derived from them, heat is held inside its load range, so
    the schedule the controller executes is exactly feasible for the units.
    """
    cols = model.index
    step_h = inputs.step_h
    on = x[cols.on] > 0.5
    initially_on = np.array([[unit.initially_on] for unit in inputs.units], dtype=bool)
    before = np.concatenate([initially_on.reshape(-1, 1), on[:, :-1]], axis=1) if on.size else on
    unit_start = on & ~before
    heat_min = np.array([[unit.heat_min_kw] for unit in inputs.units])
    heat_max = np.array([unit.heat_max_by_step(inputs.steps) for unit in inputs.units])
    heat = np.where(on, np.clip(x[cols.heat], heat_min, heat_max), 0.0) if on.size else x[cols.heat]
    power = np.where(on, model.power_on_kw + model.power_per_heat * heat, 0.0)
    grid = power.sum(axis=0) if power.size else np.zeros(inputs.steps)
    boiler = np.clip(x[cols.boiler], 0.0, inputs.boiler_heat_max_kw)
    unmet = np.maximum(x[cols.unmet], 0.0)
    surplus = np.maximum(x[cols.surplus], 0.0)
    storage = np.clip(x[cols.storage], 0.0, inputs.storage_capacity_kwh)
    shortfall = max(float(x[cols.terminal_shortfall]), 0.0)
    excess_kg = max(float(x[cols.emissions_excess]), 0.0)

    price = np.asarray(inputs.price_eur_per_mwh)
    carbon = np.asarray(inputs.carbon_g_per_kwh)
    fuel_kwh = boiler * step_h / inputs.boiler_efficiency
    carbon_t = (
        float(
            (grid * step_h * carbon).sum() + (fuel_kwh * inputs.boiler_fuel_carbon_g_per_kwh).sum()
        )
        * 1e-6
    )
    penalty_eur_per_kwh = inputs.unmet_penalty_eur_per_mwh / 1000.0
    start_costs = np.array([unit.start_cost_eur for unit in inputs.units])
    terminal_value = inputs.storage_terminal_value_eur_per_kwh or 0.0
    return Plan(
        inputs=inputs,
        status=status,
        usable=True,
        objective_eur=objective_eur,
        mip_gap=mip_gap,
        solve_time_s=solve_time_s,
        start=start,
        time_to_first_solution_s=time_to_first_solution_s,
        unit_names=tuple(unit.name for unit in inputs.units),
        unit_on=_flags(on),
        unit_start=_flags(unit_start),
        unit_heat_kw=_rows(heat),
        unit_power_kw=_rows(power),
        boiler_heat_kw=_series(boiler),
        storage_kwh=_series(storage),
        unmet_heat_kw=_series(unmet),
        surplus_heat_kw=_series(surplus),
        grid_power_kw=_series(grid),
        terminal_shortfall_kwh=shortfall,
        emissions_excess_kg=excess_kg,
        electricity_eur=float((grid * step_h * price).sum()) / 1000.0,
        boiler_fuel_eur=float(fuel_kwh @ np.asarray(inputs.fuel_price_per_step)) / 1000.0,
        start_eur=float((unit_start.sum(axis=1) * start_costs).sum()) if unit_start.size else 0.0,
        carbon_t=carbon_t,
        carbon_eur=carbon_t * inputs.carbon_price_eur_per_t,
        penalty_eur=penalty_eur_per_kwh * (float((unmet + surplus).sum()) * step_h + shortfall)
        + excess_kg * inputs.emissions_guard_penalty_eur_per_t / 1000.0,
        terminal_value_eur=terminal_value * float(storage[-1]),
        hold_eur=_hold_eur(inputs, on),
    )


def _hold_eur(inputs: PlanInputs, on: np.ndarray[tuple[int, int], np.dtype[np.bool_]]) -> float:
    """The commitment hold paid: each held step whose commitment changed, at its unit's price."""
    total = 0.0
    for u, unit in enumerate(inputs.units):
        held = np.asarray(unit.hold_on, dtype=bool)
        total += unit.hold_eur_per_step * float((on[u, : held.size] != held).sum())
    return total
