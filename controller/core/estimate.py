"""Estimate: the plant's state from one frozen snapshot (pure).

Only GOOD values count. A unit whose essential points are not GOOD is marked `data_good=False`
and is never started on guesswork; a tank whose layers are not all GOOD has no state of charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from drivers.kinds import Role, StateCode
from drivers.site import NETWORK, SiteConfig, TankSpec


class SnapshotView(Protocol):
    """What the estimate needs of a snapshot (drivers.cache.Snapshot provides it)."""

    @property
    def now_utc(self) -> datetime: ...

    @property
    def taken_at_s(self) -> float: ...

    def value(
        self, device: str, role: str, index: int | None = None, default: float | None = None
    ) -> float | None: ...


@dataclass(frozen=True, slots=True)
class UnitState:
    name: str
    data_good: bool
    state_code: int | None
    remote_active: bool | None
    alarm_code: int | None
    heat_kw: float | None
    power_kw: float | None
    supply_temp_c: float | None
    source_temp_c: float | None
    run_hours_h: float | None
    starts_total: float | None
    valve_position_pct: float | None  # isolation valve feedback; None without valve or data
    return_temp_c: float | None = None  # condenser inlet, for telemetry

    @property
    def compressor_on(self) -> bool:
        """Starting or running: the compressor is (about to be) turning."""
        return self.state_code in (StateCode.STARTING, StateCode.RUNNING)

    @property
    def tripped(self) -> bool:
        return self.state_code == StateCode.TRIPPED

    @property
    def cop(self) -> float | None:
        if self.heat_kw is None or self.power_kw is None or self.power_kw <= 1.0:
            return None
        return self.heat_kw / self.power_kw


@dataclass(frozen=True, slots=True)
class TankState:
    name: str
    layer_temps_c: tuple[float | None, ...]  # bottom to top
    capacity_kwh: float
    soc: float | None  # 0..1 between the tank's min and max temperature
    energy_kwh: float | None

    @property
    def data_good(self) -> bool:
        return self.soc is not None

    @property
    def top_temp_c(self) -> float | None:
        return self.layer_temps_c[-1] if self.layer_temps_c else None


@dataclass(frozen=True, slots=True)
class BoilerState:
    name: str
    data_good: bool
    state_code: int | None
    heat_kw: float | None
    fuel_kw: float | None


@dataclass(frozen=True, slots=True)
class HeatMeterState:
    """One heat meter's reading; `measures` is "network" or the metered unit's name."""

    name: str
    measures: str
    heat_kw: float | None
    energy_kwh: float | None
    flow_m3_per_h: float | None
    supply_temp_c: float | None
    return_temp_c: float | None


@dataclass(frozen=True, slots=True)
class PlantState:
    now_utc: datetime
    now_s: float
    units: tuple[UnitState, ...]
    tanks: tuple[TankState, ...]
    boiler: BoilerState | None
    network_heat_kw: float | None
    network_supply_temp_c: float | None
    outdoor_temp_c: float | None
    source_temp_c: float | None
    cooling_demand_kw: float | None
    heat_meters: tuple[HeatMeterState, ...] = ()

    @property
    def capacity_kwh(self) -> float:
        return sum(tank.capacity_kwh for tank in self.tanks)

    @property
    def energy_kwh(self) -> float | None:
        """Stored energy of all tanks; None when any tank is blind."""
        total = 0.0
        for tank in self.tanks:
            if tank.energy_kwh is None:
                return None
            total += tank.energy_kwh
        return total

    @property
    def soc(self) -> float | None:
        energy = self.energy_kwh
        capacity = self.capacity_kwh
        if energy is None or capacity <= 0:
            return None
        return energy / capacity

    @property
    def top_temp_c(self) -> float | None:
        """Hottest measured tank top: what the network can draw."""
        tops = [tank.top_temp_c for tank in self.tanks if tank.top_temp_c is not None]
        return max(tops) if tops else None

    def unit(self, name: str) -> UnitState:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(f"no unit named '{name}'")

    @property
    def heat_production_kw(self) -> float:
        produced = sum(unit.heat_kw or 0.0 for unit in self.units)
        if self.boiler is not None:
            produced += self.boiler.heat_kw or 0.0
        return produced


def tank_soc(layer_temps_c: tuple[float | None, ...], spec: TankSpec) -> float | None:
    """Mean over equal-volume layers of how far each is between min and max temperature."""
    if not layer_temps_c or any(temp is None for temp in layer_temps_c):
        return None
    span_k = spec.max_temp_c - spec.min_temp_c
    fractions = [
        min(1.0, max(0.0, (temp - spec.min_temp_c) / span_k))
        for temp in layer_temps_c
        if temp is not None
    ]
    return sum(fractions) / len(fractions)


def _as_int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _as_bool(value: float | None) -> bool | None:
    return None if value is None else value >= 0.5


def estimate(snapshot: SnapshotView, site: SiteConfig) -> PlantState:
    """Plant state from a snapshot; every phase of one cycle sees this same estimate."""
    units = []
    for spec in site.units:
        name = spec.name
        state_code = _as_int(snapshot.value(name, Role.STATE_CODE))
        heat_kw = snapshot.value(name, Role.HEAT_KW)
        valve_pct = (
            snapshot.value(spec.isolation_valve, Role.POSITION_PCT)
            if spec.isolation_valve
            else None
        )
        units.append(
            UnitState(
                name=name,
                data_good=state_code is not None and heat_kw is not None,
                state_code=state_code,
                remote_active=_as_bool(snapshot.value(name, Role.REMOTE_ACTIVE)),
                alarm_code=_as_int(snapshot.value(name, Role.ALARM_CODE)),
                heat_kw=heat_kw,
                power_kw=snapshot.value(name, Role.POWER_KW),
                supply_temp_c=snapshot.value(name, Role.SUPPLY_TEMP_C),
                source_temp_c=snapshot.value(name, Role.SOURCE_IN_TEMP_C),
                run_hours_h=snapshot.value(name, Role.RUN_HOURS_H),
                starts_total=snapshot.value(name, Role.STARTS_TOTAL),
                valve_position_pct=valve_pct,
                return_temp_c=snapshot.value(name, Role.RETURN_TEMP_C),
            )
        )
    tanks = []
    for tank_spec in site.tanks:
        temps = tuple(
            snapshot.value(tank_spec.name, Role.LAYER_TEMP_C, index)
            for index in range(1, tank_spec.layers + 1)
        )
        soc = tank_soc(temps, tank_spec)
        capacity = tank_spec.capacity_kwh
        tanks.append(
            TankState(
                name=tank_spec.name,
                layer_temps_c=temps,
                capacity_kwh=capacity,
                soc=soc,
                energy_kwh=None if soc is None else soc * capacity,
            )
        )
    boiler = None
    if site.boiler is not None:
        name = site.boiler.name
        boiler_state = _as_int(snapshot.value(name, Role.STATE_CODE))
        boiler_heat = snapshot.value(name, Role.HEAT_KW)
        boiler = BoilerState(
            name=name,
            data_good=boiler_state is not None and boiler_heat is not None,
            state_code=boiler_state,
            heat_kw=boiler_heat,
            fuel_kw=snapshot.value(name, Role.FUEL_KW),
        )
    io = site.plant_io.name if site.plant_io is not None else None

    def plant_value(role: Role) -> float | None:
        return snapshot.value(io, role) if io is not None else None

    meters = tuple(
        HeatMeterState(
            name=meter.name,
            measures=meter.measures,
            heat_kw=snapshot.value(meter.name, Role.HEAT_KW),
            energy_kwh=snapshot.value(meter.name, Role.ENERGY_KWH),
            flow_m3_per_h=snapshot.value(meter.name, Role.FLOW_M3_PER_H),
            supply_temp_c=snapshot.value(meter.name, Role.SUPPLY_TEMP_C),
            return_temp_c=snapshot.value(meter.name, Role.RETURN_TEMP_C),
        )
        for meter in site.heat_meters
    )
    network_heat_kw = plant_value(Role.NETWORK_HEAT_KW)
    if network_heat_kw is None:
        network_heat_kw = _metered_network_heat_kw(meters)
    return PlantState(
        now_utc=snapshot.now_utc,
        now_s=snapshot.taken_at_s,
        units=tuple(units),
        tanks=tuple(tanks),
        boiler=boiler,
        network_heat_kw=network_heat_kw,
        network_supply_temp_c=plant_value(Role.NETWORK_SUPPLY_TEMP_C),
        outdoor_temp_c=plant_value(Role.OUTDOOR_TEMP_C),
        source_temp_c=plant_value(Role.SOURCE_TEMP_C),
        cooling_demand_kw=plant_value(Role.COOLING_DEMAND_KW),
        heat_meters=meters,
    )


def _metered_network_heat_kw(meters: tuple[HeatMeterState, ...]) -> float | None:
    """What the network draws by its own meters, when the plant I/O cannot say: the sum of
    the network meters, and only when every one of them reads (a part is not the demand)."""
    network = [meter.heat_kw for meter in meters if meter.measures == NETWORK]
    if not network or any(heat_kw is None for heat_kw in network):
        return None
    return sum(heat_kw for heat_kw in network if heat_kw is not None)
