"""An independent checker for returned plans, written from the inputs' documented meaning.

It shares no constraint code with the planner: it walks the schedule step by step in plain
Python and lists every rule the plan breaks. `assert_plan_valid` fails with that list.
"""

from __future__ import annotations

import math

from controller.core.plan import Plan, PlanInputs, UnitPlanData

HEAT_TOL_KW = 1e-3
ENERGY_TOL_KWH = 1e-3
COST_REL_TOL = 1e-5
COST_ABS_TOL_EUR = 0.05


def unit_power_kw(unit: UnitPlanData, step: int, heat_kw: float) -> float:
    """Electric power at this heat: the straight line from min-load COP to full-load COP."""
    cop_full = unit.cop[step]
    if heat_kw <= 0.0:
        return 0.0
    high_kw = unit.heat_max_kw / cop_full
    if unit.heat_max_kw == unit.heat_min_kw:
        return heat_kw / cop_full
    low_kw = unit.heat_min_kw / (cop_full * unit.part_load_cop_factor)
    fraction = (heat_kw - unit.heat_min_kw) / (unit.heat_max_kw - unit.heat_min_kw)
    return low_kw + fraction * (high_kw - low_kw)


def _check_unit(plan: Plan, u: int, unit: UnitPlanData, problems: list[str]) -> None:
    inputs = plan.inputs
    on, heat, power, start = plan.unit_on[u], plan.unit_heat_kw[u], plan.unit_power_kw[u], []
    was_on = unit.initially_on
    ceiling_kw = unit.heat_max_by_step(inputs.steps)
    for t in range(inputs.steps):
        start.append(on[t] and not was_on)
        was_on = on[t]
        if on[t]:
            if not unit.available:
                problems.append(f"{unit.name} step {t}: unavailable unit is on")
            if heat[t] < unit.heat_min_kw - HEAT_TOL_KW or heat[t] > ceiling_kw[t] + HEAT_TOL_KW:
                problems.append(f"{unit.name} step {t}: heat {heat[t]:.3f} kW outside load range")
        elif abs(heat[t]) > HEAT_TOL_KW:
            problems.append(f"{unit.name} step {t}: off but heat {heat[t]:.3f} kW")
        expected_kw = unit_power_kw(unit, t, heat[t]) if on[t] else 0.0
        if abs(power[t] - expected_kw) > 1e-6 * max(1.0, expected_kw) + 1e-6:
            problems.append(f"{unit.name} step {t}: power {power[t]} kW, expected {expected_kw}")
    if tuple(start) != plan.unit_start[u]:
        problems.append(f"{unit.name}: reported starts do not match the on/off schedule")
    _check_min_times(unit, on, inputs.steps, problems)
    _check_starts_window(unit, start, problems)


def _check_min_times(
    unit: UnitPlanData, on: tuple[bool, ...], steps: int, problems: list[str]
) -> None:
    """Every completed run and pause, counted from the measured history, is long enough."""
    state = unit.initially_on
    length = unit.steps_in_state
    for t in range(steps):
        if on[t] == state:
            length += 1
            continue
        if state and length < unit.min_run_steps and unit.available:
            problems.append(f"{unit.name}: stopped at step {t} after running {length} steps")
        if not state and length < unit.min_off_steps:
            problems.append(f"{unit.name}: started at step {t} after {length} steps off")
        state, length = on[t], 1


def _check_starts_window(unit: UnitPlanData, start: list[bool], problems: list[str]) -> None:
    """Starts in every window of W steps; earlier starts count in windows reaching before t0."""
    window = unit.start_window_steps
    for end in range(len(start)):
        first = max(0, end - window + 1)
        count = sum(start[first : end + 1])
        if end - window + 1 < 0:
            count += unit.starts_in_window_before
            limit = max(unit.max_starts_per_window, unit.starts_in_window_before)
        else:
            limit = unit.max_starts_per_window
        if count > limit:
            problems.append(f"{unit.name}: {count} starts in the window ending at step {end}")


