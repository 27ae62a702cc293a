"""Typed views and command builders work by role; the controller never sees point names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.adapters import (
    BoilerCommand,
    HeatPumpCommand,
    HeatPumpView,
    PlantIoView,
    TankView,
    UnitState,
    ValveCommand,
    ValveView,
    heartbeat_points,
    safe_default_points,
)
from drivers.cache import PointCache
from drivers.errors import PermanentError
from drivers.pointmap import PointMap, load_point_map

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def maps() -> dict[str, PointMap]:
    return {
        "hp1": load_point_map(POINTMAPS / "generic_large_heat_pump.toml"),
        "v1": load_point_map(POINTMAPS / "generic_valve.toml"),
        "tank1": load_point_map(POINTMAPS / "generic_tank_8_layers.toml"),
        "plant": load_point_map(POINTMAPS / "generic_plant_io.toml"),
        "boiler": load_point_map(POINTMAPS / "generic_boiler.toml"),
    }


def test_heat_pump_view(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    for name, value in {
        "state_code": 4.0,
        "remote_active": 1.0,
        "heat_kw": 7000.0,
        "power_kw": 2500.0,
        "supply_temp_c": 78.0,
        "run_hours_h": 1234.5,
        "starts_total": 17.0,
    }.items():
        cache.update("hp1", name, value, 0.0)
    view = HeatPumpView(cache.snapshot(NOW, 0.0), "hp1")
    assert view.state is UnitState.TRIPPED
    assert (view.tripped, view.running, view.starting) == (True, False, False)
    assert view.remote_active is True
    assert (view.heat_kw, view.power_kw, view.supply_temp_c) == (7000.0, 2500.0, 78.0)
    assert (view.run_hours_h, view.starts_total) == (1234.5, 17.0)
    assert view.return_temp_c is None  # never read
    assert not view.all_good


def test_view_properties_are_none_unless_good(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "state_code", 2.0, 0.0)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)
    assert HeatPumpView(cache.snapshot(NOW, 10.0), "hp1").running is True
    stale = HeatPumpView(cache.snapshot(NOW, 11.0), "hp1")  # max age 10 s
    assert (stale.heat_kw, stale.running, stale.state) == (None, None, None)
    cache.update("hp1", "state_code", 9.0, 11.0)  # not a state the map defines
    assert HeatPumpView(cache.snapshot(NOW, 11.0), "hp1").state is None
    cache.mark_bad("hp1")
    assert HeatPumpView(cache.snapshot(NOW, 11.0), "hp1").heat_kw is None


def test_tank_valve_and_plant_views(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    for layer in range(1, 9):
        if layer != 5:
            cache.update("tank1", f"layer_{layer}_temp_c", 40.0 + layer, 0.0)
    cache.update("v1", "position_pct", 95.0, 0.0)
    cache.update("v1", "fault", 0.0, 0.0)
    cache.update("plant", "network_heat_kw", 15000.0, 0.0)
    cache.update("plant", "outdoor_temp_c", -3.0, 0.0)
    snapshot = cache.snapshot(NOW, 0.0)
    assert TankView(snapshot, "tank1").layer_temps_c == [
        41.0,
        42.0,
        43.0,
        44.0,
        None,
        46.0,
        47.0,
        48.0,
    ]
    valve = ValveView(snapshot, "v1")
    assert (valve.position_pct, valve.fault, valve.is_open()) == (95.0, False, True)
    plant = PlantIoView(snapshot, "plant")
    assert (plant.network_heat_kw, plant.outdoor_temp_c, plant.source_temp_c) == (
        15000.0,
        -3.0,
        None,
    )


def test_heat_pump_command_maps_roles_to_points(maps: dict[str, PointMap]) -> None:
    command = HeatPumpCommand(enable=True, heat_setpoint_kw=6500.0, remote=True)
    assert command.to_points(maps["hp1"]) == {
        "remote_request": 1.0,
        "enable_cmd": 1.0,
        "heat_setpoint_kw": 6500.0,
    }
    with_supply = HeatPumpCommand(False, 0.0, remote=False, supply_temp_setpoint_c=80.0)
    assert with_supply.to_points(maps["hp1"])["supply_temp_setpoint_c"] == 80.0
    assert with_supply.to_points(maps["hp1"])["remote_request"] == 0.0
    # the boiler map has no supply setpoint: an optional role is simply left out
    boiler_like = HeatPumpCommand(True, 100.0, supply_temp_setpoint_c=80.0).to_points(
        maps["boiler"]
    )
    assert "supply_temp_setpoint_c" not in boiler_like


def test_commands_need_their_roles(maps: dict[str, PointMap]) -> None:
    with pytest.raises(PermanentError, match="no writable point with role 'position_cmd_pct'"):
        ValveCommand(50.0).to_points(maps["hp1"])
    assert ValveCommand(50.0).to_points(maps["v1"]) == {"position_cmd_pct": 50.0}
    assert BoilerCommand(True, 3000.0).to_points(maps["boiler"])["heat_setpoint_kw"] == 3000.0


def test_heartbeat_wraps_and_safe_defaults(maps: dict[str, PointMap]) -> None:
    assert heartbeat_points(maps["hp1"], 3) == {"heartbeat": 3.0}
    assert heartbeat_points(maps["hp1"], 65536 + 2) == {"heartbeat": 2.0}
    assert heartbeat_points(maps["v1"], 3) == {}
    assert safe_default_points(maps["hp1"]) == {
        "heartbeat": 0.0,
        "remote_request": 0.0,
        "enable_cmd": 0.0,
        "heat_setpoint_kw": 0.0,
        "supply_temp_setpoint_c": 75.0,
    }
