"""Heat meters in the simulator: what a network or unit meter shows follows the physics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.kinds import Role
from drivers.site import load_site
from sim_plant.physics import Boundary, PlantModel
from sim_plant.physics.heat_meters import flow_m3_per_h
from tests.core.fakes import with_heat_meters

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
START = datetime(2024, 1, 8, tzinfo=UTC)


def _model() -> PlantModel:
    site = with_heat_meters(load_site(RIVER), ("outlet", "network"), ("hp1_meter", "hp1"))
    model = PlantModel(site, START)
    for unit in ("hp1", "hp2"):
        model.command(unit, Role.REMOTE_REQUEST, 1.0)
        model.command(unit, Role.ENABLE_CMD, 1.0)
        model.command(unit, Role.HEAT_SETPOINT_KW, 8000.0)
    for _ in range(240):
        model.command("hp1", Role.HEARTBEAT, float(_ % 2))
        model.command("hp2", Role.HEARTBEAT, float(_ % 2))
        model.step(30.0, Boundary(now_utc=START, outdoor_temp_c=-5.0))
    return model


def test_the_network_meter_shows_the_delivered_heat_and_counts_whole_kwh() -> None:
    model = _model()
    plant = model.plant_measurements
    assert model.value("outlet", Role.HEAT_KW) == plant[Role.NETWORK_HEAT_KW] > 0
    assert model.value("outlet", Role.SUPPLY_TEMP_C) == plant[Role.NETWORK_SUPPLY_TEMP_C]
    assert model.value("outlet", Role.RETURN_TEMP_C) == plant[Role.NETWORK_RETURN_TEMP_C]
    energy_kwh = model.value("outlet", Role.ENERGY_KWH)
    assert energy_kwh == float(int(model.totals.heat_delivered_kwh)) > 0


def test_a_unit_meter_follows_its_unit() -> None:
    model = _model()
    assert model.value("hp1_meter", Role.HEAT_KW) == model.value("hp1", Role.HEAT_KW) > 0
    assert model.value("hp1_meter", Role.SUPPLY_TEMP_C) == model.value("hp1", Role.SUPPLY_TEMP_C)
    assert model.value("hp1_meter", Role.ENERGY_KWH) == float(
        int(model.totals.unit_heat_kwh["hp1"])
    )


def test_flow_carries_the_heat_between_the_two_temperatures() -> None:
    # 10 MW across 35 K of water at 975 kg/m3 and 4.19 kJ/kg/K
    assert flow_m3_per_h(10_000.0, 75.0, 40.0) == pytest.approx(
        10_000.0 / (4.19 * 35.0) / 975.0 * 3600.0
    )
    assert flow_m3_per_h(0.0, 75.0, 40.0) == 0.0
    assert flow_m3_per_h(5000.0, 40.2, 40.0) == 0.0  # no temperature difference: no flow shown


def test_a_heat_meter_has_no_commands() -> None:
    model = _model()
    with pytest.raises(KeyError, match="outlet"):
        model.command("outlet", Role.HEAT_KW, 1.0)
    with pytest.raises(KeyError, match="no role 'layer_temp_c'"):
        model.value("outlet", Role.LAYER_TEMP_C)
