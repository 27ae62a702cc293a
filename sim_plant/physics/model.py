"""The whole plant: units, valves, boiler and tanks coupled through the storage, stepped in time.

Hydraulic picture: every producer (heat-pump units, boiler) heats water drawn from the tanks'
bottoms and returns it to their tops; the network draws from the tops and returns at its
return temperature to the bottoms. With several tanks, both flows split by tank volume, so the
producers see the volume-weighted bottom temperature and the network the volume-weighted top.
The step order is valves, units, boiler (all seeing the tank state at the start of the step),
then the network draw and the tanks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from drivers.kinds import Role
from drivers.site import SiteConfig
from sim_plant.faults import Faults
from sim_plant.physics.boiler import Boiler
from sim_plant.physics.heat_pumps import HeatPumpBank, UnitConditions
from sim_plant.physics.heat_recovery import evaporator_kw, limit_to_recoverable
from sim_plant.physics.network import NetworkModel
from sim_plant.physics.points import PointReader
from sim_plant.physics.source import SourceModel
from sim_plant.physics.tank import StratifiedTank
from sim_plant.physics.valves import ValveBank
from sim_plant.physics.water import SECONDS_PER_HOUR, WATER_CP_KJ_PER_KG_K


@dataclass(frozen=True)
class Boundary:
    """Conditions from outside the plant during one step; None means "use the site's model"."""

    now_utc: datetime
    outdoor_temp_c: float
    heat_demand_kw: float | None = None  # None: from the network's outdoor-temperature model
    source_temp_c: float | None = None  # None: from the SourceSpec seasonal/daily model
    cooling_demand_kw: float | None = None  # None: from network.cooling_design_kw (0 if 0)
    it_load_kw: float | None = None  # a data centre's IT power; None: its default profile


@dataclass(frozen=True)
class PlantTotals:
    """Cumulative truth since the start (energies in kWh); per-device values keyed by name."""

    heat_delivered_kwh: float
    heat_demand_kwh: float
    unmet_heat_kwh: float
    hours_below_supply_min_h: float
    electricity_kwh: float
    boiler_heat_kwh: float
    boiler_fuel_kwh: float
    unit_heat_kwh: dict[str, float]
    unit_electricity_kwh: dict[str, float]
    unit_starts: dict[str, int]
    unit_run_hours_h: dict[str, float]
    tank_min_temp_c: dict[str, float]  # coldest layer ever, per tank
    tank_max_temp_c: dict[str, float]  # hottest layer ever, per tank
    tank_energy_kwh: dict[str, float]  # now, above each tank's min_temp_c
    tank_loss_kwh: float  # standing losses of all tanks
    simulated_s: float
    cooling_demand_kwh: float
    cooling_delivered_kwh: float
    # a data centre's loop: heat the servers put in, the heat pumps took, the dry coolers rejected
    source_recoverable_kwh: float = 0.0
    source_taken_kwh: float = 0.0
    dry_cooler_heat_kwh: float = 0.0


@dataclass
class _Accumulators:
    heat_delivered_kwh: float = 0.0
    heat_demand_kwh: float = 0.0
    unmet_heat_kwh: float = 0.0
    hours_below_supply_min_h: float = 0.0
    tank_loss_kwh: float = 0.0
    cooling_demand_kwh: float = 0.0
    cooling_delivered_kwh: float = 0.0
    source_recoverable_kwh: float = 0.0
    source_taken_kwh: float = 0.0
    dry_cooler_heat_kwh: float = 0.0
    simulated_s: float = 0.0
    plant: dict[str, float] = field(default_factory=dict)  # the plant_io device's measurements


class PlantModel:
    """A simulated plant built from a `SiteConfig`; `step` advances it, `value` reads points.

    `command` applies the controller's writes, `totals` reports the cumulative truth, and
    `faults` injects communication, sensor, trip and valve faults. Tanks start with a sharp
    thermocline holding `initial_soc` of their usable energy; units and boiler start off, in
    local control until a supervisor requests remote control and keeps its heartbeat alive.
    """

    def __init__(self, site: SiteConfig, start_utc: datetime, initial_soc: float = 0.5) -> None:
        if start_utc.tzinfo is None:
            raise ValueError("start_utc must be timezone-aware (UTC)")
        if not site.tanks:
            raise ValueError(f"plant '{site.plant.name}': the simulator needs at least one tank")
        self.site = site
        self.start_utc = start_utc
        self.units = HeatPumpBank(site.units)
        self.valves = ValveBank(site.valves)
        self.tanks = [StratifiedTank(spec, initial_soc) for spec in site.tanks]
        self.boiler = Boiler(site.boiler) if site.boiler is not None else None
        self.network = NetworkModel(site.network, WATER_CP_KJ_PER_KG_K)
        self.source = SourceModel(site.source, site.plant.timezone)
        self.dry_cooler_heat_kw = 0.0  # a data centre's heat the heat pumps left, now
        volumes = np.array([tank.volume_m3 for tank in self.tanks])
        self._tank_share = volumes / volumes.sum()
        self._tank_share_list = [float(x) for x in self._tank_share]
        self._unit_valve = np.array(
            [-1 if v is None else self.valves.index[v] for v in self.units.valves], dtype=np.int64
        )
        self._has_valve = self._unit_valve >= 0
        self._acc = _Accumulators()
        self._tank_min_c = [float(tank.temps_c.min()) for tank in self.tanks]
        self._tank_max_c = [float(tank.temps_c.max()) for tank in self.tanks]
        inlet_c = float(self._tank_share @ [tank.bottom_temp_c for tank in self.tanks])
        source_c = self.source.temp_c(start_utc)
        self.units.supply_temp_c[:] = inlet_c
        self.units.return_temp_c[:] = inlet_c
        self.units.source_in_temp_c[:] = source_c
        self.units.source_out_temp_c[:] = source_c
        self._acc.plant = {
            Role.NETWORK_HEAT_KW: 0.0,
            Role.NETWORK_SUPPLY_TEMP_C: float(
                self._tank_share @ [t.top_temp_c for t in self.tanks]
            ),
            Role.NETWORK_RETURN_TEMP_C: site.network.return_temp_c,
            Role.OUTDOOR_TEMP_C: math.nan,  # unknown until the first step brings a boundary
            Role.SOURCE_TEMP_C: source_c,
            Role.COOLING_DEMAND_KW: 0.0,
            # no data centre: no IT load, nothing for dry coolers
            Role.IT_LOAD_KW: self.source.conditions(start_utc).it_load_kw or 0.0,
            Role.DRY_COOLER_HEAT_KW: 0.0,
        }
        self._points = PointReader(self)
        self.faults = Faults(site, self)

    @property
    def now_utc(self) -> datetime:
        return self.start_utc + timedelta(seconds=self._acc.simulated_s)

    @property
    def plant_measurements(self) -> dict[str, float]:
        """The plant_io device's values by role (the live dict: read, do not modify)."""
        return self._acc.plant

    def step(self, dt_s: float, boundary: Boundary) -> None:
        """Advance the plant by `dt_s` seconds under `boundary` (its time: the step's start).

        Commands written since the last step take effect now; heartbeat changes are stamped
        with the simulated time at which they arrived.
        """
        if not dt_s > 0:
            raise ValueError(f"dt_s must be positive, got {dt_s}")
        network = self.network
        outdoor_c = boundary.outdoor_temp_c
        source = self.source.conditions(boundary.now_utc, boundary.it_load_kw)
        source_c = boundary.source_temp_c
        if source_c is None:
            # an air-source unit's source is the outdoor air itself
            air = self.site.source.kind == "air"
            source_c = outdoor_c if air else source.temp_c
        demand_kw = boundary.heat_demand_kw
        if demand_kw is None:
            demand_kw = network.heat_demand_kw(outdoor_c)
        demand_kw = max(0.0, demand_kw)
        cooling_kw = boundary.cooling_demand_kw
        if cooling_kw is None:
            cooling_kw = network.cooling_demand_kw(outdoor_c)
        setpoint_c = network.supply_setpoint_c(outdoor_c)

        self.valves.step(dt_s)
        share = self._tank_share
        tops_c = [tank.top_temp_c for tank in self.tanks]
        top_c = float(share @ tops_c)
        inlet_c = float(share @ [tank.bottom_temp_c for tank in self.tanks])
        valve_pct = np.where(self._has_valve, self.valves.position_pct[self._unit_valve], 100.0)
        units = self.units
        units.step(dt_s, UnitConditions(tops_c[0], inlet_c, source_c, setpoint_c, valve_pct))
        if source.recoverable_kw is not None:
            taken_kw = limit_to_recoverable(units, source.recoverable_kw, dt_s)
            self.dry_cooler_heat_kw = source.recoverable_kw - taken_kw
        cp = WATER_CP_KJ_PER_KG_K
        charge_kw = float(units.heat_kw.sum())
        rise_k = np.maximum(units.supply_temp_c - inlet_c, 1e-6)
        charge_flow = float((units.heat_kw / (cp * rise_k)).sum())
        if self.boiler is not None:
            self.boiler.step(dt_s, tops_c[0], inlet_c, setpoint_c, network.spec.supply_temp_min_c)
            if self.boiler.heat_kw > 0:
                charge_kw += self.boiler.heat_kw
                charge_flow += self.boiler.heat_kw / (cp * (self.boiler.flow_temp_c - inlet_c))
        charge_c = inlet_c + charge_kw / (cp * charge_flow) if charge_flow > 0 else inlet_c

        draw = network.draw(demand_kw, top_c, setpoint_c)
        return_c = network.spec.return_temp_c
        discharged_kj = loss_kj = 0.0
        shares = self._tank_share_list
        for i, tank in enumerate(self.tanks):
            exchange = tank.step(
                dt_s, shares[i] * charge_flow, charge_c, shares[i] * draw.flow_kg_per_s, return_c
            )
            discharged_kj += exchange.discharged_kj
            loss_kj += exchange.loss_kj
            self._tank_min_c[i] = min(self._tank_min_c[i], tank.bottom_temp_c)
            self._tank_max_c[i] = max(self._tank_max_c[i], tank.top_temp_c)

        cooling_delivered_kw = min(cooling_kw, evaporator_kw(units))
        acc = self._acc
        hours = dt_s / SECONDS_PER_HOUR
        if source.recoverable_kw is not None:
            acc.source_recoverable_kwh += source.recoverable_kw * hours
            acc.source_taken_kwh += (source.recoverable_kw - self.dry_cooler_heat_kw) * hours
            acc.dry_cooler_heat_kwh += self.dry_cooler_heat_kw * hours
        delivered_kwh = discharged_kj / SECONDS_PER_HOUR
        acc.heat_delivered_kwh += delivered_kwh
        acc.heat_demand_kwh += demand_kw * hours
        shortfall_kwh = demand_kw * hours - delivered_kwh
        if shortfall_kwh > 1e-9 * demand_kw * hours:  # not float rounding of a met demand
            acc.unmet_heat_kwh += shortfall_kwh
        if draw.under_supplied:
            acc.hours_below_supply_min_h += hours
        acc.tank_loss_kwh += loss_kj / SECONDS_PER_HOUR
        acc.cooling_demand_kwh += cooling_kw * hours
        acc.cooling_delivered_kwh += cooling_delivered_kw * hours
        acc.simulated_s += dt_s
        plant = acc.plant
        plant[Role.NETWORK_HEAT_KW] = discharged_kj / dt_s
        plant[Role.NETWORK_SUPPLY_TEMP_C] = draw.supply_temp_c
        plant[Role.OUTDOOR_TEMP_C] = outdoor_c
        plant[Role.SOURCE_TEMP_C] = source_c
        plant[Role.COOLING_DEMAND_KW] = cooling_kw
        if source.it_load_kw is not None:
            plant[Role.IT_LOAD_KW] = source.it_load_kw
            plant[Role.DRY_COOLER_HEAT_KW] = self.dry_cooler_heat_kw

    def value(self, device: str, role: str, index: int | None = None) -> float:
        """What the device's point with this role shows now, faults included."""
        return self.faults.sensor(device, role, index, self._points.read(device, role, index))

    def true_value(self, device: str, role: str, index: int | None = None) -> float:
        """The point's value without sensor faults; KeyError naming an unknown device or role."""
        return self._points.read(device, role, index)

    def command(self, device: str, role: str, value: float) -> None:
        """A write from the controller to a writable role; KeyError if there is none."""
        self._points.write(device, role, value)

    def trip_unit_now(self, unit: str, alarm_code: int) -> None:
        mask = np.zeros(len(self.units.names), dtype=bool)
        mask[self.units.index[unit]] = True
        self.units.trip(mask, alarm_code)

    def set_valve_stuck(self, valve: str, stuck: bool) -> None:
        self.valves.stuck[self.valves.index[valve]] = stuck

    @property
    def delivered_heat_kwh(self) -> float:
        """Heat delivered into the network since the start: what a network heat meter counts."""
        return self._acc.heat_delivered_kwh

    @property
    def totals(self) -> PlantTotals:
        """A frozen snapshot of the cumulative truth since the start."""
        acc = self._acc
        units = self.units
        boiler = self.boiler
        tank_names = [tank.spec.name for tank in self.tanks]
        return PlantTotals(
            heat_delivered_kwh=acc.heat_delivered_kwh,
            heat_demand_kwh=acc.heat_demand_kwh,
            unmet_heat_kwh=acc.unmet_heat_kwh,
            hours_below_supply_min_h=acc.hours_below_supply_min_h,
            electricity_kwh=float(units.electricity_kwh.sum()),
            boiler_heat_kwh=boiler.heat_kwh if boiler is not None else 0.0,
            boiler_fuel_kwh=boiler.fuel_kwh if boiler is not None else 0.0,
            unit_heat_kwh=dict(zip(units.names, units.heat_kwh.tolist(), strict=True)),
            unit_electricity_kwh=dict(
                zip(units.names, units.electricity_kwh.tolist(), strict=True)
            ),
            unit_starts=dict(zip(units.names, units.starts_total.tolist(), strict=True)),
            unit_run_hours_h=dict(zip(units.names, units.run_hours_h.tolist(), strict=True)),
            tank_min_temp_c=dict(zip(tank_names, self._tank_min_c, strict=True)),
            tank_max_temp_c=dict(zip(tank_names, self._tank_max_c, strict=True)),
            tank_energy_kwh={t.spec.name: t.energy_above_min_kwh() for t in self.tanks},
            tank_loss_kwh=acc.tank_loss_kwh,
            simulated_s=acc.simulated_s,
            cooling_demand_kwh=acc.cooling_demand_kwh,
            cooling_delivered_kwh=acc.cooling_delivered_kwh,
            source_recoverable_kwh=acc.source_recoverable_kwh,
            source_taken_kwh=acc.source_taken_kwh,
            dry_cooler_heat_kwh=acc.dry_cooler_heat_kwh,
        )
