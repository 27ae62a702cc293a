"""A lower bound on the period's cost: the planner's model over the whole period, relaxed.

One linear program over every hour of the replay with perfect knowledge: integrality dropped
(units may run at a fraction of minimum load), no start costs, the tank's whole range usable,
the boiler without a minimum load, and the tank only asked to end where it began. Every policy
runs a plant that must obey more than this, so none can cost less, up to the model's own error
(the planner's COP and storage are models of the simulated physics, not the physics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from controller.app.plan_report import resting_state
from controller.config import Plant
from controller.core.plan import build_model, solve_model
from controller.evaluate.data import EvaluationData
from controller.evaluate.policies import perfect
from drivers.clock import SimClock
from sim_plant.physics import PlantModel

BOUND_TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class CostBound:
    status: str
    cost_eur: float  # objective: electricity + boiler fuel (+ carbon price x CO2)
    electricity_eur: float
    boiler_fuel_eur: float
    co2_t: float
    unmet_heat_kwh: float
    solve_time_s: float
    variables: int
    rows: int


def lower_bound(
    plant: Plant,
    data: EvaluationData,
    start_utc: datetime,
    end_utc: datetime,
    carbon_price_eur_per_t: float | None,
) -> CostBound:
    hours = round((end_utc - start_utc).total_seconds() / 3600.0)
    setup = perfect(plant, data, SimClock(start_utc), carbon_price_eur_per_t, horizon_h=hours)
    assert setup.planner is not None
    initial_kwh = sum(
        tank.energy_above_min_kwh() for tank in PlantModel(plant.site, start_utc).tanks
    )
    capacity_kwh = sum(tank.capacity_kwh for tank in plant.site.tanks)
    state = resting_state(plant, data.market_scenario, start_utc, initial_kwh / capacity_kwh)
    inputs, _ = setup.planner.build_inputs(state, {})
    inputs = replace(
        inputs,
        units=tuple(replace(unit, start_cost_eur=0.0) for unit in inputs.units),
        storage_capacity_kwh=capacity_kwh,
        storage_initial_kwh=initial_kwh,
        storage_terminal_kwh=initial_kwh,
        time_limit_s=BOUND_TIME_LIMIT_S,
    )
    model = build_model(inputs)
    relaxed = replace(model, integrality=np.zeros_like(model.integrality))
    outcome = solve_model(relaxed, inputs.time_limit_s, 0.0)
    if outcome.x is None or outcome.status != "optimal":
        nan = math.nan
        return CostBound(
            outcome.status,
            nan,
            nan,
            nan,
            nan,
            nan,
            outcome.solve_time_s,
            model.cost.size,
            model.row_lower.size,
        )
    x = outcome.x
    cols = model.index
    step_h = inputs.step_h
    power_kw = (model.power_on_kw * x[cols.on] + model.power_per_heat * x[cols.heat]).sum(axis=0)
    price = np.asarray(inputs.price_eur_per_mwh)
    carbon = np.asarray(inputs.carbon_g_per_kwh)
    fuel_kwh = x[cols.boiler] * step_h / inputs.boiler_efficiency
    return CostBound(
        status=outcome.status,
        cost_eur=outcome.objective_eur,
        electricity_eur=float(power_kw @ price) * step_h / 1000.0,
        boiler_fuel_eur=float(fuel_kwh @ np.asarray(inputs.fuel_price_per_step)) / 1000.0,
        co2_t=(
            float(power_kw @ carbon) * step_h
            + float(fuel_kwh.sum()) * inputs.boiler_fuel_carbon_g_per_kwh
        )
        * 1e-6,
        unmet_heat_kwh=float(x[cols.unmet].sum()) * step_h,
        solve_time_s=outcome.solve_time_s,
        variables=int(model.cost.size),
        rows=int(model.row_lower.size),
    )
