"""Merge a map's points into as few Modbus requests as the device allows. Pure functions.

Reads: points of one table whose addresses are at most `max_gap_registers` apart share one
request, as long as the request stays within `max_registers_per_read`; the command (writable)
points are left out unless the map sets `read_commands`: the controller knows what it wrote and
never reads it back. Writes: only strictly
contiguous registers share a request, because writing across a hole would overwrite registers
the map does not declare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.pointmap import ModbusTable, Point, PointMap

BIT_TABLES = (ModbusTable.COIL, ModbusTable.DISCRETE)
MAX_REGISTERS_PER_WRITE = 123  # FC16 limit in the Modbus specification
MAX_COILS_PER_WRITE = 1968  # FC15 limit


def width_of(point: Point) -> int:
    """Registers (or bits, on coil and discrete tables) the point occupies."""
    if point.table in BIT_TABLES:
        return 1
    return point.data_type.register_count


def _address(point: Point) -> int:
    if point.address is None or point.table is None:
        raise ValueError(f"point '{point.name}' has no Modbus address and table")
    return point.address


@dataclass(frozen=True, slots=True)
class BlockPoint:
    """A point inside a block: `offset` registers (or bits) from the block's first address."""

    point: Point
    offset: int
    width: int


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: `count` registers (or bits) of `table` from `address`."""

    table: ModbusTable
    address: int
    count: int
    points: tuple[BlockPoint, ...]


@dataclass(frozen=True, slots=True)
class WriteBlock:
    """One write request: consecutive register values (or coil states) from `address`."""

    table: ModbusTable
    address: int
    values: tuple[int, ...]
    points: tuple[Point, ...]


def plan_reads(point_map: PointMap) -> list[ReadBlock]:
    """The map's polled points merged into read requests, ordered by table then address."""
    options = point_map.modbus
    max_gap = options.max_gap_registers if options else 8
    max_count = options.max_registers_per_read if options else 100
    read_commands = options.read_commands if options else False
    polled = [p for p in point_map.points if read_commands or not p.writable]
    blocks: list[ReadBlock] = []
    for table in ModbusTable:
        points = sorted((p for p in polled if p.table is table), key=_address)
        current: list[Point] = []
        start = end = 0
        for point in points:
            address = _address(point)
            point_end = address + width_of(point)
            if current and address - end <= max_gap and point_end - start <= max_count:
                current.append(point)
                end = max(end, point_end)
                continue
            if current:
                blocks.append(_read_block(table, start, end, current))
            current, start, end = [point], address, point_end
        if current:
            blocks.append(_read_block(table, start, end, current))
    return blocks


def _read_block(table: ModbusTable, start: int, end: int, points: list[Point]) -> ReadBlock:
    members = tuple(BlockPoint(p, _address(p) - start, width_of(p)) for p in points)
    return ReadBlock(table=table, address=start, count=end - start, points=members)


def plan_writes(encoded: Sequence[tuple[Point, list[int]]]) -> list[WriteBlock]:
    """Encoded writes (point, its register values or [0/1] for a coil) merged into requests.

    Only holding registers and coils can be written; anything else raises `ValueError`.
    """
    for point, _ in encoded:
        if point.table not in (ModbusTable.HOLDING, ModbusTable.COIL):
            raise ValueError(f"point '{point.name}' is in the {point.table} table: not writable")
    blocks: list[WriteBlock] = []
    limits = (
        (ModbusTable.HOLDING, MAX_REGISTERS_PER_WRITE),
        (ModbusTable.COIL, MAX_COILS_PER_WRITE),
    )
    for table, limit in limits:
        items = sorted(
            ((p, v) for p, v in encoded if p.table is table), key=lambda i: _address(i[0])
        )
        values: list[int] = []
        points: list[Point] = []
        start = 0
        for point, registers in items:
            address = _address(point)
            if points and address == start + len(values) and len(values) + len(registers) <= limit:
                values.extend(registers)
                points.append(point)
                continue
            if points:
                blocks.append(WriteBlock(table, start, tuple(values), tuple(points)))
            start, values, points = address, list(registers), [point]
        if points:
            blocks.append(WriteBlock(table, start, tuple(values), tuple(points)))
    return blocks
