"""The simulated plant's Modbus server, read and written by a real pymodbus client."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from drivers.kinds import Role
from drivers.pointmap import PointMap, parse_point_map
from drivers.site import DeviceBinding, SiteConfig, load_site
from sim_plant.servers import ModbusPlantServer
from tests.sim_plant.servers_support import CLIENT_TIMEOUT_S, RIVER_PLANT, FakeModel

ILLEGAL_VALUE = 3
ILLEGAL_ADDRESS = 2
GATEWAY_PATH_UNAVAILABLE = 10
F32 = AsyncModbusTcpClient.DATATYPE.FLOAT32
U32 = AsyncModbusTcpClient.DATATYPE.UINT32
I16 = AsyncModbusTcpClient.DATATYPE.INT16

# A device type unlike the generic ones: little-endian words, bit tables, a scaled signed value.
ODD_MAP: dict[str, Any] = {
    "device": {"kind": "boiler", "protocol": "modbus"},
    "modbus": {"word_order": "little"},
    "points": [
        {"name": "pump_cmd", "role": Role.ENABLE_CMD, "table": "coil", "address": 3,
         "data_type": "bool", "writable": True, "min": 0, "max": 1, "safe_default": 0},
        {"name": "burner_on", "role": Role.REMOTE_ACTIVE, "table": "discrete", "address": 7,
         "data_type": "bool"},
        {"name": "offset_c", "role": Role.HEAT_SETPOINT_KW, "table": "holding", "address": 10,
         "data_type": "int16", "scale": 0.1, "writable": True, "min": -20, "max": 20,
         "safe_default": 0},
        {"name": "remote", "role": Role.REMOTE_REQUEST, "table": "holding", "address": 12,
         "data_type": "uint16", "writable": True, "min": 0, "max": 1, "safe_default": 0},
        {"name": "watchdog", "role": Role.HEARTBEAT, "table": "holding", "address": 14,
         "data_type": "uint16", "writable": True, "min": 0, "max": 65535, "safe_default": 0},
        {"name": "flow_m3h", "role": Role.HEAT_KW, "table": "input", "address": 20,
         "data_type": "float32"},
        {"name": "energy_kwh", "role": Role.FUEL_KW, "table": "input", "address": 22,
         "data_type": "float32", "word_order": "big"},
        {"name": "flue_temp_c", "role": Role.STARTS_TOTAL, "table": "input", "address": 24,
         "data_type": "int16", "scale": 0.5, "offset": -50},
        {"name": "state", "role": Role.STATE_CODE, "table": "input", "address": 26,
         "data_type": "uint16"},
    ],
}  # fmt: skip


@dataclass
class Rig:
    server: ModbusPlantServer
    model: FakeModel
    client: AsyncModbusTcpClient


@pytest.fixture(scope="module")
def river() -> tuple[SiteConfig, dict[str, PointMap]]:
    site = load_site(RIVER_PLANT)
    return site, site.load_point_maps()


@pytest.fixture
async def rig(river: tuple[SiteConfig, dict[str, PointMap]]) -> AsyncIterator[Rig]:
    site, maps = river
    model = FakeModel(
        {
            ("hp1", "alarm_code", None): 3,
            ("hp1", "heat_kw", None): 1234.5,
            ("hp1", "power_kw", None): 401.25,
            ("hp1", "run_hours_h", None): 12345.67,
            ("hp2", "heat_kw", None): 8000.0,
            ("v_hp1", "position_pct", None): 42.0,
            ("odd", Role.ENABLE_CMD, None): 1,
            ("odd", Role.REMOTE_ACTIVE, None): 1,
            ("odd", Role.HEAT_SETPOINT_KW, None): -2.5,
            ("odd", Role.HEAT_KW, None): 12.75,
            ("odd", Role.FUEL_KW, None): 5000.5,
            ("odd", Role.STARTS_TOTAL, None): 120.5,
        }
    )
    devices = [(d, maps[d.name]) for d in site.devices() if d.connection == "plc"]
    odd = DeviceBinding(name="odd", pointmap="odd.toml", connection="plc", device_id=30)
    devices.append((odd, parse_point_map(ODD_MAP, "odd.toml")))
    server = ModbusPlantServer("plc", devices, model)
    await server.start()
    client = AsyncModbusTcpClient(
        "127.0.0.1", port=server.port, timeout=CLIENT_TIMEOUT_S, retries=0
    )
    await client.connect()
    try:
        yield Rig(server, model, client)
    finally:
        client.close()
        await server.stop()


def decode(client: AsyncModbusTcpClient, registers: Sequence[int], data_type: Any) -> Any:
    return client.convert_from_registers(registers, data_type, word_order="big")


async def test_points_sit_at_their_protocol_addresses(rig: Rig) -> None:
    client = rig.client
    response = await client.read_input_registers(102, count=6, device_id=1)
    assert not response.isError()
    alarm, hole, *floats = response.registers
    assert alarm == 3
    assert hole == 0  # address 103 is a gap in the map: readable, zero
    assert decode(client, floats[0:2], F32) == 1234.5  # heat_kw at 104, not 103 or 105
    assert decode(client, floats[2:4], F32) == 401.25  # power_kw at 106


async def test_scaled_uint32_is_served_raw(rig: Rig) -> None:
    response = await rig.client.read_input_registers(116, count=2, device_id=1)
    assert decode(rig.client, response.registers, U32) == 1234567  # 12345.67 h at scale 0.01


async def test_each_unit_id_serves_its_own_device(rig: Rig) -> None:
    client = rig.client
    hp2 = await client.read_input_registers(104, count=2, device_id=2)
    valve = await client.read_input_registers(100, count=2, device_id=11)
    assert decode(client, hp2.registers, F32) == 8000.0
    assert decode(client, valve.registers, F32) == 42.0


async def test_word_order_bit_tables_and_scale_offset_follow_the_map(rig: Rig) -> None:
    client = rig.client
    inputs = await client.read_input_registers(20, count=5, device_id=30)
    regs = inputs.registers
    assert client.convert_from_registers(regs[0:2], F32, word_order="little") == 12.75
    assert client.convert_from_registers(regs[2:4], F32, word_order="big") == 5000.5
    assert decode(client, regs[4:5], I16) == 341  # (120.5 - -50) / 0.5
    holding = await client.read_holding_registers(10, count=1, device_id=30)
    assert decode(client, holding.registers, I16) == -25  # -2.5 at scale 0.1
    coils = await client.read_coils(3, count=1, device_id=30)
    discretes = await client.read_discrete_inputs(7, count=1, device_id=30)
    assert coils.bits[0] is True
    assert discretes.bits[0] is True


async def test_reads_show_the_state_of_the_last_sync(rig: Rig) -> None:
    rig.model.values[("hp1", "heat_kw", None)] = 2000.0
    before = await rig.client.read_input_registers(104, count=2, device_id=1)
    rig.server.sync()
    after = await rig.client.read_input_registers(104, count=2, device_id=1)
    assert decode(rig.client, before.registers, F32) == 1234.5
    assert decode(rig.client, after.registers, F32) == 2000.0


async def test_writes_to_writable_points_reach_the_model(rig: Rig) -> None:
    client = rig.client
    setpoint = client.convert_to_registers(4500.0, F32, word_order="big")
    assert not (await client.write_registers(4, setpoint, device_id=1)).isError()
    assert not (await client.write_register(0, 7, device_id=2)).isError()
    assert not (await client.write_register(10, 2**16 - 153, device_id=30)).isError()
    assert not (await client.write_coil(3, False, device_id=30)).isError()
    assert rig.model.commands == [
        ("hp1", "heat_setpoint_kw", 4500.0),
        ("hp2", "heartbeat", 7.0),
        ("odd", Role.HEAT_SETPOINT_KW, pytest.approx(-15.3)),
        ("odd", Role.ENABLE_CMD, 0.0),
    ]
    rig.server.sync()
    echoed = await client.read_holding_registers(4, count=2, device_id=1)
    assert decode(client, echoed.registers, F32) == 4500.0


@pytest.mark.parametrize(
    ("address", "words", "code"),
    [
        (3, [1], ILLEGAL_ADDRESS),  # a gap between points
        (100, [1], ILLEGAL_ADDRESS),  # an input register's address: not in the holding table
        (2, [1, 0], ILLEGAL_ADDRESS),  # enable_cmd plus the gap after it: all or nothing
        (5, [0], ILLEGAL_ADDRESS),  # the low half of the float setpoint
        (1, [5], ILLEGAL_VALUE),  # remote_request outside its range 0..1
        (6, [0x42C8, 0], ILLEGAL_VALUE),  # supply setpoint 100 degC above its max of 95
    ],
)
async def test_the_device_refuses_what_its_map_does_not_allow(
    rig: Rig, address: int, words: list[int], code: int
) -> None:
    response = await rig.client.write_registers(address, words, device_id=1)
    assert response.isError()
    assert response.exception_code == code
    assert rig.model.commands == []


async def test_undeclared_coils_are_refused(rig: Rig) -> None:
    coil = await rig.client.write_coil(4, True, device_id=30)
    status = await rig.client.read_coils(0, count=1, device_id=30)
    assert coil.exception_code == ILLEGAL_ADDRESS
    assert status.exception_code == ILLEGAL_ADDRESS
    assert rig.model.commands == []


async def test_a_dropped_device_times_out_while_the_others_answer(rig: Rig) -> None:
    rig.model.faults.dropped.add("hp1")
    with pytest.raises(ModbusIOException):
        await rig.client.read_input_registers(104, count=2, device_id=1)
    with pytest.raises(ModbusIOException):
        await rig.client.write_register(0, 1, device_id=1)
    other = await rig.client.read_input_registers(104, count=2, device_id=2)
    assert decode(rig.client, other.registers, F32) == 8000.0
    rig.model.faults.dropped.clear()
    back = await rig.client.read_input_registers(104, count=2, device_id=1)
    assert decode(rig.client, back.registers, F32) == 1234.5
    assert rig.model.commands == []


class _WaitingContext:
    """A datastore that waits a loop pass before each answer (the simulator's never does)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def async_getValues(self, *args: Any) -> Any:
        await asyncio.sleep(0)
        return await self._inner.async_getValues(*args)

    async def async_setValues(self, *args: Any) -> Any:
        await asyncio.sleep(0)
        return await self._inner.async_setValues(*args)

    def device_ids(self) -> list[int]:
        return list(self._inner.device_ids())


async def test_a_request_whose_answer_waits_is_still_answered(rig: Rig) -> None:
    """Requests are answered in the pass that received them; one that has to wait is finished
    by a task, reads and writes alike."""
    served = rig.server._server
    assert served is not None
    served.context = _WaitingContext(served.context)
    response = await rig.client.read_input_registers(104, count=2, device_id=1)
    assert decode(rig.client, response.registers, F32) == 1234.5
    assert not (await rig.client.write_register(0, 9, device_id=1)).isError()
    assert rig.model.commands == [("hp1", "heartbeat", 9.0)]


async def test_a_frame_with_an_unknown_function_gets_an_exception_answer(rig: Rig) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.server.port)
    try:
        for transaction, pdu in ((7, bytes([0x55, 0, 0])), (8, bytes([0x04, 0, 104, 0, 2]))):
            writer.write(struct.pack(">HHHB", transaction, 0, len(pdu) + 1, 1) + pdu)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(256), CLIENT_TIMEOUT_S)
            assert struct.unpack(">H", answer[:2])[0] == transaction
            if transaction == 7:
                assert answer[7:] == bytes([0x80, 0x01])  # illegal function
            else:  # the connection serves on
                assert answer[7:9] == bytes([0x04, 4])
    finally:
        writer.close()


async def test_an_unknown_unit_id_gets_a_gateway_exception(rig: Rig) -> None:
    response = await rig.client.read_input_registers(100, count=2, device_id=99)
    assert response.exception_code == GATEWAY_PATH_UNAVAILABLE


def test_two_devices_on_one_unit_id_are_refused(
    river: tuple[SiteConfig, dict[str, PointMap]],
) -> None:
    site, maps = river
    hp1 = site.device("hp1")
    clash = hp1.model_copy(update={"name": "hp9"})
    with pytest.raises(ValueError, match=r"device id\(s\) \[1\]"):
        ModbusPlantServer("plc", [(hp1, maps["hp1"]), (clash, maps["hp1"])], FakeModel())


async def test_a_port_in_use_is_named(river: tuple[SiteConfig, dict[str, PointMap]]) -> None:
    site, maps = river
    devices = [(site.device("hp1"), maps["hp1"])]
    first = ModbusPlantServer("plc", devices, FakeModel())
    await first.start()
    try:
        second = ModbusPlantServer("plc", devices, FakeModel(), port=first.port)
        with pytest.raises(OSError, match=f"'plc': cannot listen on 127.0.0.1:{first.port}"):
            await second.start()
    finally:
        await first.stop()
