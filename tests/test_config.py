"""A bad plant file refuses to start with an error that names the file, the field and the problem."""

from pathlib import Path

import pytest

from controller.app.cli import main
from controller.config import ConfigError, load_plant

PLANTS = Path(__file__).resolve().parents[1] / "deploy" / "plants"
RIVER = PLANTS / "river_20mw.toml"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = RIVER.read_text()
    assert old in text
    path = tmp_path / "plant.toml"
    path.write_text(
        text.replace(old, new, 1).replace("../pointmaps/", f"{PLANTS.parent}/pointmaps/")
    )
    return path


@pytest.mark.parametrize("path", sorted(PLANTS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_reference_plant_loads(path: Path) -> None:
    plant = load_plant(path)
    assert plant.site.units and plant.site.tanks and plant.site.boiler is not None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "heat_max_kw = 10000",
            "heat_max_kw = -5",
            "units[0] 'hp1'.heat_max_kw: Input should be greater than 0",
        ),
        (
            'connection = "plc"\ndevice_id = 2',
            'connection = "plcx"\ndevice_id = 2',
            "device 'hp2': connection 'plcx' is not defined",
        ),
        (
            'isolation_valve = "v_hp1"',
            'isolation_valve = "v_nope"',
            "isolation_valve 'v_nope' is not a valve",
        ),
        ("min_temp_c = 65", "min_temp_c = 95", "min_temp_c 95 must be below max_temp_c 85"),
        (
            "min_temp_c = 65",
            "min_temp_c = 50",
            "tank 'tank1': min_temp_c 50 is below the network's supply_temp_min_c 65",
        ),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 5\ncycle_seconds = 3",
            "control.cycle_seconds: Extra inputs are not permitted",
        ),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 500",
            "control.cycle_s: Input should be less than or equal to 60",
        ),
        (
            "mean_temp_c = 9.5",
            "mean_temp_c = 'warm'",
            "source.mean_temp_c: 'warm' is a string, not a number",
        ),
        ("generic_valve.toml", "missing_valve.toml", "point map not found"),
        # a boolean is not a number: min_run_s = true used to be 1 s
        (
            "min_run_s = 1800",
            "min_run_s = true",
            "units[0] 'hp1'.min_run_s: true is a boolean, not a number",
        ),
        # non-finite values that would switch a protection off
        (
            "max_temp_c = 85",
            "max_temp_c = nan",
            "tanks[0] 'tank1'.max_temp_c: Input should be a finite number",
        ),
        ("heat_max_kw = 10000", "heat_max_kw = inf", "Input should be a finite number"),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 5\n[control.safety]\nstale_handback_s = inf",
            "control.safety.stale_handback_s: Input should be a finite number",
        ),
        (
            'timezone = "Europe/Copenhagen"',
            'timezone = "Europe/Copenhagn"',
            "unknown time zone 'Europe/Copenhagn'",
        ),
        (
            'connection = "plc"\ndevice_id = 2',
            'connection = "plc"\ndevice_id = 1',
            "devices 'hp1' and 'hp2' have the same device_id 1 on connection 'plc'",
        ),
        (
            'isolation_valve = "v_hp2"',
            'isolation_valve = "v_hp1"',
            "units 'hp1' and 'hp2' share isolation_valve 'v_hp1'",
        ),
        (
            "return_temp_c = 42",
            "return_temp_c = 70",
            "return_temp_c 70 is not below supply_temp_min_c",
        ),
        (
            "max_temp_c = 20.0",
            "max_temp_c = 0.5",
            "source: min_temp_c 1 is not below max_temp_c 0.5",
        ),
    ],
)
def test_bad_config_names_file_field_and_problem(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_plant(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_a_point_map_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, '"../pointmaps/generic_valve.toml"', '"../pointmaps/generic_boiler.toml"'
    )
    with pytest.raises(ConfigError, match="map is for a boiler, expected a valve"):
        load_plant(path)


def test_cli_refuses_to_start_with_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _variant(tmp_path, "heat_max_kw = 10000", "heat_max_kw = 0")
    assert main(["run", "--plant", str(path)]) == 2
    err = capsys.readouterr().err
    assert "heat_max_kw" in err and str(path) in err


def test_validate_accepts_all_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(PLANTS.glob("*.toml"))] + [
        str(p) for p in sorted((PLANTS.parent / "pointmaps").glob("*.toml"))
    ]
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.count("ok ") == len(files)


def test_validate_refuses_a_map_with_a_misspelt_role_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maps = PLANTS.parent / "pointmaps"
    bad = tmp_path / "acme_valve.toml"
    bad.write_text(
        (maps / "generic_valve.toml").read_text().replace('role = "fault"', 'role = "faults"')
    )
    good = maps / "generic_boiler.toml"
    assert main(["validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out.count("ok ") == 1
    (line,) = captured.err.splitlines()
    assert line.startswith(f"BAD {bad}: invalid point map: point 'fault': unknown role 'faults'")
    assert "did you mean 'fault'?" in line


def test_a_changed_control_setting_is_validated() -> None:
    plant = load_plant(RIVER)
    assert plant.with_control(cycle_s=1.0).control.cycle_s == 1.0
    with pytest.raises(ConfigError, match=r"control\.cycle_s: 'fast' is a string, not a number"):
        plant.with_control(cycle_s="fast")
    with pytest.raises(ConfigError, match=r"control\.cycle_seconds: Extra inputs"):
        plant.with_control(cycle_seconds=1.0)
    assert plant.with_planner(horizon_h=24).control.planner.horizon_h == 24
    with pytest.raises(ConfigError, match=r"control\.planner\.horizon_h: Input should be less"):
        plant.with_planner(horizon_h=200)
    with pytest.raises(ConfigError, match=r"control\.staging: need soc_start_next"):
        plant.with_control(staging={"soc_start_next": 0.9})


MAPS = PLANTS.parent / "pointmaps"


def test_a_tank_map_without_every_layer_once_is_refused(tmp_path: Path) -> None:
    plants = MAPS.parent / "plants"
    tank_map = (MAPS / "generic_tank_8_layers.toml").read_text()
    layer_8 = tank_map.index("index = 8")
    gap = tmp_path / "tank_7.toml"
    gap.write_text(tank_map[:layer_8] + "index = 9" + tank_map[layer_8 + len("index = 8") :])
    plant = (plants / "river_20mw.toml").read_text()
    plant = plant.replace("../pointmaps/generic_tank_8_layers.toml", str(gap))
    plant = plant.replace("../pointmaps/", f"{MAPS}/")
    path = tmp_path / "plant.toml"
    path.write_text(plant)
    with pytest.raises(ConfigError, match=r"role 'layer_temp_c' needs indexes 1\.\.8 once each"):
        load_plant(path)
