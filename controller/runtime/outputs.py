"""Commands -> point writes: by role through each device's map, only what changed, plus heartbeat.

The controller never knows register names: a command says `enable_cmd` and the device's point
map says which point (and register) that is. A device whose write failed is forgotten, so that
everything is written again once it answers. Every `REFRESH_S` a device's unchanged points are
written again too: a device that lost its registers while its connection stayed up (a restart
behind a gateway, a setpoint changed at the local panel) has them back within that time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.core.commands import Commands
from drivers.adapters import BoilerCommand as BoilerPoints
from drivers.adapters import HeatPumpCommand, heartbeat_points, safe_default_points
from drivers.adapters import ValveCommand as ValvePoints
from drivers.kinds import Role
from drivers.pointmap import PointMap

HEARTBEAT_MODULUS = 65536
# Unchanged commands are written again this often (Clock seconds). A minute: a unit whose
# registers were lost keeps the heartbeat running, so nothing else would ever correct them; a
# minute of a lost setpoint is shorter than a unit's minimum run or off time, and rewriting
# every command of a device costs one or two requests a minute.
REFRESH_S = 60.0


def command_points(
    commands: Commands, maps: dict[str, PointMap], heartbeat: int, boiler_device: str | None
) -> dict[str, dict[str, float]]:
    """Every writable point's wanted value, per device (heartbeat included).

    Setpoints are rounded (0.1 kW, 0.01 °C) so that noise in the trim does not cost a write
    every cycle."""
    wanted: dict[str, dict[str, float]] = {}
    for name, unit in commands.units.items():
        wanted[name] = {
            **heartbeat_points(maps[name], heartbeat),
            **HeatPumpCommand(
                enable=unit.enable,
                heat_setpoint_kw=round(unit.heat_setpoint_kw, 1),
                remote=unit.remote,
                supply_temp_setpoint_c=round(unit.supply_temp_setpoint_c, 2),
            ).to_points(maps[name]),
        }
    for name, valve in commands.valves.items():
        wanted[name] = ValvePoints(position_pct=valve.position_pct).to_points(maps[name])
    if commands.boiler is not None and boiler_device is not None:
        boiler = commands.boiler
        wanted[boiler_device] = {
            **heartbeat_points(maps[boiler_device], heartbeat),
            **BoilerPoints(
                enable=boiler.enable,
                heat_setpoint_kw=round(boiler.heat_setpoint_kw, 1),
                remote=boiler.remote,
            ).to_points(maps[boiler_device]),
        }
    return wanted


def handback_points(maps: dict[str, PointMap], devices: list[str]) -> dict[str, dict[str, float]]:
    """Safe defaults of every writable point except the heartbeat: local control takes over."""
    out: dict[str, dict[str, float]] = {}
    for name in devices:
        heartbeat = {p.name for p in maps[name].by_role(Role.HEARTBEAT)}
        values = {k: v for k, v in safe_default_points(maps[name]).items() if k not in heartbeat}
        if values:
            out[name] = values
    return out


@dataclass(frozen=True, slots=True)
class HandBack:
    """What a shutdown hand-back to local control did, device by device."""

    reached: tuple[str, ...] = ()  # devices that took their safe defaults
    failed: dict[str, str] = field(default_factory=dict)  # device -> why it did not
    read_only: bool = False  # nothing was ever written, so nothing was handed back

    @property
    def outcome(self) -> str:
        """`complete`, `partial`, `failed` (no device took it) or `not_attempted` (read-only)."""
        if self.read_only:
            return "not_attempted"
        if not self.failed:
            return "complete"
        return "partial" if self.reached else "failed"

    def devices(self) -> dict[str, str]:
        """Every device with `ok` or the error it answered."""
        return {**dict.fromkeys(self.reached, "ok"), **self.failed}


class WriteDiff:
    """Remembers what each device last accepted, to write only changes; a device's every wanted
    point is written when it is new, forgotten, or its last such write is `refresh_s` old."""

    def __init__(self, refresh_s: float = REFRESH_S) -> None:
        self.refresh_s = refresh_s
        self._written: dict[str, dict[str, float]] = {}
        self._refreshed_at_s: dict[str, float] = {}  # device -> when a full write was accepted
        self._full: dict[str, float] = {}  # device -> asked-for time of the full write pending

    def changes(
        self, wanted: dict[str, dict[str, float]], now_s: float
    ) -> dict[str, dict[str, float]]:
        """What to write at `now_s` (Clock seconds): per device, its changed points, or all of
        them when a refresh is due."""
        out: dict[str, dict[str, float]] = {}
        self._full = {}
        for device, values in wanted.items():
            refreshed_at_s = self._refreshed_at_s.get(device)
            if refreshed_at_s is None or now_s - refreshed_at_s >= self.refresh_s:
                if values:
                    out[device] = dict(values)
                    self._full[device] = now_s
                continue
            last = self._written.get(device, {})
            changed = {name: value for name, value in values.items() if last.get(name) != value}
            if changed:
                out[device] = changed
        return out

    def accepted(self, device: str, values: dict[str, float]) -> None:
        self._written.setdefault(device, {}).update(values)
        asked_at_s = self._full.pop(device, None)
        if asked_at_s is not None:
            self._refreshed_at_s[device] = asked_at_s

    def forget(self, device: str) -> None:
        self._written.pop(device, None)
        self._refreshed_at_s.pop(device, None)
        self._full.pop(device, None)