def _check_storage(plan: Plan, problems: list[str]) -> None:
    inputs = plan.inputs
    step_h = inputs.step_s / 3600.0
    level = min(max(inputs.storage_initial_kwh, 0.0), inputs.storage_capacity_kwh)
    for t in range(inputs.steps):
        produced_kw = sum(plan.unit_heat_kw[u][t] for u in range(len(inputs.units)))
        produced_kw += plan.boiler_heat_kw[t] + plan.unmet_heat_kw[t] - plan.surplus_heat_kw[t]
        flow_kwh = (produced_kw - inputs.heat_demand_kw[t]) * step_h
        expected = level * (1.0 - inputs.storage_loss_per_step) + flow_kwh
        tol = ENERGY_TOL_KWH + 1e-7 * inputs.storage_capacity_kwh
        if abs(plan.storage_kwh[t] - expected) > tol:
            problems.append(f"step {t}: storage {plan.storage_kwh[t]:.4f}, balance {expected:.4f}")
        if not -tol <= plan.storage_kwh[t] <= inputs.storage_capacity_kwh + tol:
            problems.append(f"step {t}: storage {plan.storage_kwh[t]} outside the tank")
        if inputs.storage_max_charge_kw is not None and flow_kwh > (
            inputs.storage_max_charge_kw * step_h + tol
        ):
            problems.append(f"step {t}: charging faster than the limit")
        if inputs.storage_max_discharge_kw is not None and -flow_kwh > (
            inputs.storage_max_discharge_kw * step_h + tol
        ):
            problems.append(f"step {t}: discharging faster than the limit")
        if not -HEAT_TOL_KW <= plan.boiler_heat_kw[t] <= inputs.boiler_heat_max_kw + HEAT_TOL_KW:
            problems.append(f"step {t}: boiler heat {plan.boiler_heat_kw[t]} out of range")
        if plan.unmet_heat_kw[t] > inputs.heat_demand_kw[t] + HEAT_TOL_KW:
            problems.append(f"step {t}: more heat unmet than demanded")
        level = plan.storage_kwh[t]
    floor = inputs.storage_terminal_kwh
    if floor is None and inputs.storage_terminal_value_eur_per_kwh is None:
        floor = inputs.storage_initial_kwh
    if floor is not None:
        floor = min(floor, inputs.storage_capacity_kwh)
        if plan.storage_kwh[-1] + plan.terminal_shortfall_kwh < floor - ENERGY_TOL_KWH:
            problems.append(f"tank ends at {plan.storage_kwh[-1]:.3f} kWh, below {floor}")


def _recompute_cost(plan: Plan) -> tuple[float, dict[str, float]]:
    inputs = plan.inputs
    step_h = inputs.step_s / 3600.0
    electricity = carbon_kg = fuel = starts = penalty_kwh = 0.0
    for t in range(inputs.steps):
        grid_kw = sum(plan.unit_power_kw[u][t] for u in range(len(inputs.units)))
        electricity += grid_kw * step_h * inputs.price_eur_per_mwh[t] / 1000.0
        carbon_kg += grid_kw * step_h * inputs.carbon_g_per_kwh[t] / 1000.0
        fuel_kwh = plan.boiler_heat_kw[t] * step_h / inputs.boiler_efficiency
        fuel += fuel_kwh * inputs.fuel_price_per_step[t] / 1000.0
        carbon_kg += fuel_kwh * inputs.boiler_fuel_carbon_g_per_kwh / 1000.0
        penalty_kwh += (plan.unmet_heat_kw[t] + plan.surplus_heat_kw[t]) * step_h
    hold = 0.0
    for u, unit in enumerate(inputs.units):
        starts += unit.start_cost_eur * sum(plan.unit_start[u])
        changed = sum(1 for t, held in enumerate(unit.hold_on) if plan.unit_on[u][t] != held)
        hold += unit.hold_eur_per_step * changed
    penalty_kwh += plan.terminal_shortfall_kwh
    penalty = penalty_kwh * inputs.unmet_penalty_eur_per_mwh / 1000.0
    if inputs.emissions_guard_kg is not None:
        excess_kg = max(0.0, carbon_kg - inputs.emissions_guard_kg)
        penalty += excess_kg * inputs.emissions_guard_penalty_eur_per_t / 1000.0
    terminal_value = (inputs.storage_terminal_value_eur_per_kwh or 0.0) * plan.storage_kwh[-1]
    carbon_eur = carbon_kg / 1000.0 * inputs.carbon_price_eur_per_t
    total = electricity + carbon_eur + fuel + starts + penalty - terminal_value + hold
    parts = {
        "hold_eur": hold,
        "electricity_eur": electricity,
        "boiler_fuel_eur": fuel,
        "start_eur": starts,
        "carbon_t": carbon_kg / 1000.0,
        "penalty_eur": penalty,
    }
    return total, parts


