"""Protocol-agnostic typed views of devices, and command builders, all by role.

The controller reads `HeatPumpView(snapshot, "hp1").heat_kw` and writes
`HeatPumpCommand(...).to_points(point_map)`; it never sees a register, a node id or a point
name. Every view property is None unless the underlying reading is GOOD.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers.cache import Snapshot
from drivers.errors import PermanentError
from drivers.pointmap import PointMap


class UnitState(IntEnum):
    """The `state_code` convention of the generic heat-pump and boiler maps."""

    OFF = 0
    STARTING = 1
    RUNNING = 2
    STOPPING = 3
    TRIPPED = 4


class _View:
    def __init__(self, snapshot: Snapshot, device: str) -> None:
        self.snapshot = snapshot
        self.device = device

    def _value(self, role: str, index: int | None = None) -> float | None:
        return self.snapshot.value(self.device, role, index)

    def _flag(self, role: str) -> bool | None:
        value = self._value(role)
        return None if value is None else value >= 0.5

    def _state(self) -> UnitState | None:
        value = self._value("state_code")
        if value is None or round(value) not in UnitState._value2member_map_:
            return None
        return UnitState(round(value))

    def _state_is(self, *states: UnitState) -> bool | None:
        state = self._state()
        return None if state is None else state in states

    @property
    def all_good(self) -> bool:
        """Whether every point of the device is GOOD in this snapshot."""
        point_map = self.snapshot.point_map(self.device)
        return all(self.snapshot.get(self.device, p.name).good for p in point_map.points)


class HeatPumpView(_View):
    """A heat-pump unit's measurements."""

    @property
    def state(self) -> UnitState | None:
        return self._state()

    @property
    def state_code(self) -> float | None:
        return self._value("state_code")

    @property
    def running(self) -> bool | None:
        return self._state_is(UnitState.RUNNING)

    @property
    def starting(self) -> bool | None:
        return self._state_is(UnitState.STARTING)

    @property
    def tripped(self) -> bool | None:
        return self._state_is(UnitState.TRIPPED)

    @property
    def remote_active(self) -> bool | None:
        return self._flag("remote_active")

    @property
    def alarm_code(self) -> float | None:
        return self._value("alarm_code")

    @property
    def heat_kw(self) -> float | None:
        return self._value("heat_kw")

    @property
    def power_kw(self) -> float | None:
        return self._value("power_kw")

    @property
    def cop(self) -> float | None:
        return self._value("cop")

    @property
    def supply_temp_c(self) -> float | None:
        return self._value("supply_temp_c")

    @property
    def return_temp_c(self) -> float | None:
        return self._value("return_temp_c")

    @property
    def source_in_temp_c(self) -> float | None:
        return self._value("source_in_temp_c")

    @property
    def source_out_temp_c(self) -> float | None:
        return self._value("source_out_temp_c")

    @property
    def run_hours_h(self) -> float | None:
        return self._value("run_hours_h")

    @property
    def starts_total(self) -> float | None:
        return self._value("starts_total")


class BoilerView(_View):
    """The backup boiler's measurements."""

    @property
    def state(self) -> UnitState | None:
        return self._state()

    @property
    def state_code(self) -> float | None:
        return self._value("state_code")

    @property
    def running(self) -> bool | None:
        return self._state_is(UnitState.RUNNING)

    @property
    def tripped(self) -> bool | None:
        return self._state_is(UnitState.TRIPPED)

    @property
    def remote_active(self) -> bool | None:
        return self._flag("remote_active")

    @property
    def heat_kw(self) -> float | None:
        return self._value("heat_kw")

    @property
    def fuel_kw(self) -> float | None:
        return self._value("fuel_kw")

    @property
    def starts_total(self) -> float | None:
        return self._value("starts_total")


class ValveView(_View):
    """An isolation valve's position and fault flag."""

    @property
    def position_pct(self) -> float | None:
        return self._value("position_pct")

    @property
    def fault(self) -> bool | None:
        return self._flag("fault")

    def is_open(self, min_open_pct: float = 90.0) -> bool | None:
        position_pct = self.position_pct
        return None if position_pct is None else position_pct >= min_open_pct


class TankView(_View):
    """A stratified tank: layer temperatures bottom to top, None where not GOOD."""

    @property
    def layer_temps_c(self) -> list[float | None]:
        readings = self.snapshot.all_by_role(self.device, "layer_temp_c")
        return [r.value if r.good else None for r in readings]


class PlantIoView(_View):
    """Plant-wide measurements: network heat meter and temperatures, outdoor, source."""

    @property
    def network_heat_kw(self) -> float | None:
        return self._value("network_heat_kw")

    @property
    def network_supply_temp_c(self) -> float | None:
        return self._value("network_supply_temp_c")

    @property
    def network_return_temp_c(self) -> float | None:
        return self._value("network_return_temp_c")

    @property
    def outdoor_temp_c(self) -> float | None:
        return self._value("outdoor_temp_c")

    @property
    def source_temp_c(self) -> float | None:
        return self._value("source_temp_c")

    @property
    def cooling_demand_kw(self) -> float | None:
        return self._value("cooling_demand_kw")


def _point_for(point_map: PointMap, role: str, required: bool = True) -> str | None:
    points = [p for p in point_map.by_role(role) if p.writable]
    if not points:
        if required:
            raise PermanentError(f"{point_map.source}: no writable point with role '{role}'")
        return None
    return points[0].name


def _build(
    point_map: PointMap, values: dict[str, float | None], optional: set[str]
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
                "remote_request": 1.0 if self.remote else 0.0,
                "enable_cmd": 1.0 if self.enable else 0.0,
                "heat_setpoint_kw": self.heat_setpoint_kw,
                "supply_temp_setpoint_c": self.supply_temp_setpoint_c,
            },
            optional={"supply_temp_setpoint_c"},
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
                "remote_request": 1.0 if self.remote else 0.0,
                "enable_cmd": 1.0 if self.enable else 0.0,
                "heat_setpoint_kw": self.heat_setpoint_kw,
            },
            optional=set(),
        )


@dataclass(frozen=True, slots=True)
class ValveCommand:
    position_pct: float

    def to_points(self, point_map: PointMap) -> dict[str, float]:
        return _build(point_map, {"position_cmd_pct": self.position_pct}, optional=set())


def heartbeat_points(point_map: PointMap, counter: int) -> dict[str, float]:
    """The heartbeat write for this cycle (empty if the map has none); wraps within its range."""
    name = _point_for(point_map, "heartbeat", required=False)
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
