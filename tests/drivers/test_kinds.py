"""Kinds: a map's roles are checked against its kind, with the file and the point named."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.kinds import KINDS, DeviceKind, Role, StateCode, value_label
from drivers.pointmap import PointMapError, load_point_map

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"
VALVE = (POINTMAPS / "generic_valve.toml").read_text()


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """The generic valve map with one edit, in a file of its own."""
    assert old in VALVE
    path = tmp_path / "vendor_valve.toml"
    path.write_text(VALVE.replace(old, new))
    return path


def refusal(path: Path) -> str:
    with pytest.raises(PointMapError) as error:
        load_point_map(path)
    message = str(error.value)
    assert str(path) in message
    return message


def test_an_unknown_role_names_the_point_the_closest_role_and_the_kinds_roles(
    tmp_path: Path,
) -> None:
    path = variant(tmp_path, 'role = "position_pct"', 'role = "positon_pct"')
    message = refusal(path)
    assert "point 'position_pct' field 'role': unknown role 'positon_pct' for a valve" in message
    assert "did you mean 'position_pct'?" in message
    assert "its roles: fault, position_cmd_pct, position_pct" in message


def test_a_missing_required_role_is_refused(tmp_path: Path) -> None:
    without_feedback = variant(
        tmp_path,
        '[[points]]\nname = "position_pct"\nrole = "position_pct"\ntable = "input"\n'
        'address = 100\ndata_type = "float32"\nunit = "%"\n',
        "",
    )
    assert "a valve map needs role(s): position_pct" in refusal(without_feedback)


def test_a_role_declared_twice_is_refused(tmp_path: Path) -> None:
    path = variant(tmp_path, 'role = "fault"', 'role = "position_pct"')
    assert "point 'fault': role 'position_pct' is already point 'position_pct'" in refusal(path)


def test_a_command_role_declared_read_only_is_refused(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "writable = true\nmin = 0\nmax = 100\nsafe_default = 100\n",
        "",
    )
    message = refusal(path)
    assert "point 'position_cmd_pct': role 'position_cmd_pct' is a command of a valve" in message
    assert "must be writable" in message


def test_a_measurement_declared_writable_is_refused(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        'role = "fault"\ntable = "input"',
        'role = "fault"\ntable = "holding"\nwritable = true\nmin = 0\nmax = 1\nsafe_default = 0',
    )
    assert "point 'fault': role 'fault' of a valve is read-only" in refusal(path)


def test_indexed_roles_need_an_index_and_others_take_none(tmp_path: Path) -> None:
    path = variant(tmp_path, 'role = "fault"', 'role = "fault"\nindex = 1')
    assert "point 'fault': role 'fault' takes no 'index'" in refusal(path)


def test_every_kind_is_consistent() -> None:
    assert set(KINDS) == set(DeviceKind)
    for kind, spec in KINDS.items():
        assert spec.kind is kind
        assert spec.writable <= spec.roles
        assert spec.indexed <= spec.roles
        assert not spec.required & spec.optional


def test_every_shipped_map_names_a_kind_and_uses_only_its_roles() -> None:
    for path in sorted(POINTMAPS.glob("*.toml")):
        point_map = load_point_map(path)
        spec = KINDS[point_map.device.kind]
        roles = {point.role for point in point_map.points}
        assert spec.required <= roles, path
        assert roles <= spec.roles, path


def test_named_values_come_from_the_state_enum() -> None:
    assert value_label(Role.STATE_CODE, "running") == StateCode.RUNNING
    assert value_label(Role.STATE_CODE, "TRIPPED") == StateCode.TRIPPED
    with pytest.raises(ValueError, match=r"'runing' is not a value of role 'state_code'"):
        value_label(Role.STATE_CODE, "runing")
    with pytest.raises(ValueError, match="role 'heat_kw' has no named values"):
        value_label(Role.HEAT_KW, "high")
