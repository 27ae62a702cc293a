"""Register merging: gaps, block size limit, tables never mixed; contiguous write blocks."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from drivers.kinds import Role
from drivers.modbus_blocks import plan_reads, plan_writes
from drivers.pointmap import ModbusTable, PointMap, load_point_map, parse_point_map

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"


def modbus_map(points: list[dict[str, Any]], kind: str = "tank", **options: Any) -> PointMap:
    """A map of these points; points without a role are the tank's layers, in order."""
    layers = [
        {"role": Role.LAYER_TEMP_C, "index": i, **point} if "role" not in point else point
        for i, point in enumerate(points, start=1)
    ]
    return parse_point_map(
        {"device": {"kind": kind, "protocol": "modbus"}, "modbus": options, "points": layers}
    )


def reg(name: str, address: int, table: str = "input", data_type: str = "uint16") -> dict[str, Any]:
    return {"name": name, "table": table, "address": address, "data_type": data_type}


def command(name: str, role: Role, address: int, table: str, **extra: Any) -> dict[str, Any]:
    data_type = "bool" if table == "coil" else "uint16"
    writable = {"writable": True, "min": 0, "max": 1, "safe_default": 0}
    return {**reg(name, address, table, data_type), "role": role, **writable, **extra}


def spans(point_map: PointMap) -> list[tuple[str, int, int]]:
    return [(b.table.value, b.address, b.count) for b in plan_reads(point_map)]


def test_gap_within_limit_is_read_across() -> None:
    point_map = modbus_map([reg("a", 0), reg("b", 5, data_type="float32")], max_gap_registers=4)
    assert spans(point_map) == [("input", 0, 7)]
    (block,) = plan_reads(point_map)
    assert [(m.point.name, m.offset, m.width) for m in block.points] == [("a", 0, 1), ("b", 5, 2)]


def test_gap_above_limit_splits() -> None:
    point_map = modbus_map([reg("a", 0), reg("b", 6)], max_gap_registers=4)
    assert spans(point_map) == [("input", 0, 1), ("input", 6, 1)]


def test_zero_gap_merges_only_adjacent_registers() -> None:
    point_map = modbus_map([reg("a", 0), reg("b", 1), reg("c", 3)], max_gap_registers=0)
    assert spans(point_map) == [("input", 0, 2), ("input", 3, 1)]


def test_block_never_exceeds_max_registers_per_read() -> None:
    points = [reg(f"p{i}", i * 2, data_type="float32") for i in range(30)]  # 60 registers
    point_map = modbus_map(points, max_registers_per_read=25, max_gap_registers=8)
    blocks = plan_reads(point_map)
    assert all(b.count <= 25 for b in blocks)
    assert [b.count for b in blocks] == [24, 24, 12]  # a float32 is never split
    covered = sorted(m.point.name for b in blocks for m in b.points)
    assert covered == sorted(p["name"] for p in points)


def test_tables_are_never_mixed() -> None:
    point_map = modbus_map(
        [
            reg("h", 0, table="holding"),
            reg("i", 1),
            reg("c", 2, "coil", "bool"),
            reg("d", 3, "discrete", "bool"),
        ]
    )
    assert spans(point_map) == [
        ("holding", 0, 1),
        ("input", 1, 1),
        ("coil", 2, 1),
        ("discrete", 3, 1),
    ]


def test_generic_heat_pump_is_one_request_its_commands_are_not_read_back() -> None:
    heat_pump = load_point_map(POINTMAPS / "generic_large_heat_pump.toml")
    assert spans(heat_pump) == [("input", 100, 22)]
    data = tomllib.loads((POINTMAPS / "generic_large_heat_pump.toml").read_text())
    data["modbus"]["read_commands"] = True
    read_back = parse_point_map(data)
    assert spans(read_back) == [("holding", 0, 8), ("input", 100, 22)]


def test_commands_among_measurements_are_left_out_of_the_reads() -> None:
    points = [
        command("remote", Role.REMOTE_REQUEST, 0, "holding"),
        reg("state", 1, "holding"),
        command("enable", Role.ENABLE_CMD, 2, "holding"),
        reg("heat", 3, "holding", "float32") | {"role": Role.HEAT_KW},
        command("setpoint", Role.HEAT_SETPOINT_KW, 5, "holding") | {"max": 60000},
        command("beat", Role.HEARTBEAT, 7, "holding"),
    ]
    point_map = modbus_map(
        [p | {"role": Role.STATE_CODE} if p["name"] == "state" else p for p in points],
        kind="boiler",
    )
    assert spans(point_map) == [("holding", 1, 4)]  # state and heat, across the enable
    (block,) = plan_reads(point_map)
    assert [m.point.name for m in block.points] == ["state", "heat"]


def test_writes_merge_only_contiguous_registers() -> None:
    heat_pump = load_point_map(POINTMAPS / "generic_large_heat_pump.toml")
    names = [
        "heartbeat",
        "remote_request",
        "enable_cmd",
        "heat_setpoint_kw",
        "supply_temp_setpoint_c",
    ]
    encoded = [
        (heat_pump.point(n), [i] * heat_pump.point(n).data_type.register_count)
        for i, n in enumerate(names)
    ]
    blocks = plan_writes(encoded)
    # address 3 is a hole: writing across it would clobber an undeclared register
    assert [(b.address, b.values) for b in blocks] == [(0, (0, 1, 2)), (4, (3, 3, 4, 4))]
    assert all(b.table is ModbusTable.HOLDING for b in blocks)


def test_coil_writes_merge_separately_from_registers() -> None:
    point_map = modbus_map(
        [
            command("c0", Role.REMOTE_REQUEST, 0, "coil"),
            command("c1", Role.ENABLE_CMD, 1, "coil"),
            command("h1", Role.HEAT_SETPOINT_KW, 1, "holding", max=9),
            command("beat", Role.HEARTBEAT, 5, "holding"),
            {**reg("state", 10), "role": Role.STATE_CODE},
            {**reg("heat", 11), "role": Role.HEAT_KW},
        ],
        kind="heat_pump",
    )
    encoded = [
        (point_map.point("c1"), [1]),
        (point_map.point("h1"), [5]),
        (point_map.point("c0"), [0]),
    ]
    blocks = plan_writes(encoded)
    assert [(b.table, b.address, b.values) for b in blocks] == [
        (ModbusTable.HOLDING, 1, (5,)),
        (ModbusTable.COIL, 0, (0, 1)),
    ]
