"""Command builders by role: what the outputs write, without a register, node id or point name.

`HeatPumpCommand(...).to_points(point_map)` gives {point name: value} for the map's writable
points with the command roles of `drivers.kinds`; the heartbeat and the hand-back to local
control are built the same way. Measurements are read straight from the snapshot by role.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.errors import PermanentError
from drivers.kinds import Role
from drivers.pointmap import PointMap


def _point_for(point_map: PointMap, role: Role, required: bool = True) -> str | None:
    points = [p for p in point_map.by_role(role) if p.writable]
    if not points:
        if required:
            raise PermanentError(f"{point_map.source}: no writable point with role '{role}'")
        return None
    return points[0].name


def _build(
    point_map: PointMap, values: dict[Role, float | None], optional: set[Role]
) -> dict[str, float]:
    result: dict[str, float] = {}
    for role, value in values.items():
        if value is None:
            continue
        name = _point_for(point_map, role, required=role not in optional)
        if name is not None:
            result[name] = value
    return result


@dataclass(frozen=True, slots=True)
class HeatPumpCommand:
    """What the supervisor asks of a unit. `remote=False` hands it back to local control."""

    enable: bool
    heat_setpoint_kw: float
    remote: bool = True
    supply_temp_setpoint_c: float | None = None

    def to_points(self, point_map: PointMap) -> dict[str, float]:
        """{point name: value} for the map's writable points with the matching roles."""
        return _build(
            point_map,
            {
                Role.REMOTE_REQUEST: 1.0 if self.remote else 0.0,
                Role.ENABLE_CMD: 1.0 if self.enable else 0.0,
                Role.HEAT_SETPOINT_KW: self.heat_setpoint_kw,
                Role.SUPPLY_TEMP_SETPOINT_C: self.supply_temp_setpoint_c,
            },
            optional={Role.SUPPLY_TEMP_SETPOINT_C},
        )


@dataclass(frozen=True, slots=True)
class BoilerCommand:
    """What the supervisor asks of the boiler."""

    enable: bool
    heat_setpoint_kw: float
    remote: bool = True

    def to_points(self, point_map: PointMap) -> dict[str, float]:
        return _build(
            point_map,
            {
                Role.REMOTE_REQUEST: 1.0 if self.remote else 0.0,
                Role.ENABLE_CMD: 1.0 if self.enable else 0.0,
                Role.HEAT_SETPOINT_KW: self.heat_setpoint_kw,
            },
            optional=set(),
        )


@dataclass(frozen=True, slots=True)
class ValveCommand:
    position_pct: float

    def to_points(self, point_map: PointMap) -> dict[str, float]:
        return _build(point_map, {Role.POSITION_CMD_PCT: self.position_pct}, optional=set())


def heartbeat_points(point_map: PointMap, counter: int) -> dict[str, float]:
    """The heartbeat write for this cycle (empty if the map has none); wraps within its range."""
    name = _point_for(point_map, Role.HEARTBEAT, required=False)
    if name is None:
        return {}
    point = point_map.point(name)
    low = int(point.min or 0)
    high = int(point.max if point.max is not None else 1)
    return {name: float(low + counter % (high - low + 1))}


def safe_default_points(point_map: PointMap) -> dict[str, float]:
    """Every writable point's safe default: what is written when handing back to local control."""
    return {
        p.name: p.safe_default
        for p in point_map.points
        if p.writable and p.safe_default is not None
    }
