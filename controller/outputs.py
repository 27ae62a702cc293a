"""Commands -> point writes: by role through each device's map, only what changed, plus heartbeat.

The controller never knows register names: a command says `enable_cmd` and the device's point
map says which point (and register) that is. A device whose write failed is forgotten, so that
everything is written again once it answers.
"""

from __future__ import annotations

from controller.core.commands import Commands
from drivers.pointmap import PointMap

HEARTBEAT_MODULUS = 65536


def _by_role(point_map: PointMap, values: dict[str, float]) -> dict[str, float]:
    """Role -> point name; a role the map does not offer is skipped (e.g. no supply setpoint)."""
    out: dict[str, float] = {}
    for role, value in values.items():
        points = point_map.by_role(role)
        if points and points[0].writable:
            out[points[0].name] = value
    return out


def command_points(
    commands: Commands, maps: dict[str, PointMap], heartbeat: int, boiler_device: str | None
) -> dict[str, dict[str, float]]:
    """Every writable point's wanted value, per device (heartbeat included)."""
    wanted: dict[str, dict[str, float]] = {}
    for name, unit in commands.units.items():
        wanted[name] = _by_role(
            maps[name],
            {
                "heartbeat": float(heartbeat),
                "remote_request": 1.0 if unit.remote else 0.0,
                "enable_cmd": 1.0 if unit.enable else 0.0,
                "heat_setpoint_kw": round(unit.heat_setpoint_kw, 1),
                "supply_temp_setpoint_c": round(unit.supply_temp_setpoint_c, 2),
            },
        )
    for name, valve in commands.valves.items():
        wanted[name] = _by_role(maps[name], {"position_cmd_pct": valve.position_pct})
    if commands.boiler is not None and boiler_device is not None:
        boiler = commands.boiler
        wanted[boiler_device] = _by_role(
            maps[boiler_device],
            {
                "heartbeat": float(heartbeat),
                "remote_request": 1.0 if boiler.remote else 0.0,
                "enable_cmd": 1.0 if boiler.enable else 0.0,
                "heat_setpoint_kw": round(boiler.heat_setpoint_kw, 1),
            },
        )
    return wanted


def handback_points(maps: dict[str, PointMap], devices: list[str]) -> dict[str, dict[str, float]]:
    """Safe defaults of every writable point except the heartbeat: local control takes over."""
    out: dict[str, dict[str, float]] = {}
    for name in devices:
        values = {
            point.name: float(point.safe_default)
            for point in maps[name].points
            if point.writable and point.safe_default is not None and point.role != "heartbeat"
        }
        if values:
            out[name] = values
    return out


class WriteDiff:
    """Remembers what each device last accepted, to write only changes."""

    def __init__(self) -> None:
        self._written: dict[str, dict[str, float]] = {}

    def changes(self, wanted: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for device, values in wanted.items():
            last = self._written.get(device, {})
            changed = {name: value for name, value in values.items() if last.get(name) != value}
            if changed:
                out[device] = changed
        return out

    def accepted(self, device: str, values: dict[str, float]) -> None:
        self._written.setdefault(device, {}).update(values)

    def forget(self, device: str) -> None:
        self._written.pop(device, None)
