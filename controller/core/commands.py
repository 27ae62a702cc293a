"""What the controller wants (targets) and what it tells the equipment (commands)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Targets:
    """Where a policy (plan or rules) wants the plant: before protections and sequencing."""

    unit_on: dict[str, bool]
    unit_heat_kw: dict[str, float]
    boiler_heat_kw: float
    source: str  # "plan", "last_plan", "rules", "manual": shown to operators as the reason
    reasons: dict[str, str]  # per unit: why it should run or not
    boiler_reason: str = ""  # why the boiler runs, when the policy says more than the default
    source_reason: str = ""  # why the dispatch is on this rung (e.g. why not on the plan)


@dataclass(frozen=True, slots=True)
class UnitCommand:
    remote: bool  # False hands the unit to its own local control
    enable: bool
    heat_setpoint_kw: float
    supply_temp_setpoint_c: float
    reason: str


@dataclass(frozen=True, slots=True)
class ValveCommand:
    position_pct: float
    reason: str


@dataclass(frozen=True, slots=True)
class BoilerCommand:
    remote: bool
    enable: bool
    heat_setpoint_kw: float
    reason: str


@dataclass(frozen=True, slots=True)
class Commands:
    units: dict[str, UnitCommand]
    valves: dict[str, ValveCommand]
    boiler: BoilerCommand | None

    def with_unit(self, name: str, **changes: object) -> Commands:
        units = dict(self.units)
        units[name] = replace(units[name], **changes)  # type: ignore[arg-type]
        return replace(self, units=units)

    def with_valve(self, name: str, **changes: object) -> Commands:
        valves = dict(self.valves)
        valves[name] = replace(valves[name], **changes)  # type: ignore[arg-type]
        return replace(self, valves=valves)


@dataclass(frozen=True, slots=True)
class Interlock:
    """A safety intervention: which equipment, which rule, and what it changed."""

    equipment: str
    reason: str  # a short stable key, used as a metric label
    detail: str
