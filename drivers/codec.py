"""A point's engineering value to and from Modbus registers or bits.

The register conversion is pymodbus's (`convert_from_registers` / `convert_to_registers`, with
the word order the map declares); the hot paths, a poll's block decoder and the encoder of
writes and simulator syncs, do the same with struct formats prepared once, and property tests
hold them to pymodbus's conversion for every type and word order. This module adds the map's
scale and offset (engineering = raw * scale + offset), the integer rounding, and the range
checks that keep a value that does not fit its type from being silently wrapped or truncated
on the wire.

A point with a `value_map` translates vendor codes to the role's values instead of scaling; a
code the map does not list decodes to None (the point reads BAD, never a guessed state). A
bit field is cut out of its register's unsigned value before either. The simulator encodes
through the same functions, so what it serves is what a driver reads back.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Literal

from pymodbus.client import ModbusTcpClient

from drivers.errors import WriteRefused
from drivers.pointmap import INTEGER_RANGES as INTEGER_RANGES
from drivers.pointmap import DataType, Point, PointMap

WordOrder = Literal["big", "little"]

_PYMODBUS_TYPES = {
    DataType.INT16: ModbusTcpClient.DATATYPE.INT16,
    DataType.UINT16: ModbusTcpClient.DATATYPE.UINT16,
    DataType.INT32: ModbusTcpClient.DATATYPE.INT32,
    DataType.UINT32: ModbusTcpClient.DATATYPE.UINT32,
    DataType.FLOAT32: ModbusTcpClient.DATATYPE.FLOAT32,
    DataType.FLOAT64: ModbusTcpClient.DATATYPE.FLOAT64,
}

FLOAT32_MAX = 3.4028234663852886e38


class EncodeError(ValueError):
    """The value cannot be represented in the point's data type (NaN, out of range)."""


def to_engineering(point: Point, raw: float) -> float | None:
    """Raw device value (a whole register's value for a bit field) to engineering units.

    None when the point has a value map that does not list the code."""
    if point.bit is not None:
        raw = float(extract_field(point, int(raw)))
    if point.value_map is not None:
        return point.value_map.get(int(raw)) if float(raw).is_integer() else None
    return raw * point.scale + point.offset


def extract_field(point: Point, register_value: int) -> int:
    """The point's bits of an unsigned register value (the value itself if not a bit field)."""
    if point.bit is None:
        return register_value
    return (register_value >> point.bit) & ((1 << (point.bit_width or 1)) - 1)


def insert_field(point: Point, register_value: int, field: int) -> int:
    """`register_value` with the point's bits replaced by `field` (other bits untouched)."""
    if point.bit is None:
        return field
    mask = ((1 << (point.bit_width or 1)) - 1) << point.bit
    return (register_value & ~mask) | ((field << point.bit) & mask)


def code_of(point: Point, value: float) -> int | None:
    """The vendor code of a role value (the lowest when several codes mean it), None if none."""
    codes = [code for code, mapped in (point.value_map or {}).items() if mapped == value]
    return min(codes) if codes else None


def to_raw(point: Point, value: float) -> float | int:
    """Engineering value to the raw value the device stores; integers are rounded, range-checked.

    Raises `EncodeError` for NaN or infinity, for values outside the data type's range and for
    a value its value map has no code for.
    """
    if not math.isfinite(value):
        raise EncodeError(f"{value} is not a finite number")
    if point.value_map is not None:
        code = code_of(point, value)
        if code is None:
            raise EncodeError(f"{value:g} has no code in the point's value_map")
        return code
    raw = (value - point.offset) / point.scale
    limits = INTEGER_RANGES.get(point.data_type)
    if limits is not None:
        rounded = round(raw)
        low, high = limits
        if not low <= rounded <= high:
            raise EncodeError(
                f"{value} is raw {rounded}, outside {point.data_type.value} range [{low}, {high}]"
            )
        return rounded
    if point.data_type is DataType.FLOAT32 and abs(raw) > FLOAT32_MAX:
        raise EncodeError(f"{value} does not fit a float32")
    if not math.isfinite(raw):
        raise EncodeError(f"{value} overflows after scale and offset")
    return raw


def decode_registers(point: Point, registers: Sequence[int], word_order: WordOrder) -> float | None:
    """Registers (exactly the point's width) to an engineering value; NaN passes through.

    None for a code the point's value map does not list."""
    if len(registers) != point.data_type.register_count:
        raise ValueError(
            f"point '{point.name}' needs {point.data_type.register_count} registers, "
            f"got {len(registers)}"
        )
    if point.data_type is DataType.BOOL:
        return to_engineering(point, 1.0 if registers[0] else 0.0)
    raw = ModbusTcpClient.convert_from_registers(
        list(registers), _PYMODBUS_TYPES[point.data_type], word_order=word_order
    )
    if not isinstance(raw, int | float):
        raise TypeError(f"pymodbus decoded {raw!r} for a scalar {point.data_type.value}")
    return to_engineering(point, float(raw))


