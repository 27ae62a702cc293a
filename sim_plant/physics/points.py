"""Point access by (device, role, index): how the servers and tests see the model's state.

Roles and kinds are those of drivers.kinds; a role a device does not have, or a device
the site does not have, raises KeyError naming both.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from drivers.kinds import KINDS, DeviceKind, Role
from sim_plant.physics.heat_meters import meter_value

if TYPE_CHECKING:
    from sim_plant.physics.model import PlantModel

# role -> attribute of HeatPumpBank (an array, one element per unit). Keyed by str, which a
# Role is: `read` looks a role up as it comes, without converting it (a year replays 4 million
# reads).
UNIT_ROLES: dict[str, str] = {
    Role.STATE_CODE: "state",
    Role.REMOTE_ACTIVE: "remote_active",
    Role.ALARM_CODE: "alarm_code",
    Role.HEAT_KW: "heat_kw",
    Role.POWER_KW: "power_kw",
    Role.SUPPLY_TEMP_C: "supply_temp_c",
    Role.RETURN_TEMP_C: "return_temp_c",
    Role.SOURCE_IN_TEMP_C: "source_in_temp_c",
    Role.SOURCE_OUT_TEMP_C: "source_out_temp_c",
    Role.RUN_HOURS_H: "run_hours_h",
    Role.STARTS_TOTAL: "starts_total",
    Role.COP: "cop",
    **{role: role.value for role in KINDS[DeviceKind.HEAT_PUMP].writable},
}
VALVE_ROLES: dict[str, str] = {
    Role.POSITION_PCT: "position_pct",
    Role.FAULT: "stuck",
    Role.POSITION_CMD_PCT: "command_pct",
}
BOILER_ROLES: dict[str, str] = {
    Role.STATE_CODE: "state",
    Role.REMOTE_ACTIVE: "remote_active",
    Role.HEAT_KW: "heat_kw",
    Role.FUEL_KW: "fuel_kw",
    Role.STARTS_TOTAL: "starts_total",
    **{role: role.value for role in KINDS[DeviceKind.BOILER].writable},
}
PLANT_ROLES = KINDS[DeviceKind.PLANT_IO].roles
METER_ROLES = KINDS[DeviceKind.HEAT_METER].roles


class PointReader:
    """Reads and writes the model's points by device name and role."""

    def __init__(self, model: PlantModel) -> None:
        self._model = model
        site = model.site
        self._kind: dict[str, tuple[DeviceKind, int]] = {}
        for i, unit in enumerate(site.units):
            self._kind[unit.name] = (DeviceKind.HEAT_PUMP, i)
        for i, valve in enumerate(site.valves):
            self._kind[valve.name] = (DeviceKind.VALVE, i)
        for i, tank in enumerate(site.tanks):
            self._kind[tank.name] = (DeviceKind.TANK, i)
        if site.boiler is not None:
            self._kind[site.boiler.name] = (DeviceKind.BOILER, 0)
        if site.plant_io is not None:
            self._kind[site.plant_io.name] = (DeviceKind.PLANT_IO, 0)
        for i, meter in enumerate(site.heat_meters):
            self._kind[meter.name] = (DeviceKind.HEAT_METER, i)

    def _locate(self, device: str) -> tuple[DeviceKind, int]:
        try:
            return self._kind[device]
        except KeyError:
            raise KeyError(f"no device named '{device}'") from None

    def read(self, device: str, role: str, index: int | None) -> float:
        kind, i = self._locate(device)
        model = self._model
        if kind is DeviceKind.TANK:
            if role == Role.LAYER_TEMP_C:
                temps = model.tanks[i].temps_c
                if index is not None and 1 <= index <= temps.size:
                    return float(temps[index - 1])
                raise KeyError(
                    f"device '{device}' role 'layer_temp_c': index {index} is not 1..{temps.size}"
                )
        elif index is not None:
            raise KeyError(f"device '{device}' role '{role}' takes no index (got {index})")
        elif kind is DeviceKind.HEAT_PUMP and role in UNIT_ROLES:
            return float(getattr(model.units, UNIT_ROLES[role])[i])
        elif kind is DeviceKind.VALVE and role in VALVE_ROLES:
            return float(getattr(model.valves, VALVE_ROLES[role])[i])
        elif kind is DeviceKind.BOILER and role in BOILER_ROLES:
            return float(getattr(model.boiler, BOILER_ROLES[role]))
        elif kind is DeviceKind.PLANT_IO and role in PLANT_ROLES:
            return model.plant_measurements[role]
        elif kind is DeviceKind.HEAT_METER and role in METER_ROLES:
            return meter_value(model, model.site.heat_meters[i], Role(role))
        raise KeyError(f"device '{device}' ({kind.value}) has no role '{role}'")

    def write(self, device: str, role: str, value: float) -> None:
        kind, i = self._locate(device)
        if not math.isfinite(value):
            raise ValueError(f"device '{device}' role '{role}': refusing non-finite value {value}")
        model = self._model
        if kind is DeviceKind.HEAT_PUMP:
            model.units.write(i, role, value)
        elif kind is DeviceKind.VALVE and role == Role.POSITION_CMD_PCT:
            model.valves.command(device, value)
        elif kind is DeviceKind.BOILER and model.boiler is not None:
            model.boiler.write(role, value)
        else:
            raise KeyError(f"device '{device}' ({kind.value}) has no writable role '{role}'")
