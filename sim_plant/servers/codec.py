"""Engineering values to and from a point's raw representation, as a device would store them.

Raw = (engineering - offset) / scale. Integer types are rounded and saturate at their range, as a
PLC's conversion block does, so a model value outside the type never wraps around.

A point with a value map serves the vendor's code for the model's value (through the drivers'
own `code_of`, so server and driver agree); a value the map has no code for is served as its
own number, which a driver then reads as an unknown code (BAD), as it would from a device that
cannot express that state. A bit field is saturated to its width; `modbus_server` places it
in its register.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pymodbus.client.mixin import ModbusClientMixin

from drivers.codec import code_of, insert_field, raw_encoder, to_engineering
from drivers.pointmap import INTEGER_RANGES, DataType, Point

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


def to_raw(point: Point, value: float) -> float | int | bool:
    """The raw value a device holds for an engineering value (ints rounded and saturated)."""
    code = code_of(point, value) if point.value_map is not None else None
    raw = float(code) if code is not None else (value - point.offset) / point.scale
    if point.data_type in (DataType.FLOAT32, DataType.FLOAT64):
        return raw
    width = point.bit_width
    low, high = (0, 2**width - 1) if width is not None else INTEGER_RANGES[point.data_type]
    whole = min(max(round(raw), low), high) if math.isfinite(raw) else 0
    return bool(whole) if point.data_type is DataType.BOOL else whole


def from_raw(point: Point, raw: float) -> float:
    """The engineering value of a raw device value; NaN for a code its value map does not list
    (a write of it is then out of range)."""
    value = to_engineering(point, raw)
    return math.nan if value is None else value


def encode_registers(
    point: Point,
    value: float,
    word_order: Literal["big", "little"],
    current: Sequence[int] = (),
) -> list[int]:
    """The registers a Modbus device serves for `value` (the drivers' encoder, held to
    pymodbus's conversion by the tests).

    A bit field needs the register's `current` words: only its own bits change."""
    raw = to_raw(point, value)
    if point.bit is not None:
        if len(current) != point.data_type.register_count:
            raise ValueError(f"point '{point.name}': a bit field needs its register's words")
        data_type = _MODBUS_TYPES[point.data_type]
        whole = ModbusClientMixin.convert_from_registers(list(current), data_type, word_order)
        if not isinstance(whole, int):
            raise TypeError(f"point '{point.name}': its register did not decode to an integer")
        raw = insert_field(point, whole, int(raw))
    return raw_encoder(point.data_type, word_order)(int(raw) if isinstance(raw, bool) else raw)


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
