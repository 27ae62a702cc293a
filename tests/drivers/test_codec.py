"""Codec round trips for every data type and both word orders; scale/offset; refusals."""

from __future__ import annotations

import math
import struct
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.client import ModbusTcpClient

from drivers.codec import (
    INTEGER_RANGES,
    EncodeError,
    block_decoder,
    decode_bit,
    decode_registers,
    encode_bit,
    encode_registers,
    raw_encoder,
    to_raw,
)
from drivers.pointmap import DataType, Point

WORD_ORDERS: tuple[Literal["big", "little"], ...] = ("big", "little")


def point(data_type: DataType, scale: float = 1.0, offset: float = 0.0) -> Point:
    return Point(name="p", role="p", data_type=data_type, scale=scale, offset=offset)


@pytest.mark.parametrize("word_order", WORD_ORDERS)
@pytest.mark.parametrize(
    "data_type", [DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32]
)
@given(data=st.data())
def test_integer_round_trip(
    data_type: DataType, word_order: Literal["big", "little"], data: st.DataObject
) -> None:
    low, high = INTEGER_RANGES[data_type]
    value = data.draw(st.integers(low, high))
    registers = encode_registers(point(data_type), value, word_order)
    assert len(registers) == data_type.register_count
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode_registers(point(data_type), registers, word_order) == value


@pytest.mark.parametrize("word_order", WORD_ORDERS)
@given(value=st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float32_round_trip(word_order: Literal["big", "little"], value: float) -> None:
    registers = encode_registers(point(DataType.FLOAT32), value, word_order)
    assert decode_registers(point(DataType.FLOAT32), registers, word_order) == value


@pytest.mark.parametrize("word_order", WORD_ORDERS)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_float64_round_trip(word_order: Literal["big", "little"], value: float) -> None:
    registers = encode_registers(point(DataType.FLOAT64), value, word_order)
    assert len(registers) == 4
    assert decode_registers(point(DataType.FLOAT64), registers, word_order) == value


def test_word_order_is_the_order_of_16_bit_words() -> None:
    high, low = struct.unpack(">HH", struct.pack(">f", 1234.5))
    assert encode_registers(point(DataType.FLOAT32), 1234.5, "big") == [high, low]
    assert encode_registers(point(DataType.FLOAT32), 1234.5, "little") == [low, high]
    assert decode_registers(point(DataType.FLOAT32), [low, high], "little") == 1234.5


@given(
    raw=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.01, 0.1, 10.0]),
    offset=st.sampled_from([0.0, -40.0, 273.15]),
)
def test_scale_and_offset_round_trip(raw: int, scale: float, offset: float) -> None:
    p = point(DataType.UINT32, scale=scale, offset=offset)
    value = decode_registers(p, encode_registers(point(DataType.UINT32), raw, "big"), "big")
    assert value == pytest.approx(raw * scale + offset)
    assert decode_registers(p, encode_registers(p, value, "big"), "big") == pytest.approx(value)


def test_scaled_value_is_rounded_to_the_nearest_raw_count() -> None:
    run_hours = point(DataType.UINT32, scale=0.01)
    assert to_raw(run_hours, 123.456) == 12346


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused(value: float) -> None:
    for data_type in DataType:
        with pytest.raises(EncodeError):
            encode_registers(point(data_type), value, "big")


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.INT16, 32768),
        (DataType.INT16, -32769),
        (DataType.UINT16, -1),
        (DataType.UINT16, 65536),
        (DataType.INT32, 2**31),
        (DataType.UINT32, -0.6),
        (DataType.FLOAT32, 1e39),
        (DataType.BOOL, 2),
    ],
)
def test_values_that_do_not_fit_the_type_are_refused(data_type: DataType, value: float) -> None:
    with pytest.raises(EncodeError, match=r"range|fit"):
        encode_registers(point(data_type), value, "big")


def test_scale_can_push_a_value_out_of_range() -> None:
    tenths = point(DataType.INT16, scale=0.1)
    assert encode_registers(tenths, 3276.7, "big") == [32767]
    with pytest.raises(EncodeError):
        encode_registers(tenths, 3276.8, "big")


