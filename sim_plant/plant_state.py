"""The simulated plant's physical truth as JSON, for an observer independent of the controller.

What the equipment really does, not what its (possibly faulted) sensors report: unit states,
temperatures, time since the compressor last started or stopped and start counts, so that a
test or a fault campaign can check temperature and start limits without trusting the controller.
Non-finite numbers (an outdoor temperature before the first step, "never switched") are null.
"""

from __future__ import annotations

import math

from drivers.kinds import StateCode
from sim_plant.physics import PlantModel


def _number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _state_name(code: int) -> str:
    return StateCode(code).name.lower()


def plant_state(model: PlantModel) -> dict[str, object]:
    """A snapshot of the plant now (simulated time), ready for `json.dumps`."""
    units = model.units
    totals = model.totals
    unit_states: dict[str, object] = {}
    for i, name in enumerate(units.names):
        code = int(units.state[i])
        unit_states[name] = {
            "state": _state_name(code),
            "state_code": code,
            "alarm_code": int(units.alarm_code[i]),
            "remote_active": bool(units.remote_active[i]),
            "heat_kw": _number(units.heat_kw[i]),
            "power_kw": _number(units.power_kw[i]),
            "supply_temp_c": _number(units.supply_temp_c[i]),
            "return_temp_c": _number(units.return_temp_c[i]),
            "max_supply_temp_c": _number(units.max_supply_temp_c[i]),
            "time_in_state_s": _number(units.state_time_s[i]),
            # the compressor's last start or stop: what min_run_s and min_off_s count from
            "since_switch_s": _number(units.since_switch_s[i]),
            "min_run_s": _number(units.min_run_s[i]),
            "min_off_s": _number(units.min_off_s[i]),
            "starts_total": int(units.starts_total[i]),
            "run_hours_h": _number(units.run_hours_h[i]),
        }
    boiler = model.boiler
    boiler_state: dict[str, object] | None = None
    if boiler is not None:
        boiler_state = {
            "name": boiler.spec.name,
            "state": _state_name(int(boiler.state)),
            "state_code": int(boiler.state),
            "heat_kw": _number(boiler.heat_kw),
            "time_in_state_s": _number(boiler.state_time_s),
            "starts_total": boiler.starts_total,
        }
    valves = model.valves
    valve_states = {
        name: {
            "position_pct": _number(valves.position_pct[i]),
            "command_pct": _number(valves.command_pct[i]),
            "stuck": bool(valves.stuck[i]),
        }
        for i, name in enumerate(valves.names)
    }
    tank_states = {
        tank.spec.name: {
            "layer_temps_c": [_number(t) for t in tank.temps_c],  # bottom first
            "top_temp_c": _number(tank.top_temp_c),
            "bottom_temp_c": _number(tank.bottom_temp_c),
            "coldest_seen_c": _number(totals.tank_min_temp_c[tank.spec.name]),
            "hottest_seen_c": _number(totals.tank_max_temp_c[tank.spec.name]),
            "min_temp_c": _number(tank.spec.min_temp_c),
            "max_temp_c": _number(tank.spec.max_temp_c),
            "energy_above_min_kwh": _number(tank.energy_above_min_kwh()),
        }
        for tank in model.tanks
    }
    return {
        "now_utc": model.now_utc.isoformat(),
        "simulated_s": totals.simulated_s,
        "units": unit_states,
        "boiler": boiler_state,
        "valves": valve_states,
        "tanks": tank_states,
        "plant": {role: _number(value) for role, value in model.plant_measurements.items()},
        "totals": {
            "heat_delivered_kwh": totals.heat_delivered_kwh,
            "heat_demand_kwh": totals.heat_demand_kwh,
            "unmet_heat_kwh": totals.unmet_heat_kwh,
            "hours_below_supply_min_h": totals.hours_below_supply_min_h,
            "electricity_kwh": totals.electricity_kwh,
            "boiler_heat_kwh": totals.boiler_heat_kwh,
        },
    }
