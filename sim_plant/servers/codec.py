"""Engineering values to and from a point's raw representation, as a device would store them.

Raw = (engineering - offset) / scale. Integer types are rounded and saturate at their range, as a
PLC's conversion block does, so a model value outside the type never wraps around.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pymodbus.client.mixin import ModbusClientMixin

from drivers.pointmap import DataType, Point

_DATATYPE = ModbusClientMixin.DATATYPE
_MODBUS_TYPES: dict[DataType, ModbusClientMixin.DATATYPE] = {
    DataType.BOOL: _DATATYPE.UINT16,  # a bool in a register table is a 0/1 word
    DataType.INT16: _DATATYPE.INT16,
    DataType.UINT16: _DATATYPE.UINT16,
    DataType.INT32: _DATATYPE.INT32,
    DataType.UINT32: _DATATYPE.UINT32,
    DataType.FLOAT32: _DATATYPE.FLOAT32,
    DataType.FLOAT64: _DATATYPE.FLOAT64,
}
_INTEGER_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.BOOL: (0, 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


def to_raw(point: Point, value: float) -> float | int | bool:
    """The raw value a device holds for an engineering value (ints rounded and saturated)."""
    raw = (value - point.offset) / point.scale
    if point.data_type in (DataType.FLOAT32, DataType.FLOAT64):
        return raw
    low, high = _INTEGER_RANGES[point.data_type]
    whole = min(max(round(raw), low), high) if math.isfinite(raw) else 0
    return bool(whole) if point.data_type is DataType.BOOL else whole


def from_raw(point: Point, raw: float) -> float:
    """The engineering value of a raw device value."""
    return float(raw) * point.scale + point.offset


def encode_registers(point: Point, value: float, word_order: Literal["big", "little"]) -> list[int]:
    """The registers a Modbus device serves for `value` (pymodbus's own codec)."""
    raw = to_raw(point, value)
    return ModbusClientMixin.convert_to_registers(
        int(raw) if isinstance(raw, bool) else raw, _MODBUS_TYPES[point.data_type], word_order
    )


def decode_registers(
    point: Point, registers: Sequence[int], word_order: Literal["big", "little"]
) -> float:
    """The engineering value of registers written by a client."""
    raw = ModbusClientMixin.convert_from_registers(
        list(registers), _MODBUS_TYPES[point.data_type], word_order
    )
    if not isinstance(raw, int | float):
        raise TypeError(f"point '{point.name}': registers did not decode to a number")
    return from_raw(point, raw)
