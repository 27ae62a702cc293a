"""Point-map validation: errors name the file and the point; every shipped map loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.pointmap import PointMapError, load_point_map

MAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"

HEADER = """
[device]
kind = "heat_pump"
protocol = "modbus"
"""


def write_map(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "vendor_x.toml"
    path.write_text(HEADER + body)
    return path


def test_bad_writable_range_names_file_and_point(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        """
[[points]]
name = "heat_setpoint_kw"
role = "heat_setpoint_kw"
table = "holding"
address = 4
data_type = "float32"
writable = true
min = 100
max = 10
safe_default = 50
""",
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    message = str(error.value)
    assert str(path) in message
    assert "point 'heat_setpoint_kw'" in message
    assert "min 100.0 is above max 10.0" in message


def test_safe_default_outside_range_is_refused(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        """
[[points]]
name = "enable_cmd"
role = "enable_cmd"
table = "holding"
address = 2
data_type = "uint16"
writable = true
min = 0
max = 1
safe_default = 3
""",
    )
    with pytest.raises(PointMapError, match=r"point 'enable_cmd'.*safe_default 3\.0 is outside"):
        load_point_map(path)


def test_overlapping_registers_name_both_points(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        """
[[points]]
name = "heat_kw"
role = "heat_kw"
table = "input"
address = 104
data_type = "float32"