def test_nan_in_registers_decodes_to_nan_for_the_cache_to_reject() -> None:
    assert math.isnan(decode_registers(point(DataType.FLOAT32), [0x7FC0, 0], "big"))


def test_bool_points_on_registers_and_coils() -> None:
    flag = point(DataType.BOOL)
    assert encode_registers(flag, 1, "big") == [1]
    assert decode_registers(flag, [1], "big") == 1.0
    assert decode_registers(flag, [7], "big") == 1.0
    assert encode_bit(flag, 1.0) is True
    assert encode_bit(flag, 0.0) is False
    assert decode_bit(flag, True) == 1.0


def test_wrong_register_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_registers(point(DataType.FLOAT32), [1], "big")


_LAYOUT_POINTS = [
    point(DataType.INT16),
    point(DataType.UINT16, scale=0.1, offset=-40.0),
    point(DataType.INT32),
    point(DataType.UINT32, scale=0.01),
    point(DataType.FLOAT32),
    point(DataType.FLOAT64, scale=2.0),
    point(DataType.BOOL),
    Point(name="p", role="p", data_type=DataType.UINT16, value_map={0: 0.0, 1: 2.0, 16: 4.0}),
    Point(name="p", role="p", data_type=DataType.UINT16, bit=3, bit_count=2),
    Point(name="p", role="p", data_type=DataType.UINT32, bit=17),
]


@given(data=st.data())
def test_a_block_decodes_each_point_as_pymodbus_decodes_it_alone(data: st.DataObject) -> None:
    """The poll's block decoder against the per-point codec (pymodbus's own conversion): any
    registers, any mix of types, word orders, scales, value maps and bit fields."""
    count = data.draw(st.integers(1, 24), label="count")
    registers = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=count, max_size=count))
    members: list[tuple[Point, int, Literal["big", "little"]]] = []
    for _ in range(data.draw(st.integers(1, 8), label="points")):
        template = data.draw(st.sampled_from(_LAYOUT_POINTS))
        width = template.data_type.register_count
        if width > count:
            continue
        offset = data.draw(st.integers(0, count - width))
        order = data.draw(st.sampled_from(WORD_ORDERS))
        members.append((template.model_copy(update={"name": f"p{len(members)}"}), offset, order))
    decoded = block_decoder(count, members)(registers)
    expected = [
        (p.name, decode_registers(p, registers[o : o + p.data_type.register_count], order))
        for p, o, order in members
    ]
    assert [name for name, _ in decoded] == [name for name, _ in expected]
    for (_, got), (_, want) in zip(decoded, expected, strict=True):
        if want is not None and math.isnan(want):
            assert got is not None and math.isnan(got)
        else:
            assert got == want


def test_a_block_decoder_refuses_a_point_outside_its_registers() -> None:
    with pytest.raises(ValueError, match="outside the 3 registers"):
        block_decoder(3, [(point(DataType.FLOAT32), 2, "big")])


@pytest.mark.parametrize("word_order", WORD_ORDERS)
@given(data=st.data())
def test_the_raw_encoder_writes_what_pymodbus_writes(
    word_order: Literal["big", "little"], data: st.DataObject
) -> None:
    """Writes and the simulator's syncs encode with a prepared format: the same registers as
    pymodbus's `convert_to_registers` for every type and word order."""
    data_type = data.draw(st.sampled_from([t for t in DataType if t is not DataType.BOOL]))
    if data_type in INTEGER_RANGES:
        low, high = INTEGER_RANGES[data_type]
        raw: float = data.draw(st.integers(low, high))
    else:
        width = 32 if data_type is DataType.FLOAT32 else 64
        raw = data.draw(st.floats(width=width, allow_nan=False))
    pymodbus_type = getattr(ModbusTcpClient.DATATYPE, data_type.name)
    expected = ModbusTcpClient.convert_to_registers(raw, pymodbus_type, word_order=word_order)
    assert raw_encoder(data_type, word_order)(raw) == expected
    assert raw_encoder(DataType.BOOL, word_order)(1) == [1]
