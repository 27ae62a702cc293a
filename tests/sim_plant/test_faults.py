"""Fault injection: communication, sensors, unit trips and stuck valves."""

from __future__ import annotations

import math
from datetime import UTC, datetime
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


@pytest.fixture
def model(river: SiteConfig) -> PlantModel:
    return PlantModel(river, START, initial_soc=0.5)


def run(model: PlantModel, seconds: float, supervised: tuple[str, ...] = ()) -> None:
    for _ in range(round(seconds / 5.0)):
        for unit in supervised:
            model.command(unit, "heartbeat", (model.value(unit, "heartbeat") + 1) % 65536)
        model.step(5.0, Boundary(now_utc=START, outdoor_temp_c=-5.0))


def start_hp1(model: PlantModel) -> None:
    model.command("hp1", "remote_request", 1)
    model.command("hp1", "enable_cmd", 1)
    model.command("hp1", "heat_setpoint_kw", 8000)
    run(model, 300, ("hp1",))
    assert model.value("hp1", "state_code") == StateCode.RUNNING


def test_dropped_comm_is_reported_per_device_until_restored(model: PlantModel) -> None:
    faults = model.faults
    assert not faults.is_comm_dropped("hp1")
    faults.drop_comm("hp1")
    assert faults.is_comm_dropped("hp1")
    assert not faults.is_comm_dropped("hp2")
    faults.restore_comm("hp1")
    assert not faults.is_comm_dropped("hp1")


def test_stuck_sensor_freezes_while_the_truth_moves_on(model: PlantModel) -> None:
    start_hp1(model)
    frozen = model.value("tank1", "layer_temp_c", 1)
    model.faults.stick_sensor("tank1", "layer_temp_c", 1)
    run(model, 3600, ("hp1",))
    assert model.value("tank1", "layer_temp_c", 1) == frozen
    truth = model.true_value("tank1", "layer_temp_c", 1)
    assert truth != pytest.approx(frozen, abs=0.05)
    assert model.value("tank1", "layer_temp_c", 2) == model.true_value("tank1", "layer_temp_c", 2)
    model.faults.clear_sensor("tank1", "layer_temp_c", 1)
    assert model.value("tank1", "layer_temp_c", 1) == truth


def test_nan_sensor_reads_nan_until_cleared(model: PlantModel) -> None:
    model.faults.nan_sensor("plant", "outdoor_temp_c")
    run(model, 10)
    assert math.isnan(model.value("plant", "outdoor_temp_c"))
    assert model.true_value("plant", "outdoor_temp_c") == -5.0
    model.faults.stick_sensor("plant", "outdoor_temp_c")  # a new fault replaces the old one
    assert model.value("plant", "outdoor_temp_c") == -5.0
    model.faults.nan_sensor("hp2", "supply_temp_c")
    model.faults.clear_sensor("plant", "outdoor_temp_c")
    assert model.value("plant", "outdoor_temp_c") == -5.0
    assert math.isnan(model.value("hp2", "supply_temp_c"))


def test_injected_trip_stops_the_unit_and_needs_the_reset(model: PlantModel) -> None:
    start_hp1(model)
    model.faults.trip_unit("hp1")
    assert model.value("hp1", "state_code") == StateCode.TRIPPED  # at once, not at the next step
    assert model.value("hp1", "alarm_code") == 5
    assert model.value("hp1", "heat_kw") == 0.0
    run(model, 600, ("hp1",))
    assert model.value("hp1", "state_code") == StateCode.TRIPPED  # enable still 1
    model.command("hp1", "enable_cmd", 0)
    run(model, 305, ("hp1",))
    assert model.value("hp1", "state_code") == StateCode.OFF
    assert model.value("hp1", "alarm_code") == 0


def test_stuck_valve_holds_position_and_reports_a_fault(model: PlantModel) -> None:
    model.faults.stick_valve("v_hp1")
    model.command("v_hp1", "position_cmd_pct", 0.0)
    run(model, 60)
    assert model.value("v_hp1", "position_pct") == 100.0
    assert model.value("v_hp1", "fault") == 1.0
    model.faults.free_valve("v_hp1")
    run(model, 60)
    assert model.value("v_hp1", "position_pct") == 0.0
    assert model.value("v_hp1", "fault") == 0.0


def test_valve_stuck_part_closed_trips_the_unit_on_low_flow(model: PlantModel) -> None:
    model.command("v_hp1", "position_cmd_pct", 30.0)
    run(model, 60)
    model.faults.stick_valve("v_hp1")
    model.command("v_hp1", "position_cmd_pct", 100.0)  # the controller opens it: nothing moves
    model.command("hp1", "remote_request", 1)
    model.command("hp1", "enable_cmd", 1)
    run(model, 185, ("hp1",))  # the start-up delay, then the compressor starts
    assert model.value("hp1", "state_code") == StateCode.RUNNING
    run(model, 15, ("hp1",))
    assert model.value("hp1", "state_code") == StateCode.TRIPPED
    assert model.value("hp1", "alarm_code") == 1
    assert model.value("v_hp1", "position_pct") == pytest.approx(30.0)


def test_clear_all_removes_every_fault_but_not_a_latched_trip(model: PlantModel) -> None:
    faults = model.faults
    start_hp1(model)
    faults.drop_comm("boiler")
    faults.stick_sensor("hp1", "heat_kw")
    faults.nan_sensor("tank1", "layer_temp_c", 8)
    faults.stick_valve("v_hp2")
    faults.trip_unit("hp1")
    faults.clear_all()
    assert not faults.is_comm_dropped("boiler")
    assert model.value("hp1", "heat_kw") == 0.0  # the truth: tripped
    assert not math.isnan(model.value("tank1", "layer_temp_c", 8))
    assert model.value("v_hp2", "fault") == 0.0
    assert model.value("hp1", "state_code") == StateCode.TRIPPED


def test_unknown_names_raise_key_errors_naming_them(model: PlantModel) -> None:
    faults = model.faults
    with pytest.raises(KeyError, match="hp9"):
        faults.drop_comm("hp9")
    with pytest.raises(KeyError, match="hp9"):
        faults.is_comm_dropped("hp9")
    with pytest.raises(KeyError, match="hp9"):
        faults.stick_sensor("hp9", "heat_kw")
    with pytest.raises(KeyError, match=r"hp1.*warp_kw"):
        faults.nan_sensor("hp1", "warp_kw")
    with pytest.raises(KeyError, match="tank7"):
        faults.clear_sensor("tank7", "layer_temp_c", 1)
    with pytest.raises(KeyError, match="v_hp1"):
        faults.trip_unit("v_hp1")  # a valve is not a unit
    with pytest.raises(KeyError, match="hp1"):
        faults.stick_valve("hp1")
    with pytest.raises(KeyError, match="v9"):
        faults.free_valve("v9")
