"""Command builders work by role, and measurements are read from the snapshot by role: the
controller never sees point names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.adapters import (
    BoilerCommand,
    HeatPumpCommand,
    ValveCommand,
    heartbeat_points,
    safe_default_points,
)
from drivers.cache import PointCache
from drivers.errors import PermanentError
from drivers.kinds import Role, StateCode
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


def test_heat_pump_read_by_role(maps: dict[str, PointMap]) -> None:
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
    snapshot = cache.snapshot(NOW, 0.0)

    def value(role: Role) -> float | None:
        return snapshot.value("hp1", role)

    assert value(Role.STATE_CODE) == StateCode.TRIPPED
    assert value(Role.REMOTE_ACTIVE) == 1.0
    assert (value(Role.HEAT_KW), value(Role.POWER_KW), value(Role.SUPPLY_TEMP_C)) == (
        7000.0,
        2500.0,
        78.0,
    )
    assert (value(Role.RUN_HOURS_H), value(Role.STARTS_TOTAL)) == (1234.5, 17.0)
    assert value(Role.RETURN_TEMP_C) is None  # never read
    assert not all(snapshot.get("hp1", p.name).good for p in maps["hp1"].points)


def test_values_by_role_are_none_unless_good(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    cache.update("hp1", "state_code", 2.0, 0.0)
    cache.update("hp1", "heat_kw", 5000.0, 0.0)
    assert cache.snapshot(NOW, 10.0).value("hp1", Role.STATE_CODE) == StateCode.RUNNING
    stale = cache.snapshot(NOW, 11.0)  # max age 10 s
    assert (stale.value("hp1", Role.HEAT_KW), stale.value("hp1", Role.STATE_CODE)) == (None, None)
    cache.mark_bad("hp1")
    assert cache.snapshot(NOW, 11.0).value("hp1", Role.HEAT_KW) is None


def test_tank_valve_and_plant_read_by_role(maps: dict[str, PointMap]) -> None:
    cache = PointCache(maps)
    for layer in range(1, 9):
        if layer != 5:
            cache.update("tank1", f"layer_{layer}_temp_c", 40.0 + layer, 0.0)
    cache.update("v1", "position_pct", 95.0, 0.0)
    cache.update("v1", "fault", 0.0, 0.0)
    cache.update("plant", "network_heat_kw", 15000.0, 0.0)
    cache.update("plant", "outdoor_temp_c", -3.0, 0.0)
    snapshot = cache.snapshot(NOW, 0.0)
    layers = snapshot.all_by_role("tank1", Role.LAYER_TEMP_C)
    assert [r.value if r.good else None for r in layers] == [
        41.0,
        42.0,
        43.0,
        44.0,
        None,
        46.0,
        47.0,
        48.0,
    ]
    assert (snapshot.value("v1", Role.POSITION_PCT), snapshot.value("v1", Role.FAULT)) == (
        95.0,
        0.0,
    )
    plant = [
        snapshot.value("plant", role)
        for role in (Role.NETWORK_HEAT_KW, Role.OUTDOOR_TEMP_C, Role.SOURCE_TEMP_C)
    ]
    assert plant == [15000.0, -3.0, None]


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
