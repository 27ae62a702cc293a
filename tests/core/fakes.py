"""A hand-built snapshot for testing the pure core without any server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.config import Plant, load_plant
from controller.core.estimate import PlantState, estimate
from controller.core.history import UnitHistory
from controller.core.situation import Situation
from drivers.kinds import Role, StateCode
from drivers.site import HeatMeterSpec, SiteConfig

PLANTS = Path(__file__).resolve().parents[2] / "deploy" / "plants"
RIVER = PLANTS / "river_20mw.toml"
CITY = PLANTS / "city_sea_4x44mw.toml"
T0 = datetime(2024, 1, 8, tzinfo=UTC)


@dataclass
class FakeSnapshot:
    now_utc: datetime = T0
    taken_at_s: float = 10_000.0
    values: dict[tuple[str, Role, int | None], float] = field(default_factory=dict)

    def value(
        self, device: str, role: str, index: int | None = None, default: float | None = None
    ) -> float | None:
        return self.values.get((device, Role(role), index), default)


def river() -> Plant:
    return load_plant(RIVER)


def city() -> Plant:
    """Four 44 MW units, two tanks of 567 MWh, an 80 MW boiler."""
    return load_plant(CITY)


def situation(plant: Plant, state: PlantState, histories: Mapping[str, UnitHistory]) -> Situation:
    """The situation a cycle of this plant would decide in."""
    return Situation(state, histories, plant.site, plant.control)


def plant_snapshot(
    site: SiteConfig,
    tank_temp_c: float,
    running: dict[str, bool] | None = None,
    now_s: float = 10_000.0,
    demand_kw: float = 8000.0,
) -> FakeSnapshot:
    """Every point GOOD: uniform tank, units on or off, valves open under running units."""
    running = running or {}
    snap = FakeSnapshot(taken_at_s=now_s)
    for spec in site.units:
        on = running.get(spec.name, False)
        snap.values.update(
            {
                (spec.name, Role.STATE_CODE, None): StateCode.RUNNING if on else StateCode.OFF,
                (spec.name, Role.REMOTE_ACTIVE, None): 1.0,
                (spec.name, Role.ALARM_CODE, None): 0.0,
                (spec.name, Role.HEAT_KW, None): spec.heat_max_kw * 0.8 if on else 0.0,
                (spec.name, Role.POWER_KW, None): spec.heat_max_kw * 0.3 if on else 0.0,
                (spec.name, Role.SUPPLY_TEMP_C, None): 78.0 if on else 40.0,
                (spec.name, Role.RUN_HOURS_H, None): 100.0,
                (spec.name, Role.STARTS_TOTAL, None): 10.0,
            }
        )
        if spec.isolation_valve:
            snap.values[(spec.isolation_valve, Role.POSITION_PCT, None)] = 100.0 if on else 0.0
    for tank in site.tanks:
        for index in range(1, tank.layers + 1):
            snap.values[(tank.name, Role.LAYER_TEMP_C, index)] = tank_temp_c
    if site.plant_io is not None:
        snap.values[(site.plant_io.name, Role.NETWORK_HEAT_KW, None)] = demand_kw
        snap.values[(site.plant_io.name, Role.OUTDOOR_TEMP_C, None)] = -2.0
    if site.boiler is not None:
        snap.values[(site.boiler.name, Role.STATE_CODE, None)] = StateCode.OFF
        snap.values[(site.boiler.name, Role.HEAT_KW, None)] = 0.0
    return snap


def settled_histories(state: PlantState) -> dict[str, UnitHistory]:
    """Every unit in its state for two hours: no protection stands in the way."""
    return {
        unit.name: UnitHistory(
            compressor_on=unit.compressor_on, since_s=state.now_s - 7200.0, recent_starts_s=()
        )
        for unit in state.units
    }


def estimated(
    plant: Plant, running: dict[str, bool], tank_c: float = 77.0, now_s: float = 10_000.0
) -> PlantState:
    """The estimate of a plant with every point GOOD, uniform tank, these units running."""
    return estimate(plant_snapshot(plant.site, tank_c, running, now_s=now_s), plant.site)


def with_heat_meters(site: SiteConfig, *meters: tuple[str, str]) -> SiteConfig:
    """The site with heat meters (name, measures) on its "plc" connection, the shipped map."""
    bound = [
        HeatMeterSpec(
            name=name,
            pointmap="../pointmaps/generic_heat_meter.toml",
            connection="plc",
            device_id=30 + i,
            measures=measures,
        )
        for i, (name, measures) in enumerate(meters)
    ]
    return site.model_copy(update={"heat_meters": bound})
