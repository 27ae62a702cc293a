"""A hand-built snapshot for testing the pure core without any server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.config import Plant, load_plant
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from controller.core.situation import Situation
from drivers.site import SiteConfig

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
T0 = datetime(2024, 1, 8, tzinfo=UTC)


@dataclass
class FakeSnapshot:
    now_utc: datetime = T0
    taken_at_s: float = 10_000.0
    values: dict[tuple[str, str, int | None], float] = field(default_factory=dict)

    def value(
        self, device: str, role: str, index: int | None = None, default: float | None = None
    ) -> float | None:
        return self.values.get((device, role, index), default)


def river() -> Plant:
    return load_plant(RIVER)


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
                (spec.name, "state_code", None): 2.0 if on else 0.0,
                (spec.name, "remote_active", None): 1.0,
                (spec.name, "alarm_code", None): 0.0,
                (spec.name, "heat_kw", None): spec.heat_max_kw * 0.8 if on else 0.0,
                (spec.name, "power_kw", None): spec.heat_max_kw * 0.3 if on else 0.0,
                (spec.name, "supply_temp_c", None): 78.0 if on else 40.0,
                (spec.name, "run_hours_h", None): 100.0,
                (spec.name, "starts_total", None): 10.0,
            }
        )
        if spec.isolation_valve:
            snap.values[(spec.isolation_valve, "position_pct", None)] = 100.0 if on else 0.0
    for tank in site.tanks:
        for index in range(1, tank.layers + 1):
            snap.values[(tank.name, "layer_temp_c", index)] = tank_temp_c
    if site.plant_io is not None:
        snap.values[(site.plant_io.name, "network_heat_kw", None)] = demand_kw
        snap.values[(site.plant_io.name, "outdoor_temp_c", None)] = -2.0
    if site.boiler is not None:
        snap.values[(site.boiler.name, "state_code", None)] = 0.0
        snap.values[(site.boiler.name, "heat_kw", None)] = 0.0
    return snap
