"""The assembled plant: energy balance, several tanks, boiler, valves and the point API."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.kinds import StateCode
from drivers.site import SiteConfig, load_site
from sim_plant.physics import Boundary, PlantModel

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
START = datetime(2025, 1, 15, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def river() -> SiteConfig:
    return load_site(RIVER)


def stored_kwh(model: PlantModel) -> float:
    return sum(tank.stored_kj() for tank in model.tanks) / 3600.0


def run_day_with_a_cycling_supervisor(model: PlantModel) -> None:
    """Units on in the cheap night hours, off by day; boiler on a setpoint in the morning."""
    now = START
    for step in range(17280):
        hour = step * 5 // 3600
        for device in ("hp1", "hp2", "boiler"):
            model.command(device, "heartbeat", step % 2)
        if step % 720 == 0:  # a new hour: a new plan step
            for unit in ("hp1", "hp2"):
                model.command(unit, "remote_request", 1)
                model.command(unit, "enable_cmd", 1 if hour < 8 or hour >= 18 else 0)
                model.command(unit, "heat_setpoint_kw", 6000.0 + 500.0 * (hour % 5))
            model.command("boiler", "remote_request", 1)
            model.command("boiler", "enable_cmd", 1 if 9 <= hour < 12 else 0)
            model.command("boiler", "heat_setpoint_kw", 8000.0)
        outdoor_c = -5.0 + 6.0 * math.sin(2 * math.pi * step / 17280)
        model.step(5.0, Boundary(now_utc=now, outdoor_temp_c=outdoor_c))
        now += timedelta(seconds=5)


def test_plant_energy_balance_closes_over_a_day(river: SiteConfig) -> None:
    model = PlantModel(river, START, initial_soc=0.5)
    start_kwh = stored_kwh(model)
    run_day_with_a_cycling_supervisor(model)
    totals = model.totals
    produced_kwh = sum(totals.unit_heat_kwh.values()) + totals.boiler_heat_kwh
    change_kwh = stored_kwh(model) - start_kwh
    assert totals.boiler_heat_kwh > 0 and sum(totals.unit_starts.values()) >= 4
    assert totals.tank_loss_kwh > 0
    balance_kwh = produced_kwh - totals.heat_delivered_kwh - totals.tank_loss_kwh
    assert balance_kwh == pytest.approx(change_kwh, abs=1e-9 * produced_kwh)
    assert totals.simulated_s == 86400.0
    assert totals.boiler_fuel_kwh == pytest.approx(totals.boiler_heat_kwh / 0.93)
    assert totals.electricity_kwh == pytest.approx(sum(totals.unit_electricity_kwh.values()))
    assert totals.tank_min_temp_c["tank1"] <= model.tanks[0].bottom_temp_c
    assert totals.tank_max_temp_c["tank1"] >= river.tanks[0].max_temp_c - 5.0  # initial hot water
    assert totals.tank_energy_kwh["tank1"] == pytest.approx(model.tanks[0].energy_above_min_kwh())


def test_several_tanks_share_flows_by_volume_and_still_balance(river: SiteConfig) -> None:
    small = river.tanks[0].model_copy(update={"name": "tank1", "volume_m3": 600.0})
    large = river.tanks[0].model_copy(update={"name": "tank2", "volume_m3": 1800.0, "layers": 8})
    model = PlantModel(river.model_copy(update={"tanks": [small, large]}), START, 0.5)
    start_kwh = stored_kwh(model)
    run_day_with_a_cycling_supervisor(model)
    totals = model.totals
    produced_kwh = sum(totals.unit_heat_kwh.values()) + totals.boiler_heat_kwh
    balance_kwh = produced_kwh - totals.heat_delivered_kwh - totals.tank_loss_kwh
    assert balance_kwh == pytest.approx(stored_kwh(model) - start_kwh, abs=1e-9 * produced_kwh)
    # the same flow per cubic metre keeps both tanks' profiles alike (losses differ slightly)
    for index in range(1, 9):
        assert model.value("tank1", "layer_temp_c", index) == pytest.approx(
            model.value("tank2", "layer_temp_c", index), abs=0.5
        )
    energy = totals.tank_energy_kwh
    assert energy["tank2"] == pytest.approx(3 * energy["tank1"], rel=0.02)


def test_boiler_follows_its_setpoint_after_its_start_delay(river: SiteConfig) -> None:
    model = PlantModel(river, START, initial_soc=0.5)
    states: list[float] = []
    heats: list[float] = []
    for beat in range(1, 61):
        model.command("boiler", "heartbeat", beat)
        model.command("boiler", "remote_request", 1)
        model.command("boiler", "enable_cmd", 1)
        model.command("boiler", "heat_setpoint_kw", 6000.0)
        model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
        states.append(model.value("boiler", "state_code"))
        heats.append(model.value("boiler", "heat_kw"))
    assert states[:12] == [StateCode.STARTING] * 12  # startup_delay_s = 60
    assert heats[12] == pytest.approx(1200.0)  # min_load_fraction 0.1 of 12 MW
    assert heats[13] == pytest.approx(2200.0)  # full range in a minute: 1 MW per 5 s
    assert heats[-1] == pytest.approx(6000.0)
    assert model.value("boiler", "remote_active") == 1
    assert model.value("boiler", "fuel_kw") == pytest.approx(6000.0 / 0.93)
    assert model.value("boiler", "starts_total") == 1
    assert model.value("boiler", "heat_setpoint_kw") == 6000.0


def test_boiler_is_the_last_resort_without_supervision(river: SiteConfig) -> None:
    units = [unit.model_copy(update={"local_setpoint_tank_temp_c": 40.0}) for unit in river.units]
    model = PlantModel(river.model_copy(update={"units": units}), START, initial_soc=0.0)
    for _ in range(115):  # the cold top must persist 600 s before the boiler fires
        model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("boiler", "state_code") == StateCode.OFF
    assert model.value("boiler", "remote_active") == 0
    for _ in range(20):
        model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("boiler", "state_code") == StateCode.RUNNING
    assert model.value("boiler", "heat_kw") > 0.0


def test_valve_moves_at_its_travel_speed(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    assert model.value("v_hp1", "position_pct") == 100.0
    model.command("v_hp1", "position_cmd_pct", 0.0)
    model.step(10.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("v_hp1", "position_pct") == pytest.approx(75.0)  # 40 s full travel
    model.step(60.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("v_hp1", "position_pct") == 0.0
    assert model.value("v_hp1", "position_cmd_pct") == 0.0
    assert model.value("v_hp1", "fault") == 0.0
    assert model.value("v_hp2", "position_pct") == 100.0


def test_writes_are_echoed_and_heartbeat_timing_uses_simulated_time(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    model.command("hp1", "supply_temp_setpoint_c", 78.0)
    model.command("hp1", "remote_request", 1)
    model.command("hp1", "heartbeat", 7)
    assert model.value("hp1", "supply_temp_setpoint_c") == 78.0
    assert model.value("hp1", "heartbeat") == 7.0
    for _ in range(13):  # heartbeat unchanged for 60 s: still within the timeout
        model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("hp1", "remote_active") == 1
    model.command("hp1", "heartbeat", 7)  # the same value again is no sign of life
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert model.value("hp1", "remote_active") == 0


def test_unknown_devices_and_roles_raise_key_errors_naming_them(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    with pytest.raises(KeyError, match="pump9"):
        model.value("pump9", "heat_kw")
    with pytest.raises(KeyError, match=r"hp1.*flux_kw"):
        model.value("hp1", "flux_kw")
    with pytest.raises(KeyError, match=r"tank1.*9"):
        model.value("tank1", "layer_temp_c", 9)
    with pytest.raises(KeyError, match=r"hp1.*heat_kw"):
        model.command("hp1", "heat_kw", 5.0)
    with pytest.raises(KeyError, match=r"plant.*outdoor_temp_c"):
        model.command("plant", "outdoor_temp_c", 5.0)
    with pytest.raises(KeyError, match="ghost"):
        model.command("ghost", "enable_cmd", 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        model.command("hp1", "heat_setpoint_kw", math.nan)


def test_every_point_of_every_map_is_served(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    for name, point_map in river.load_point_maps().items():
        for point in point_map.points:
            assert math.isfinite(model.value(name, point.role, point.index)), (name, point.name)
            if point.writable and point.safe_default is not None:
                model.command(name, point.role, point.safe_default)


def test_totals_are_a_frozen_snapshot(river: SiteConfig) -> None:
    model = PlantModel(river, START)
    before = model.totals
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.simulated_s = 1.0  # type: ignore[misc]
    model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
    assert before.simulated_s == 0.0
    assert model.totals.simulated_s == 5.0
    assert model.now_utc == START + timedelta(seconds=5)


def test_time_and_configuration_are_checked(river: SiteConfig) -> None:
    with pytest.raises(ValueError, match="timezone"):
        PlantModel(river, datetime(2025, 1, 1))
    model = PlantModel(river, START)
    with pytest.raises(ValueError, match="dt_s"):
        model.step(0.0, Boundary(now_utc=START, outdoor_temp_c=0.0))
