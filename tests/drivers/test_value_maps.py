"""Value maps and bit fields: a vendor's status word read as the kind's values, checked at load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.cache import PointCache
from drivers.codec import (
    EncodeError,
    check_write,
    decode_registers,
    encode_registers,
    extract_field,
    insert_field,
    to_raw,
)
from drivers.errors import WriteRefused
from drivers.kinds import Role, StateCode
from drivers.pointmap import PointMap, PointMapError, load_point_map, parse_point_map

POINTMAPS = Path(__file__).resolve().parents[2] / "deploy" / "pointmaps"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

# what a vendor's register list says: status word bits and codes, not the controller's 0..4
STATUS: dict[str, Any] = {
    "name": "status_word",
    "role": "state_code",
    "table": "input",
    "address": 100,
    "data_type": "uint16",
    "value_map": {
        "0x0000": "off",
        "0x0001": "starting",
        "0x0010": "running",
        "0x0011": "running",  # running with the defrost flag: still running
        "0x0020": "stopping",
        "0x0080": "tripped",
    },
}
REMOTE_BIT: dict[str, Any] = {
    "name": "remote_bit",
    "role": "remote_active",
    "table": "input",
    "address": 101,
    "data_type": "uint16",
    "bit": 3,
}
ALARM_BITS: dict[str, Any] = {
    "name": "alarm_bits",
    "role": "alarm_code",
    "table": "input",
    "address": 101,
    "data_type": "uint16",
    "bit": 8,
    "bit_count": 3,
}


def vendor_map(*points: dict[str, Any]) -> PointMap:
    """The generic heat pump's commands and heat meter, plus (or instead) these points."""
    generic = load_point_map(POINTMAPS / "generic_large_heat_pump.toml")
    replaced = {point["role"] for point in points}
    kept = [
        p.model_dump(exclude_none=True)
        for p in generic.points
        if (p.writable or p.role == Role.HEAT_KW) and p.role not in replaced
    ]
    return parse_point_map(
        {"device": {"kind": "heat_pump", "protocol": "modbus"}, "points": [*kept, *points]},
        "acme.toml",
    )


def refusal(*points: dict[str, Any]) -> str:
    with pytest.raises(PointMapError) as error:
        vendor_map(*points)
    assert "acme.toml" in str(error.value)
    return str(error.value)


def test_a_status_word_decodes_to_the_kinds_state_codes() -> None:
    point = vendor_map(STATUS).point("status_word")
    assert point.value_map == {0: 0.0, 1: 1.0, 16: 2.0, 17: 2.0, 32: 3.0, 128: 4.0}
    assert decode_registers(point, [0x0010], "big") == StateCode.RUNNING
    assert decode_registers(point, [0x0011], "big") == StateCode.RUNNING
    assert decode_registers(point, [0x0080], "big") == StateCode.TRIPPED
    # a code the vendor's list does not have is no state at all: BAD, never a guess
    assert decode_registers(point, [0x0040], "big") is None


def test_an_unlisted_code_reads_bad_in_the_snapshot() -> None:
    point_map = vendor_map(STATUS)
    cache = PointCache({"hp1": point_map})
    point = point_map.point("status_word")
    cache.update("hp1", "status_word", decode_registers(point, [0x0010], "big"), 0.0)
    assert cache.snapshot(NOW, 0.0).value("hp1", Role.STATE_CODE) == StateCode.RUNNING
    cache.update("hp1", "status_word", decode_registers(point, [9], "big"), 1.0)
    assert cache.snapshot(NOW, 1.0).value("hp1", Role.STATE_CODE) is None


def test_bit_fields_share_a_register() -> None:
    point_map = vendor_map(STATUS, REMOTE_BIT, ALARM_BITS)
    remote, alarm = point_map.point("remote_bit"), point_map.point("alarm_bits")
    word = 0b0000_0101_0000_1000  # bit 3 set, bits 8..10 = 5
    assert decode_registers(remote, [word], "big") == 1.0
    assert decode_registers(alarm, [word], "big") == 5.0
    assert extract_field(alarm, insert_field(alarm, 0xFFFF, 2)) == 2
    assert insert_field(alarm, 0xFFFF, 2) == 0xFAFF  # only bits 8..10 changed


def test_a_writable_value_map_writes_the_vendors_code() -> None:
    mode: dict[str, Any] = {
        "name": "mode_cmd",
        "role": "enable_cmd",
        "table": "holding",
        "address": 20,
        "data_type": "uint16",
        "value_map": {"0x00AA": 0, "0x0055": 1},
        "writable": True,
        "min": 0,
        "max": 1,
        "safe_default": 0,
    }
    point_map = vendor_map(STATUS, mode)
    # the generic map's enable_cmd is replaced by the vendor's mode word
    point = point_map.point("mode_cmd")
    assert encode_registers(point, 1.0, "big") == [0x0055]
    assert to_raw(point, 0.0) == 0x00AA
    with pytest.raises(EncodeError, match="no code"):
        to_raw(point, 0.5)
    with pytest.raises(WriteRefused, match="no code"):
        check_write("hp1", point_map, {"mode_cmd": 0.5})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bit": 14, "bit_count": 3}, "bits 14..16 do not fit a 16-bit uint16"),
        ({"data_type": "int16", "bit": 3}, "a bit field needs an unsigned register type"),
        ({"bit_count": 2}, "'bit_count' needs 'bit'"),
        ({"table": "holding", "bit": 3, "writable": True, "min": 0, "max": 1, "safe_default": 0},
         "a bit field cannot be writable"),
        ({"data_type": "float32", "value_map": {"1": 1}}, "a value map needs an integer type"),
        ({"value_map": {"0x10000": "running"}}, "key 65536 is outside uint16 [0, 65535]"),
        ({"bit": 0, "bit_count": 2, "value_map": {"4": "off"}},
         "key 4 is outside a 2-bit field [0, 3]"),
        ({"value_map": {"1": "runing"}}, "'runing' is not a value of role 'state_code'"),
        ({"value_map": {"one": "off"}}, "value_map key 'one' is not an integer"),
        ({"value_map": {"1": "off"}, "scale": 0.1}, "a value map replaces scale and offset"),
    ],
)  # fmt: skip
def test_the_loader_refuses_codes_that_cannot_work(change: dict[str, Any], reason: str) -> None:
    status = {key: value for key, value in STATUS.items() if key != "value_map"}
    message = refusal({**status, **change})
    assert "point 'status_word'" in message
    assert reason in message


def test_overlapping_bit_fields_are_refused() -> None:
    overlapping = {**ALARM_BITS, "name": "more_alarm_bits", "role": "starts_total", "bit": 10}
    message = refusal(STATUS, ALARM_BITS, overlapping)
    assert "bits overlap point 'alarm_bits'" in message
    whole_word = {**REMOTE_BIT, "name": "word", "role": "starts_total"}
    whole_word.pop("bit")
    assert "overlaps point 'remote_bit'" in refusal(STATUS, REMOTE_BIT, whole_word)
