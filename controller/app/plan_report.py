"""`hpctl plan`: one planning run from a scenario, as the live planner would make it at `start`.

The plant is taken as at rest at the start (every unit off long enough to start, the tank at
`soc`); the planner sees only what it could know then: the scenario's rows before the start as
its history database (outdoor temperature, and heat demand and source temperature where the file
has them: its forecaster learns from them as live), published day-ahead prices, carbon intensity
up to the present hour. Where each input came from is printed with the plan.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controller.config import Plant
from controller.core.estimate import PlantState, TankState, UnitState
from controller.core.history import UnitHistory
from controller.core.plan import Plan, PlanInputs, solve_plan
from controller.runtime.market import ScenarioMarket
from controller.runtime.past import scenario_past
from controller.runtime.planner import Forecast, PlannerService
from drivers.clock import SimClock
from drivers.kinds import StateCode
from drivers.scenario import Scenario


@dataclass(frozen=True)
class PlanRun:
    plan: Plan
    forecast: Forecast


def resting_state(plant: Plant, scenario: Scenario, start_utc: datetime, soc: float) -> PlantState:
    site = plant.site
    outdoor = (
        scenario.at(start_utc - timedelta(hours=1)).outdoor_temp_c
        if start_utc > scenario.start_utc
        else None
    )
    units = tuple(
        UnitState(
            name=spec.name,
            data_good=True,
            state_code=StateCode.OFF,
            remote_active=True,
            alarm_code=0,
            heat_kw=0.0,
            power_kw=0.0,
            supply_temp_c=None,
            source_temp_c=None,
            run_hours_h=0.0,
            starts_total=0.0,
            valve_position_pct=0.0,
        )
        for spec in site.units
    )
    tanks = tuple(
        TankState(
            name=tank.name,
            layer_temps_c=tuple(
                tank.min_temp_c + soc * (tank.max_temp_c - tank.min_temp_c)
                for _ in range(tank.layers)
            ),
            capacity_kwh=tank.capacity_kwh,
            soc=soc,
            energy_kwh=soc * tank.capacity_kwh,
        )
        for tank in site.tanks
    )
    return PlantState(
        now_utc=start_utc,
        now_s=0.0,
        units=units,
        tanks=tanks,
        boiler=None,
        network_heat_kw=None,
        network_supply_temp_c=None,
        outdoor_temp_c=outdoor,
        source_temp_c=None,
        cooling_demand_kw=None,
    )


def first_plan_inputs(
    plant: Plant, scenario: Scenario, start_utc: datetime, soc: float = 0.5
) -> tuple[PlanInputs, Forecast]:
    """The inputs the live planner would build at `start` for the plant at rest."""
    market = ScenarioMarket(
        scenario, plant.control.planner.publication_time, plant.site.plant.timezone
    )
    clock = SimClock(start_utc)
    planner = PlannerService(plant, market, clock)
    planner.learn_past(scenario_past(scenario, start_utc), start_utc)
    state = resting_state(plant, scenario, start_utc, soc)
    long_ago = -1e9
    histories = {
        unit.name: UnitHistory(compressor_on=False, since_s=long_ago, recent_starts_s=())
        for unit in state.units
    }
    return planner.build_inputs(state, histories)


def plan_once(plant: Plant, scenario: Scenario, start_utc: datetime, soc: float = 0.5) -> PlanRun:
    inputs, forecast = first_plan_inputs(plant, scenario, start_utc, soc)
    plan = solve_plan(inputs, cold_start=True)  # a first plan, as the live planner makes it
    return PlanRun(plan=plan, forecast=forecast)


def as_json(run: PlanRun) -> dict[str, Any]:
    plan, forecast = run.plan, run.forecast
    steps = []
    if plan.usable:
        for k, when in enumerate(forecast.steps_utc):
            steps.append(
                {
                    "start_utc": when.isoformat(),
                    "price_eur_per_mwh": forecast.price_eur_per_mwh[k],
                    "price_known": when < forecast.prices_known_until,
                    "carbon_g_per_kwh": forecast.carbon_g_per_kwh[k],
                    "heat_demand_kw": forecast.heat_demand_kw[k],
                    "outdoor_temp_c": forecast.outdoor_temp_c[k],
                    "source_temp_c": forecast.source_temp_c[k],
                    "unit_heat_kw": {
                        name: plan.unit_heat_kw[i][k] for i, name in enumerate(plan.unit_names)
                    },
                    "unit_power_kw": {
                        name: plan.unit_power_kw[i][k] for i, name in enumerate(plan.unit_names)
                    }
                    if plan.unit_power_kw
                    else {},
                    "boiler_heat_kw": plan.boiler_heat_kw[k],
                    "storage_soc": plan.storage_kwh[k] / _capacity(plan),
                    "unmet_heat_kw": plan.unmet_heat_kw[k],
                }
            )
    return {
        "status": plan.status,
        "usable": plan.usable,
        "message": plan.message,
        "objective_eur": _finite(plan.objective_eur),
        "mip_gap": _finite(plan.mip_gap),
        "solve_time_s": plan.solve_time_s,
        "start": plan.start,
        "time_to_first_solution_s": _finite(plan.time_to_first_solution_s),
        "electricity_eur": _finite(plan.electricity_eur),
        "boiler_fuel_eur": _finite(plan.boiler_fuel_eur),
        "start_eur": _finite(plan.start_eur),
        "carbon_t": _finite(plan.carbon_t),
        "planned_cop": _finite(_planned_cop(plan)) if plan.usable else None,
        "prices_known_until_utc": forecast.prices_known_until.isoformat(),
        "inputs": dict(forecast.provenance),
        "input_sources": {
            name: input_source(name, text) for name, text in forecast.provenance.items()
        },
        "steps": steps,
    }


def _planned_cop(plan: Plan) -> float:
    """The plan's heat-pump heat over its electricity (NaN when no unit runs)."""
    heat_kw = power_kw = 0.0
    for index, unit in enumerate(plan.inputs.units):
        for heat, cop in zip(plan.unit_heat_kw[index], unit.cop, strict=True):
            heat_kw += heat
            power_kw += heat / cop if cop > 0 else 0.0
    return heat_kw / power_kw if power_kw > 0 else math.nan


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value  # NaN is not JSON


