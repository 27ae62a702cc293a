"""Point access by (device, role, index): how the servers and tests see the model's state.

Roles are the point-map roles of drivers.pointmap; a role a device does not have, or a device
the site does not have, raises KeyError naming both.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim_plant.physics.boiler import WRITABLE_ROLES as BOILER_WRITABLE

if TYPE_CHECKING:
    from sim_plant.physics.model import PlantModel

# role -> attribute of HeatPumpBank (an array, one element per unit)
UNIT_ROLES = {
    "state_code": "state",
    "remote_active": "remote_active",
    "alarm_code": "alarm_code",
    "heat_kw": "heat_kw",
    "power_kw": "power_kw",
    "supply_temp_c": "supply_temp_c",
    "return_temp_c": "return_temp_c",
    "source_in_temp_c": "source_in_temp_c",
    "source_out_temp_c": "source_out_temp_c",
    "run_hours_h": "run_hours_h",
    "starts_total": "starts_total",
    "cop": "cop",
    "heartbeat": "heartbeat",
    "remote_request": "remote_request",
    "enable_cmd": "enable_cmd",
    "heat_setpoint_kw": "heat_setpoint_kw",
    "supply_temp_setpoint_c": "supply_temp_setpoint_c",
}
VALVE_ROLES = {"position_pct": "position_pct", "fault": "stuck", "position_cmd_pct": "command_pct"}
BOILER_ROLES = {
    "state_code": "state",
    "remote_active": "remote_active",
    "heat_kw": "heat_kw",
    "fuel_kw": "fuel_kw",
    "starts_total": "starts_total",
    **{role: role for role in BOILER_WRITABLE},
}
PLANT_ROLES = (
    "network_heat_kw",
    "network_supply_temp_c",
    "network_return_temp_c",
    "outdoor_temp_c",
    "source_temp_c",
    "cooling_demand_kw",
)


class PointReader:
    """Reads and writes the model's points by device name and role."""

    def __init__(self, model: PlantModel) -> None:
        self._model = model
        site = model.site
        self._kind: dict[str, tuple[str, int]] = {}
        for i, unit in enumerate(site.units):
            self._kind[unit.name] = ("unit", i)
        for i, valve in enumerate(site.valves):
            self._kind[valve.name] = ("valve", i)
        for i, tank in enumerate(site.tanks):
            self._kind[tank.name] = ("tank", i)
        if site.boiler is not None:
            self._kind[site.boiler.name] = ("boiler", 0)
        if site.plant_io is not None:
            self._kind[site.plant_io.name] = ("plant", 0)

    def _locate(self, device: str) -> tuple[str, int]:
        try:
            return self._kind[device]
        except KeyError:
            raise KeyError(f"no device named '{device}'") from None

    def read(self, device: str, role: str, index: int | None) -> float:
        kind, i = self._locate(device)
        model = self._model
        if kind == "tank":
            if role == "layer_temp_c":
                temps = model.tanks[i].temps_c
                if index is not None and 1 <= index <= temps.size:
                    return float(temps[index - 1])
                raise KeyError(
                    f"device '{device}' role 'layer_temp_c': index {index} is not 1..{temps.size}"
                )
        elif index is not None:
            raise KeyError(f"device '{device}' role '{role}' takes no index (got {index})")
        elif kind == "unit" and role in UNIT_ROLES:
            return float(getattr(model.units, UNIT_ROLES[role])[i])
        elif kind == "valve" and role in VALVE_ROLES:
            return float(getattr(model.valves, VALVE_ROLES[role])[i])
        elif kind == "boiler" and role in BOILER_ROLES:
            return float(getattr(model.boiler, BOILER_ROLES[role]))
        elif kind == "plant" and role in PLANT_ROLES:
            return model.plant_measurements[role]
        raise KeyError(f"device '{device}' ({kind}) has no role '{role}'")

    def write(self, device: str, role: str, value: float) -> None:
        kind, i = self._locate(device)
        if not math.isfinite(value):
            raise ValueError(f"device '{device}' role '{role}': refusing non-finite value {value}")
        model = self._model
        if kind == "unit":
            model.units.write(i, role, value)
        elif kind == "valve" and role == "position_cmd_pct":
            model.valves.command(device, value)
        elif kind == "boiler" and model.boiler is not None:
            model.boiler.write(role, value)
        else:
            raise KeyError(f"device '{device}' ({kind}) has no writable role '{role}'")