_STRUCT_FORMATS = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.FLOAT32: ">f",
    DataType.FLOAT64: ">d",
}

Decoded = list[tuple[str, float | None]]


def block_decoder(
    count: int, members: Sequence[tuple[Point, int, WordOrder]]
) -> Callable[[Sequence[int]], Decoded]:
    """A decoder for one read request's `count` registers: each member point (at its register
    offset, in its word order) to its engineering value, as `decode_registers` gives it.

    The hot path of every poll: the request's registers are packed into bytes once and each
    point is unpacked at its offset with a format prepared here, instead of a pymodbus
    conversion per point. Low word first ("little") reads the request's registers in reverse,
    where a point's words come high word first. Tests hold it to `decode_registers` (pymodbus's
    codec) for every type and word order."""
    whole = struct.Struct(f">{count}H")
    plan: list[tuple[str, Point, struct.Struct | None, int, bool]] = []
    for point, offset, word_order in members:
        width = point.data_type.register_count
        if offset < 0 or offset + width > count:
            raise ValueError(f"point '{point.name}' lies outside the {count} registers")
        if point.data_type is DataType.BOOL:
            plan.append((point.name, point, None, offset, False))
            continue
        reverse = word_order == "little" and width > 1
        start = count - offset - width if reverse else offset
        fmt = struct.Struct(_STRUCT_FORMATS[point.data_type])
        plan.append((point.name, point, fmt, 2 * start, reverse))
    any_reversed = any(item[4] for item in plan)

    def decode(registers: Sequence[int]) -> Decoded:
        forward = whole.pack(*registers)
        backward = whole.pack(*reversed(registers)) if any_reversed else forward
        out: Decoded = []
        for name, point, fmt, at, reverse in plan:
            if fmt is None:
                out.append((name, to_engineering(point, 1.0 if registers[at] else 0.0)))
                continue
            raw = fmt.unpack_from(backward if reverse else forward, at)[0]
            out.append((name, to_engineering(point, float(raw))))
        return out

    return decode


@cache
def raw_encoder(data_type: DataType, word_order: WordOrder) -> Callable[[float], list[int]]:
    """Raw value (already in range: `to_raw`'s result) to registers, as pymodbus's
    `convert_to_registers` gives them, with the format prepared once: every write and every
    simulator sync encodes. Tests hold it to pymodbus's conversion."""
    if data_type is DataType.BOOL:
        return lambda raw: [int(raw)]
    value = struct.Struct(_STRUCT_FORMATS[data_type])
    words = struct.Struct(f">{data_type.register_count}H")
    if word_order == "little" and data_type.register_count > 1:
        return lambda raw: list(reversed(words.unpack(value.pack(raw))))
    return lambda raw: list(words.unpack(value.pack(raw)))


def encode_registers(point: Point, value: float, word_order: WordOrder) -> list[int]:
    """An engineering value to the point's registers; raises `EncodeError` if it does not fit."""
    return raw_encoder(point.data_type, word_order)(to_raw(point, value))


def decode_bit(point: Point, bit: bool) -> float | None:
    """A coil or discrete input to an engineering value (0.0 / 1.0, after scale and offset)."""
    return to_engineering(point, 1.0 if bit else 0.0)


def encode_bit(point: Point, value: float) -> bool:
    """An engineering value to a coil state; only values that map to raw 0 or 1 are accepted."""
    return bool(to_raw(point, value))


def check_write(device: str, point_map: PointMap, values: Mapping[str, float]) -> list[Point]:
    """Validate a whole write before any of it reaches the wire; the points in request order.

    Raises `WriteRefused` naming the device, point, value and reason for the first point that is
    undeclared, not writable, not finite, outside [min, max] or not representable in its type.
    """
    checked: list[Point] = []
    for name, value in values.items():
        try:
            point = point_map.point(name)
        except KeyError:
            raise WriteRefused(device, name, value, "the point map does not declare it") from None
        if not point.writable:
            raise WriteRefused(device, name, value, "the point is not writable")
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise WriteRefused(device, name, value, "not a finite number")
        low, high = point.min, point.max
        if low is None or high is None or not low <= value <= high:
            raise WriteRefused(device, name, value, f"outside the allowed range [{low}, {high}]")
        try:
            to_raw(point, value)
        except EncodeError as exc:
            raise WriteRefused(device, name, value, str(exc)) from None
        checked.append(point)
    return checked