[[points]]
name = "power_kw"
role = "power_kw"
table = "input"
address = 105
data_type = "float32"
""",
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    message = str(error.value)
    assert str(path) in message
    assert "point 'power_kw' overlaps point 'heat_kw' at input address 105" in message


def test_missing_address_names_the_point(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        """
[[points]]
name = "state_code"
role = "state_code"
table = "input"
data_type = "uint16"
""",
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    assert str(path) in str(error.value)
    assert "point 'state_code': a Modbus point needs 'address' and 'table'" in str(error.value)


def test_writable_input_register_is_refused(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        """
[[points]]
name = "heat_kw"
role = "heat_kw"
table = "input"
address = 0
data_type = "float32"
writable = true
min = 0
max = 1
safe_default = 0
""",
    )
    with pytest.raises(PointMapError, match="point 'heat_kw': input registers cannot be written"):
        load_point_map(path)


def test_every_shipped_map_loads() -> None:
    paths = sorted(POINTMAPS.glob("*.toml"))
    assert paths
    for path in paths:
        assert load_point_map(path).points


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (
            'data_type = "uint16"\naddress = 4\nwritable = true\nmin = -5\nmax = 100000\n'
            "safe_default = 0",
            "write limit -5 is raw -5, outside a uint16 [0, 65535]",
        ),
        (
            'data_type = "int16"\naddress = 4\nwritable = true\nscale = 0.1\nmin = 0\n'
            "max = 5000\nsafe_default = 0",
            "write limit 5000 is raw 50000, outside a int16 [-32768, 32767]",
        ),
        (
            'data_type = "float32"\naddress = 65535\nwritable = true\nmin = 0\nmax = 10\n'
            "safe_default = 0",
            "address 65535 + 2 register(s) of a float32 runs past the register space",
        ),
        (
            'data_type = "float32"\naddress = 4\nwritable = true\nmin = -inf\nmax = 10\n'
            "safe_default = 0",
            "Input should be a finite number",
        ),
        ('data_type = "float32"\naddress = 4\nscale = nan', "Input should be a finite number"),
        ('data_type = "float32"\naddress = 4\nmax_age_s = inf', "Input should be a finite number"),
    ],
)
def test_values_outside_the_data_type_or_not_finite_are_refused(
    tmp_path: Path, point: str, expected: str
) -> None:
    path = write_map(
        tmp_path,
        f'\n[[points]]\nname = "heat_setpoint_kw"\nrole = "heat_setpoint_kw"\n'
        f'table = "holding"\n{point}\n',
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    assert "point 'heat_setpoint_kw'" in str(error.value)
    assert expected in str(error.value)


def test_lookups_by_name_and_role_follow_the_points() -> None:
    """Point maps index their points once; a copy with other points is indexed anew, and a
    list handed out cannot change the map."""
    heat_pump = load_point_map(POINTMAPS / "generic_large_heat_pump.toml")
    assert heat_pump.point("heat_kw").address == 104
    with pytest.raises(KeyError, match="no point named 'nope'"):
        heat_pump.point("nope")
    found = heat_pump.by_role("heat_kw")
    found.clear()
    assert [p.name for p in heat_pump.by_role("heat_kw")] == ["heat_kw"]
    assert heat_pump.role_points("no_such_role") == ()
    renamed = [p.model_copy(update={"name": f"x_{p.name}"}) for p in heat_pump.points]
    copy = heat_pump.model_copy(update={"points": renamed})
    assert copy.point("x_heat_kw").address == 104
    assert [p.name for p in copy.by_role("heat_kw")] == ["x_heat_kw"]
    tank = load_point_map(POINTMAPS / "generic_tank_8_layers.toml")
    assert [p.index for p in tank.role_points("layer_temp_c")] == list(range(1, 9))


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (
            'data_type = "float32"\naddress = 4\nwritable = true\nmin = 0\nmax = 1e39\n'
            "safe_default = 0",
            "Input should be less than or equal to 1000000000000",
        ),
        (
            'data_type = "float32"\naddress = 4\nwritable = true\nscale = 1e-30\nmin = 0\n'
            "max = 1e10\nsafe_default = 0",
            "write limit 1e+10 is raw 1e+40, outside a float32",
        ),
        (
            'data_type = "float32"\naddress = 4\nwritable = true\nmin = -inf\nmax = inf\n'
            "safe_default = 0",
            "point 'heat_setpoint_kw' field 'min': Input should be a finite number",
        ),
        ('data_type = "float32"\naddress = 4\noffset = inf', "Input should be a finite number"),
        (
            'data_type = "float32"\naddress = 4\nmax_age_s = 1e308',
            "field 'max_age_s': Input should be less than or equal to 3600",
        ),
        (
            'data_type = "uint16"\naddress = 4\nwritable = 1\nmin = 0\nmax = 1\nsafe_default = 0',
            "field 'writable': 1 is a number, not a boolean",
        ),
        (
            'data_type = "uint16"\naddress = "4"\nwritable = true\nmin = 0\nmax = 1\n'
            "safe_default = 0",
            "field 'address': '4' is a string, not a whole number",
        ),
    ],
)
def test_numbers_that_break_a_write_or_the_staleness_are_refused(
    tmp_path: Path, point: str, expected: str
) -> None:
    path = write_map(
        tmp_path,
        f'\n[[points]]\nname = "heat_setpoint_kw"\nrole = "heat_setpoint_kw"\n'
        f'table = "holding"\n{point}\n',
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    assert "point 'heat_setpoint_kw'" in str(error.value)
    assert expected in str(error.value)


def test_a_read_only_range_must_fit_the_data_type(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        '\n[[points]]\nname = "heat_kw"\nrole = "heat_kw"\ntable = "input"\naddress = 100\n'
        'data_type = "uint16"\nmin = -5\nmax = 100000\n',
    )
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    message = str(error.value)
    assert "point 'heat_kw': limit -5 is raw -5, outside a uint16 [0, 65535]" in message
    assert "point 'heat_kw': limit 100000 is raw 100000, outside a uint16 [0, 65535]" in message


def test_a_non_finite_value_map_entry_is_refused(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        '\n[[points]]\nname = "state"\nrole = "state_code"\ntable = "input"\naddress = 100\n'
        'data_type = "uint16"\nvalue_map = { 1 = nan }\n',
    )
    with pytest.raises(PointMapError, match="Input should be a finite number"):
        load_point_map(path)


def _generic(name: str) -> str:
    return (POINTMAPS / name).read_text()


def _without_point(text: str, name: str) -> str:
    start = text.index(f'[[points]]\nname = "{name}"')
    end = text.find("[[points]]", start + 1)
    return text[:start] + (text[end:] if end >= 0 else "")


@pytest.mark.parametrize(
    ("map_file", "role", "kind"),
    [
        ("generic_large_heat_pump.toml", "heartbeat", "heat_pump"),
        ("generic_large_heat_pump.toml", "enable_cmd", "heat_pump"),
        ("generic_large_heat_pump.toml", "heat_kw", "heat_pump"),
        ("generic_boiler.toml", "heartbeat", "boiler"),
    ],
)
def test_a_map_without_a_role_its_kind_requires_is_refused(
    tmp_path: Path, map_file: str, role: str, kind: str
) -> None:
    path = tmp_path / map_file
    path.write_text(_without_point(_generic(map_file), role))
    with pytest.raises(PointMapError, match=f"a {kind} map needs role\\(s\\): {role}"):
        load_point_map(path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "index = 8",
            "index = 7",
            "point 'layer_8_temp_c': role 'layer_temp_c' is already point 'layer_7_temp_c'",
        ),
        ("index = 8", "index = 9", "role 'layer_temp_c' needs indexes 1..8 once each"),
        ("index = 1\n", "index = 0\n", "field 'index': Input should be greater than or equal"),
    ],
)
def test_tank_layer_indexes_count_one_to_n_once_each(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = _generic("generic_tank_8_layers.toml")
    assert old in text
    path = tmp_path / "tank.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    assert expected in str(error.value)


def test_every_problem_of_a_map_is_listed(tmp_path: Path) -> None:
    text = _generic("generic_valve.toml").replace('role = "fault"', 'role = "faults"')
    text = text.replace("max = 100\n", "max = 100\nmax_age_s = inf\n")
    path = tmp_path / "valve.toml"
    path.write_text(text)
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path}: invalid point map (2 problems)"
    assert "point 'position_cmd_pct' field 'max_age_s': Input should be a finite number" in (
        lines[1] + lines[2]
    )
    assert "point 'fault' field 'role': unknown role 'faults'" in lines[1] + lines[2]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x = " + "9" * 5000 + "\n", "digits"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
    ids=["5000-digit integer", "nested 5000 deep"],
)
def test_a_map_python_cannot_convert_is_refused_with_its_name(
    tmp_path: Path, text: str, reason: str
) -> None:
    """Found by `make chaos`: tomllib's ValueError and RecursionError escaped as tracebacks."""
    path = tmp_path / "map.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PointMapError, match=reason):
        load_point_map(path)


def test_a_limit_its_unit_cannot_mean_is_refused(tmp_path: Path) -> None:
    """Found by `make chaos`: a boiler's kW point with min -250,496,486 was accepted."""
    source = (MAPS / "generic_boiler.toml").read_text(encoding="utf-8")
    path = tmp_path / "boiler.toml"
    heat = source.index('unit = "kW"', source.index('name = "heat_kw"'))
    path.write_text(source[:heat] + "min = -250496486\n" + source[heat:], encoding="utf-8")
    with pytest.raises(PointMapError, match=r"min -2\.50496e\+08 kW is outside 0\.\.1e\+07 kW"):
        load_point_map(path)
