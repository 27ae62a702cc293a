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


def test_validate_refuses_a_map_with_a_misspelt_role(
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
    assert line.startswith(
        f"BAD {bad}: invalid point map: point 'fault' field 'role': unknown role 'faults'"
    )
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


SECOND_TANK = """
[[tanks]]
name = "tank2"
pointmap = "../pointmaps/generic_tank_8_layers.toml"
connection = "scada"
node_prefix = "Tank1"
volume_m3 = 1000
min_temp_c = 65
max_temp_c = 85
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a unit's supply limit that never trips, or trips on everything
        *(
            (
                "max_supply_temp_c = 90",
                f"max_supply_temp_c = {value}",
                f"units[0] 'hp1'.max_supply_temp_c: {message}",
            )
            for value, message in [
                ("nan", "Input should be a finite number"),
                ("inf", "Input should be a finite number"),
                ("-inf", "Input should be a finite number"),
                ("0", "Input should be greater than or equal to 20"),
                ("-50", "Input should be greater than or equal to 20"),
            ]
        ),
        ("volume_m3 = 4000", "volume_m3 = inf", "tanks[0] 'tank1'.volume_m3: Input should be a"),
        ("min_run_s = 1800", "min_run_s = inf", "units[0] 'hp1'.min_run_s: Input should be a"),
        (
            "startup_delay_s = 180",
            "startup_delay_s = inf",
            "units[0] 'hp1'.startup_delay_s: Input should be a finite number",
        ),
        (
            "heartbeat_timeout_s = 60",
            "heartbeat_timeout_s = 1e308",
            "units[0] 'hp1'.heartbeat_timeout_s: Input should be less than or equal to 3600",
        ),
        (
            "heat_max_kw = 10000",
            "heat_max_kw = 1e12",
            "units[0] 'hp1'.heat_max_kw: Input should be less than or equal to 1000000",
        ),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 5\n[control.safety]\ntrip_reset_s = 1e300",
            "control.safety.trip_reset_s: Input should be less than or equal to 86400",
        ),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 5\nsupply_temp_setpoint_c = 500",
            "control.supply_temp_setpoint_c: Input should be less than or equal to 200",
        ),
        # strict types: a quoted number, a float id, a number for a boolean
        (
            "min_run_s = 1800",
            'min_run_s = "1800"',
            "units[0] 'hp1'.min_run_s: '1800' is a string, not a number",
        ),
        (
            'connection = "plc"\ndevice_id = 2',
            'connection = "plc"\ndevice_id = 2.0',
            "units[1] 'hp2'.device_id: 2.0 is not a whole number",
        ),
        (
            "[control]\ncycle_s = 5",
            "[control]\ncycle_s = 5\nread_only = 1",
            "control.read_only: 1 is a number, not a boolean",
        ),
        # cross-field and cross-device checks
        (
            "loss_w_per_k = 900",
            "loss_w_per_k = 900\n" + SECOND_TANK,
            "devices 'tank1' and 'tank2' have the same node prefix 'Tank1' on connection 'scada'",
        ),
        (
            "supply_temp_warm_c = 70",
            "supply_temp_warm_c = 90",
            "need supply_temp_min_c 65 <= supply_temp_warm_c 90 <= supply_temp_c 80",
        ),
        (
            "design_outdoor_temp_c = -12",
            "design_outdoor_temp_c = 20",
            "design_outdoor_temp_c 20 is not below heating_limit_temp_c 17",
        ),
        (
            "mean_temp_c = 9.5",
            "mean_temp_c = 30",
            "source: mean_temp_c 30 is outside min_temp_c 1 .. max_temp_c 20",
        ),
        (
            "local_setpoint_tank_temp_c = 75",
            "local_setpoint_tank_temp_c = 95",
            "unit 'hp1': local_setpoint_tank_temp_c 95 is above its max_supply_temp_c 90",
        ),
    ],
)
def test_values_that_would_switch_a_protection_off_are_refused(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_plant(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_plant_without_a_tank_is_refused(tmp_path: Path) -> None:
    text = RIVER.read_text()
    start, end = text.index("[[tanks]]"), text.index("[boiler]")
    path = tmp_path / "plant.toml"
    # at the top: after [[valves]], `tanks = []` would belong to the last valve
    path.write_text(
        "tanks = []\n" + (text[:start] + text[end:]).replace("../pointmaps/", f"{MAPS}/")
    )
    with pytest.raises(ConfigError, match="a plant needs at least one tank"):
        load_plant(path)


def test_every_problem_of_a_plant_file_is_listed(tmp_path: Path) -> None:
    """Field errors, the [control] table, cross-field checks and the point maps: all at once,
    one line each, not just the first."""
    path = _variant(tmp_path, "heat_max_kw = 10000", "heat_max_kw = nan")
    text = path.read_text()
    text = text.replace("[control]\ncycle_s = 5", "[control]\ncycle_s = 500")
    text = text.replace("min_run_s = 1800", "min_run_s = true", 1)
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_plant(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: invalid plant config (3 problems)"
    assert lines[1:] == [
        "  units[0] 'hp1'.heat_max_kw: Input should be a finite number",
        "  units[0] 'hp1'.min_run_s: true is a boolean, not a number",
        "  control.cycle_s: Input should be less than or equal to 60",
    ]


def test_every_cross_field_problem_is_listed(tmp_path: Path) -> None:
    path = _variant(tmp_path, "return_temp_c = 42", "return_temp_c = 70")
    text = path.read_text().replace('isolation_valve = "v_hp2"', 'isolation_valve = "v_hp1"')
    text = text.replace("max_temp_c = 20.0", "max_temp_c = 0.5")
    text = text.replace('connection = "plc"\ndevice_id = 2', 'connection = "plc"\ndevice_id = 1')
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_plant(path)
    message = str(caught.value)
    assert f"{path}: invalid plant config (4 problems)" in message
    for expected in (
        "network: return_temp_c 70 is not below supply_temp_min_c 65",
        "source: min_temp_c 1 is not below max_temp_c 0.5",
        "devices 'hp1' and 'hp2' have the same device_id 1 on connection 'plc'",
        "units 'hp1' and 'hp2' share isolation_valve 'v_hp1'",
    ):
        assert expected in message


def test_every_point_map_problem_of_a_plant_is_listed_with_its_device(tmp_path: Path) -> None:
    valve_map = (MAPS / "generic_valve.toml").read_text()
    bad_map = tmp_path / "acme_valve.toml"
    bad_map.write_text(
        valve_map.replace('role = "fault"', 'role = "faults"').replace("max = 100\n", "max = inf\n")
    )
    path = _variant(tmp_path, "../pointmaps/generic_valve.toml", str(bad_map))
    with pytest.raises(ConfigError) as caught:
        load_plant(path)
    lines = str(caught.value).splitlines()
    assert f"device 'v_hp1': {bad_map}: point 'position_cmd_pct' field 'max': Input should be" in (
        "\n".join(lines)
    )
    assert any("device 'v_hp1'" in line and "unknown role 'faults'" in line for line in lines)


def _write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_validate_lists_every_problem_of_every_file_and_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = _write(tmp_path / "binary.toml", b"\x00\x01\xff\xfe")
    directory = tmp_path / "a_directory"
    directory.mkdir()
    neither = _write(tmp_path / "neither.toml", "x = 1\n")
    broken = _write(tmp_path / "broken.toml", "[plant]\nname = 'x'\nbad = \n")
    wrong_types = _write(tmp_path / "wrong_types.toml", "plant = 5\nunits = 'hp1'\n")
    bad_map = _write(
        tmp_path / "bad_map.toml",
        '[device]\nkind = "heat_pump"\nprotocol = "modbus"\n'
        '[[points]]\nname = "a"\nrole = "heat_kww"\ndata_type = "uint16"\ntable = "holding"\n'
        "address = 3\nmax_age_s = inf\nscale = nan\n",
    )
    missing = tmp_path / "missing.toml"
    good = MAPS / "generic_valve.toml"
    files = [binary, directory, neither, broken, wrong_types, bad_map, missing, good]
    assert main(["validate", *map(str, files)]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"ok  {good}: valve point map, 3 points\n"
    err = captured.err
    assert "Traceback" not in err
    assert f"BAD {binary}: not UTF-8 text" in err
    assert f"BAD {directory}: is a directory" in err
    assert f"BAD {neither}: neither a plant file" in err
    assert f"BAD {broken}: not valid TOML: Invalid value (at line 3, column 7)" in err
    assert f"BAD {wrong_types}: invalid plant config (" in err
    assert "  plant: Input should be a valid dictionary" in err
    assert "  units: Input should be a valid list" in err
    assert f"BAD {bad_map}: invalid point map (3 problems)" in err
    assert "  point 'a' field 'role': unknown role 'heat_kww' for a heat_pump" in err
    assert "  point 'a' field 'max_age_s': Input should be a finite number" in err
    assert "  point 'a' field 'scale': Input should be a finite number" in err
    assert f"BAD {missing}: plant file or point map not found" in err


def test_validate_accepts_the_compose_plant(capsys: pytest.CaptureFixture[str]) -> None:
    compose = PLANTS.parent / "compose" / "plant.toml"
    assert main(["validate", str(compose)]) == 0
    assert capsys.readouterr().out.startswith(f"ok  {compose}: plant ")


def test_a_time_zone_longer_than_a_file_name_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """Found by `make chaos`: a 100,000-character time zone raised OSError (file name too long)."""
    text = RIVER.read_text(encoding="utf-8").replace(
        'timezone = "Europe/Copenhagen"', f'timezone = "{"x" * 100_000}"', 1
    )
    path = tmp_path / "plant.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_plant(path)


def test_a_point_map_path_with_a_nul_byte_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """Found by `make chaos`: a NUL byte in `pointmap` raised ValueError in Path.resolve()."""
    text = RIVER.read_text(encoding="utf-8").replace(
        'pointmap = "../pointmaps/generic_large_heat_pump.toml"',
        'pointmap = "../pointmaps/generic\\u0000.toml"',
        1,
    )
    assert "\\u0000" in text
    path = tmp_path / "plant.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="pointmap"):
        load_plant(path)