def _held_on_min_power_kw(inputs: PlanInputs, step: int) -> float:
    """Power of the units that history keeps running at this step, at their minimum load."""
    total_kw = 0.0
    for unit in inputs.units:
        must_run = unit.available and unit.initially_on
        if must_run and step < unit.min_run_steps - unit.steps_in_state:
            total_kw += unit_power_kw(unit, step, unit.heat_min_kw)
    return total_kw


def _held_on_min_evaporator_kw(inputs: PlanInputs, step: int) -> float:
    """Source heat of the units that history keeps running at this step, at minimum load."""
    total_kw = 0.0
    for unit in inputs.units:
        must_run = unit.available and unit.initially_on
        if must_run and step < unit.min_run_steps - unit.steps_in_state:
            total_kw += unit.heat_min_kw - unit_power_kw(unit, step, unit.heat_min_kw)
    return total_kw


def plan_problems(plan: Plan) -> list[str]:
    """Every rule the plan breaks (empty when it is valid)."""
    inputs = plan.inputs
    if not plan.usable:
        return ["plan is not usable"]
    problems: list[str] = []
    for u, unit in enumerate(inputs.units):
        _check_unit(plan, u, unit, problems)
    _check_storage(plan, problems)
    grid = [sum(p[t] for p in plan.unit_power_kw) for t in range(inputs.steps)]
    if inputs.grid_import_limit_kw is not None:
        for t, grid_kw in enumerate(grid):
            limit_kw = max(inputs.grid_import_limit_kw, _held_on_min_power_kw(inputs, t))
            if grid_kw > limit_kw + HEAT_TOL_KW:
                problems.append(f"step {t}: grid import {grid_kw:.1f} kW over the limit")
    if inputs.source_heat_max_kw is not None:
        for t, limit_kw in enumerate(inputs.source_heat_max_kw):
            taken_kw = sum(
                plan.unit_heat_kw[u][t] - plan.unit_power_kw[u][t] for u in range(len(inputs.units))
            )
            held_kw = _held_on_min_evaporator_kw(inputs, t)
            if taken_kw > max(limit_kw, held_kw) + HEAT_TOL_KW:
                problems.append(f"step {t}: evaporators take {taken_kw:.1f} kW over the source")
    total, parts = _recompute_cost(plan)
    if inputs.emissions_cap_kg is not None and parts["carbon_t"] * 1000.0 > (
        inputs.emissions_cap_kg + 1e-3
    ):
        problems.append(f"emissions {parts['carbon_t'] * 1000.0:.3f} kg over the cap")
    if not math.isclose(total, plan.objective_eur, rel_tol=COST_REL_TOL, abs_tol=COST_ABS_TOL_EUR):
        problems.append(f"cost recomputed {total:.4f} EUR, reported {plan.objective_eur:.4f}")
    for name, value in parts.items():
        reported = getattr(plan, name)
        if not math.isclose(value, reported, rel_tol=1e-9, abs_tol=1e-6):
            problems.append(f"{name}: recomputed {value}, reported {reported}")
    return problems


def assert_plan_valid(plan: Plan) -> None:
    """Fail with every broken rule listed."""
    problems = plan_problems(plan)
    assert not problems, "\n".join(problems[:20])
