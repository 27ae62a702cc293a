"""The fault campaign's copy of a plant file loads, scaled and pointed where it is served."""

from __future__ import annotations

from pathlib import Path

from bench.chaos.faults_rig import prepare_plant_file, serve_plant_file
from controller.config import load_plant

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"


def test_the_copy_is_the_plant_on_a_faster_time_scale_served_on_the_given_ports(
    tmp_path: Path,
) -> None:
    path = prepare_plant_file(
        RIVER, tmp_path, protection_scale=0.2, tank_scale=0.05, initial_soc=0.3
    )
    serve_plant_file(path, {"plc": 15020, "scada": 14840}, tmp_path / "data", 19108, 11883)
    plant = load_plant(path)
    original = load_plant(RIVER)
    for unit, before in zip(plant.site.units, original.site.units, strict=True):
        assert unit.min_run_s == before.min_run_s * 0.2
        assert unit.min_off_s == before.min_off_s * 0.2
        assert unit.max_starts_per_hour == before.max_starts_per_hour * 5
        assert unit.max_supply_temp_c == before.max_supply_temp_c  # limits are not touched
    assert plant.site.tanks[0].volume_m3 == original.site.tanks[0].volume_m3 * 0.05
    assert plant.site.tanks[0].max_temp_c == original.site.tanks[0].max_temp_c
    assert plant.site.sim["initial_soc"] == 0.3
    assert {n: c.port for n, c in plant.site.connections.items()} == {"plc": 15020, "scada": 14840}
    assert plant.control.data_dir == str(tmp_path / "data")
    assert plant.control.metrics_port == 19108
    assert plant.control.mqtt.enabled and plant.control.mqtt.port == 11883
    assert plant.control.cycle_s == original.control.cycle_s
