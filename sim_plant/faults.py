"""Fault injection for the simulated plant: lost communication, bad sensors, trips, stuck valves.

The servers ask `is_comm_dropped` before answering a device; the physics model asks `sensor`
what a point shows. Faults act on what is measured or on the equipment, never on the physics
truth used for energy accounting: a stuck tank sensor fools the controller, not the tank.
"""

from __future__ import annotations

from typing import Protocol

from drivers.site import SiteConfig

SensorKey = tuple[str, str, int | None]


class FaultTarget(Protocol):
    """What the faults act on (the plant model)."""

    def true_value(self, device: str, role: str, index: int | None = None) -> float:
        """The point's value without faults; KeyError for an unknown device or role."""
        ...

    def trip_unit_now(self, unit: str, alarm_code: int) -> None: ...

    def set_valve_stuck(self, valve: str, stuck: bool) -> None: ...


class Faults:
    """Active faults of one plant. Unknown device names raise KeyError naming them."""

    def __init__(self, site: SiteConfig, target: FaultTarget) -> None:
        self._devices = frozenset(device.name for device in site.devices())
        self._units = frozenset(unit.name for unit in site.units)
        self._valves = frozenset(valve.name for valve in site.valves)
        self._target = target
        self._comm_dropped: set[str] = set()
        self._stuck: dict[SensorKey, float] = {}
        self._nan: set[SensorKey] = set()
        self._stuck_valves: set[str] = set()

    def _device(self, device: str) -> str:
        if device not in self._devices:
            raise KeyError(f"no device named '{device}'")
        return device

    def drop_comm(self, device: str) -> None:
        """The servers stop answering this device (as if its cable were pulled)."""
        self._comm_dropped.add(self._device(device))

    def restore_comm(self, device: str) -> None:
        self._comm_dropped.discard(self._device(device))

    def is_comm_dropped(self, device: str) -> bool:
        return self._device(device) in self._comm_dropped

    def stick_sensor(self, device: str, role: str, index: int | None = None) -> None:
        """Freeze the point at the value it shows now (a stuck transmitter)."""
        key = (self._device(device), role, index)
        self._nan.discard(key)
        self._stuck[key] = self._target.true_value(device, role, index)

    def nan_sensor(self, device: str, role: str, index: int | None = None) -> None:
        """The point shows NaN (a broken wire on an analogue input read as not-a-number)."""
        self._target.true_value(self._device(device), role, index)
        key = (device, role, index)
        self._stuck.pop(key, None)
        self._nan.add(key)

    def clear_sensor(self, device: str, role: str, index: int | None = None) -> None:
        key = (self._device(device), role, index)
        self._stuck.pop(key, None)
        self._nan.discard(key)

    def sensor(self, device: str, role: str, index: int | None, true_value: float) -> float:
        """What a point shows, given its true value."""
        if not self._stuck and not self._nan:
            return true_value
        key = (device, role, index)
        if key in self._nan:
            return float("nan")
        return self._stuck.get(key, true_value)

    def trip_unit(self, unit: str, alarm_code: int = 5) -> None:
        """The unit trips now with `alarm_code` (5: internal fault) and needs the usual reset."""
        if unit not in self._units:
            raise KeyError(f"no heat-pump unit named '{unit}'")
        self._target.trip_unit_now(unit, alarm_code)

    def stick_valve(self, valve: str) -> None:
        """The actuator stops moving and reports a fault."""
        if valve not in self._valves:
            raise KeyError(f"no valve named '{valve}'")
        self._stuck_valves.add(valve)
        self._target.set_valve_stuck(valve, True)

    def free_valve(self, valve: str) -> None:
        if valve not in self._valves:
            raise KeyError(f"no valve named '{valve}'")
        self._stuck_valves.discard(valve)
        self._target.set_valve_stuck(valve, False)

    def clear_all(self) -> None:
        """Remove every active fault. A latched unit trip stays: it needs its reset."""
        self._comm_dropped.clear()
        self._stuck.clear()
        self._nan.clear()
        for valve in sorted(self._stuck_valves):
            self._target.set_valve_stuck(valve, False)
        self._stuck_valves.clear()