def _capacity(plan: Plan) -> float:
    return plan.inputs.storage_capacity_kwh if plan.inputs.storage_capacity_kwh > 0 else 1.0


def input_source(name: str, text: str) -> str:
    """Which kind of input the planner used for `name`, from its provenance text: measured,
    forecast, scenario (the file `hpctl plan` reads stands in for market and meters), or a
    default (the plant file's design curve or constant, or an assumed value)."""
    if "assumed" in text or text.startswith("no price"):
        return "default"
    if text.startswith(("design curve", "plant file")):
        return "default (plant file)"
    if name in ("price", "carbon"):
        return "scenario, then forecast"
    if name == "history":
        return "scenario"
    if text.startswith("learned"):
        return "forecast"
    if "scenario" in text:
        return "scenario"
    if text.startswith("market"):
        return "market"
    if "measured" in text:
        return "measured"
    return "-"


def defaulted_inputs(run: PlanRun) -> list[str]:
    """One warning per input the plan had to assume (e.g. 0 °C outdoors, no weather known)."""
    return [
        f"{name}: {text}"
        for name, text in run.forecast.provenance.items()
        if input_source(name, text) == "default"
    ]


def render_table(run: PlanRun) -> str:
    plan, forecast = run.plan, run.forecast
    head = (
        f"plan {plan.status}: objective {plan.objective_eur:.0f} EUR, gap {plan.mip_gap:.2%}, "
        f"solved in {plan.solve_time_s:.2f} s ({plan.start} start, first solution after "
        f"{plan.time_to_first_solution_s:.2f} s); prices known until {forecast.prices_known_until:%Y-%m-%d %H:%M} UTC"
    )
    inputs = [
        f"  {name:<8} [{input_source(name, text)}] {text}"
        for name, text in forecast.provenance.items()
    ]
    if not plan.usable:
        return "\n".join([head, "  inputs:", *inputs, f"  no usable plan: {plan.message}"])
    names = plan.unit_names
    width = max(9, *(len(name) + 3 for name in names)) if names else 9
    units = " ".join(f"{name + ' kW':>{width}}" for name in names)
    lines = [
        head,
        "  inputs:",
        *inputs,
        f"  planned COP {_planned_cop(plan):.2f} (heat over electricity), source "
        f"{min(forecast.source_temp_c):.1f} .. {max(forecast.source_temp_c):.1f} °C, outdoor "
        f"{min(forecast.outdoor_temp_c):.1f} .. {max(forecast.outdoor_temp_c):.1f} °C",
        f"  {'start UTC':<16} {'EUR/MWh':>8} {'gCO2/kWh':>8} {'outdoor °C':>10} "
        f"{'demand kW':>9} {units} {'boiler kW':>9} {'elec kW':>9} {'SoC %':>5}",
    ]
    for k, when in enumerate(forecast.steps_utc):
        known = " " if when < forecast.prices_known_until else "*"
        heats = " ".join(f"{plan.unit_heat_kw[i][k]:{width}.0f}" for i in range(len(names)))
        grid_kw = plan.grid_power_kw[k] if plan.grid_power_kw else math.nan
        lines.append(
            f"  {when:%Y-%m-%d %H:%M} {forecast.price_eur_per_mwh[k]:7.1f}{known} "
            f"{forecast.carbon_g_per_kwh[k]:8.0f} {forecast.outdoor_temp_c[k]:10.1f} "
            f"{forecast.heat_demand_kw[k]:9.0f} {heats} {plan.boiler_heat_kw[k]:9.0f} "
            f"{grid_kw:9.0f} {100.0 * plan.storage_kwh[k] / _capacity(plan):5.0f}"
        )
    lines.append(
        f"  totals: electricity {plan.electricity_eur:.0f} EUR, boiler fuel {plan.boiler_fuel_eur:.0f} EUR, "
        f"starts {plan.start_eur:.0f} EUR, CO2 {plan.carbon_t:.1f} t, unmet {sum(plan.unmet_heat_kw) * plan.inputs.step_s / 3600 / 1000:.2f} MWh"
    )
    lines.append(
        "  (* price forecast: not yet published at the planning time; heat and electric power "
        "are step means; SoC % of the planned storage range)"
    )
    return "\n".join(lines)


def dumps(run: PlanRun) -> str:
    return json.dumps(as_json(run), indent=2)
