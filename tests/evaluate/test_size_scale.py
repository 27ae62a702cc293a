"""Resizing a plant keeps every protection and gives each unit consistent data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.config import ConfigError, Plant
from controller.evaluate.size_scale import BUFFER_M3, scale_plant
from sim_plant.physics import PlantModel

PROTECTIONS = (
    "min_load_fraction",
    "min_run_s",
    "min_off_s",
    "max_starts_per_hour",
    "startup_delay_s",
    "max_supply_temp_c",
    "max_lift_k",
    "heartbeat_timeout_s",
    "carnot_efficiency",
    "local_setpoint_tank_temp_c",
)


@pytest.mark.parametrize(
    ("heat_pump_kw", "count"), [(10_000, 1), (15_000, 2), (20_000, 2), (25_000, 3), (30_000, 3)]
)
def test_units_keep_their_protections_and_split_the_capacity(
    river: Plant, heat_pump_kw: float, count: int
) -> None:
    template = river.site.units[0]
    sized = scale_plant(river, heat_pump_kw, 4000)
    units = sized.site.units
    assert len(units) == count
    assert sum(u.heat_max_kw for u in units) == pytest.approx(heat_pump_kw)
    for unit in units:
        assert unit.heat_max_kw <= max(u.heat_max_kw for u in river.site.units)
        for name in PROTECTIONS:
            assert getattr(unit, name) == getattr(template, name), name
        ratio = unit.heat_max_kw / template.heat_max_kw
        # the same time from minimum to full load, the same wear per start in operating hours
        assert unit.ramp_kw_per_s == pytest.approx(template.ramp_kw_per_s * ratio)
        assert unit.start_cost_eur == pytest.approx(template.start_cost_eur * ratio)


def test_added_units_have_their_own_address_valve_and_point_map(river: Plant) -> None:
    sized = scale_plant(river, 30_000, 4000)
    names = [device.name for device in sized.site.devices()]
    assert len(names) == len(set(names))
    assert set(sized.maps) == set(names)
    valves = {valve.name for valve in sized.site.valves}
    used = [unit.isolation_valve for unit in sized.site.units]
    assert len(set(used)) == len(used) and set(used) <= valves
    plc = [d.device_id for d in sized.site.devices() if d.connection == "plc"]
    assert len(plc) == len(set(plc))
    for unit in sized.site.units:
        assert sized.maps[unit.name] is river.maps["hp1"]
        assert sized.maps[unit.isolation_valve or ""] is river.maps["v_hp1"]
    # the simulated plant builds from it, one model unit per unit
    model = PlantModel(sized.site, datetime(2024, 1, 10, tzinfo=UTC))
    assert model.units.names == ["hp1", "hp2", "hp3"]
    assert model.units.valves == ["v_hp1", "v_hp2", "v_hp3"]


def test_fewer_units_drop_their_valves(river: Plant) -> None:
    sized = scale_plant(river, 8_000, 4000)
    assert [u.name for u in sized.site.units] == ["hp1"]
    assert [v.name for v in sized.site.valves] == ["v_hp1"]
    assert "hp2" not in sized.maps and "v_hp2" not in sized.maps


def test_tank_scales_height_by_cube_root_and_losses_by_surface(river: Plant) -> None:
    tank = river.site.tanks[0]
    sized = scale_plant(river, 20_000, tank.volume_m3 * 8).site.tanks[0]
    assert sized.volume_m3 == pytest.approx(tank.volume_m3 * 8)
    assert sized.height_m == pytest.approx(tank.height_m * 2)
    assert sized.loss_w_per_k == pytest.approx(tank.loss_w_per_k * 4)
    assert (sized.layers, sized.min_temp_c, sized.max_temp_c) == (
        tank.layers,
        tank.min_temp_c,
        tank.max_temp_c,
    )
    assert scale_plant(river, 20_000, 0).site.tanks[0].volume_m3 == BUFFER_M3


def test_boiler_resized_removed_or_kept(river: Plant) -> None:
    assert river.site.boiler is not None
    kept = scale_plant(river, 20_000, 4000)
    assert kept.site.boiler == river.site.boiler
    resized = scale_plant(river, 20_000, 4000, 6_000).site.boiler
    assert resized is not None and resized.heat_max_kw == 6_000
    assert resized.min_load_fraction == river.site.boiler.min_load_fraction
    removed = scale_plant(river, 20_000, 4000, 0)
    assert removed.site.boiler is None and "boiler" not in removed.maps
    with pytest.raises(ConfigError, match="has no \\[boiler\\] to resize"):
        scale_plant(removed, 20_000, 4000, 5_000)


@pytest.mark.parametrize(
    ("heat_pump_kw", "tank_m3", "boiler_kw", "message"),
    [
        (0, 4000, None, "heat-pump capacity 0 kW must be positive"),
        (20_000, -1, None, "tank volume -1 m3 must be 0 or more"),
        (20_000, 4000, -5, "boiler rating -5 kW must be 0 or more"),
        (20_000, 2e6, None, "volume_m3"),
    ],
)
def test_impossible_sizes_are_refused_with_a_clear_error(
    river: Plant, heat_pump_kw: float, tank_m3: float, boiler_kw: float | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        scale_plant(river, heat_pump_kw, tank_m3, boiler_kw)
