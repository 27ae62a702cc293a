"""The CO2 guard: what running the heat pumps on demand would emit over a plan's horizon (pure).

The reference is the plant as it runs without a planner: every step's heat from the available
heat pumps at their mean COP, the boiler only beyond their capacity, plus the heat the tank must
gain to end at its floor and the heat it loses standing. A plan may emit more than this only
against the guard's penalty, so the planner cannot buy a saving with CO2: what it saves comes
from when the units run (cheap hours, and green ones), not from burning more gas.
"""

from __future__ import annotations

import numpy as np

from controller.core.plan.inputs import PlanInputs


def heat_pumps_on_demand_kg(inputs: PlanInputs) -> float:
    steps, step_h = inputs.steps, inputs.step_h
    available = [unit for unit in inputs.units if unit.available]
    demand = np.asarray(inputs.heat_demand_kw, dtype=np.float64)
    floor = inputs.terminal_floor_kwh
    to_store_kwh = (floor if floor is not None else 0.0) - inputs.storage_initial_kwh
    losses_kwh = inputs.storage_loss_per_step * inputs.storage_initial_kwh * steps
    # the tank's needs spread evenly: when they are met does not matter to a reference
    need_kw = np.maximum(demand + (to_store_kwh + losses_kwh) / (steps * step_h), 0.0)
    carbon = np.asarray(inputs.carbon_g_per_kwh, dtype=np.float64)
    boiler_g_per_kwh_heat = inputs.boiler_fuel_carbon_g_per_kwh / inputs.boiler_efficiency
    if available:
        # a unit counts only in the steps whose lift it can make
        capacity_kw = sum(
            unit.heat_max_by_step(steps) * unit.runnable_mask(steps) for unit in available
        )
        cop = np.mean([np.asarray(unit.cop, dtype=np.float64) for unit in available], axis=0)
        pumped_kw = np.minimum(need_kw, capacity_kw)
        grams = pumped_kw / cop * carbon + (need_kw - pumped_kw) * boiler_g_per_kwh_heat
    else:
        grams = need_kw * boiler_g_per_kwh_heat
    return float(grams.sum()) * step_h / 1000.0
