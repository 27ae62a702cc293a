"""Estimate: the plant state from a snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ConfigError, Plant, load_plant
from controller.core.estimate import estimate, tank_soc
from drivers.kinds import Role
from tests.core.fakes import RIVER, plant_snapshot, river, with_heat_meters


def test_soc_from_layers_spans_min_to_max() -> None:
    tank = river().site.tanks[0]
    assert tank_soc(tuple([tank.min_temp_c] * 8), tank) == 0.0
    assert tank_soc(tuple([tank.max_temp_c] * 8), tank) == 1.0
    half = (tank.min_temp_c + tank.max_temp_c) / 2
    assert tank_soc(tuple([half] * 8), tank) == pytest.approx(0.5)
    assert tank_soc((60.0, None, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0), tank) is None


def _with_meters(*meters: tuple[str, str]) -> Plant:
    """The river plant with heat meters bound (name, measures)."""
    plant = river()
    return plant.with_site(with_heat_meters(plant.site, *meters))


def test_heat_meters_are_read_and_a_lost_plant_io_demand_falls_back_to_the_network_meters() -> None:
    plant = _with_meters(("outlet_a", "network"), ("outlet_b", "network"), ("hp1_meter", "hp1"))
    snap = plant_snapshot(plant.site, 70.0, demand_kw=9000.0)
    for name, heat_kw in (("outlet_a", 5000.0), ("outlet_b", 3500.0), ("hp1_meter", 7000.0)):
        snap.values[(name, Role.HEAT_KW, None)] = heat_kw
        snap.values[(name, Role.ENERGY_KWH, None)] = 123_456.0
        snap.values[(name, Role.FLOW_M3_PER_H, None)] = 200.0
        snap.values[(name, Role.SUPPLY_TEMP_C, None)] = 75.0
        snap.values[(name, Role.RETURN_TEMP_C, None)] = 42.0
    state = estimate(snap, plant.site)
    assert [(m.name, m.measures, m.heat_kw) for m in state.heat_meters] == [
        ("outlet_a", "network", 5000.0),
        ("outlet_b", "network", 3500.0),
        ("hp1_meter", "hp1", 7000.0),
    ]
    assert state.heat_meters[0].energy_kwh == 123_456.0
    # the plant I/O's demand reads: it stays the demand, the meters are telemetry
    assert state.network_heat_kw == 9000.0

    del snap.values[("plant", Role.NETWORK_HEAT_KW, None)]
    # lost: the network meters together are the demand (a unit's meter is not)
    assert estimate(snap, plant.site).network_heat_kw == 8500.0
    # one network meter blind too: half a plant outlet is not the demand
    del snap.values[("outlet_b", Role.HEAT_KW, None)]
    assert estimate(snap, plant.site).network_heat_kw is None


def test_a_heat_meter_that_measures_nothing_known_is_refused(tmp_path: Path) -> None:
    text = RIVER.read_text().replace("../pointmaps/", f"{RIVER.parents[1]}/pointmaps/")
    text += (
        '\n[[heat_meters]]\nname = "meter"\n'
        f'pointmap = "{RIVER.parents[1]}/pointmaps/generic_heat_meter.toml"\n'
        'connection = "plc"\ndevice_id = 30\nmeasures = "hp9"\n'
    )
    path = tmp_path / "plant.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="heat meter 'meter': measures 'hp9' is neither"):
        load_plant(path)
