"""Value maps and bit fields end to end: the simulator serves a vendor's status word from the
same map, and the driver reads the kind's values back over a real socket (and writes a vendor
mode word the simulator decodes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from drivers.cache import PointCache
from drivers.clock import SimClock
from drivers.kinds import Role, StateCode
from drivers.modbus import ModbusConnection, ModbusDevice
from drivers.opcua import OpcUaConnection, OpcUaDevice
from drivers.pointmap import PointMap, load_point_map, parse_point_map
from drivers.reading import Quality
from drivers.site import Connection, DeviceBinding
from sim_plant.servers import ModbusPlantServer, OpcUaPlantServer
from tests.sim_plant.servers_support import CLIENT_TIMEOUT_S, FakeModel

T0 = datetime(2025, 1, 15, 6, tzinfo=UTC)

# A vendor's register list: one status word of codes, one word of flag bits, a mode word for
# on/off, and nothing in the controller's own 0..4 convention. Its commands are polled too, so
# that a test can read a command back through its value map.
ACME = """
[device]
kind = "heat_pump"
protocol = "modbus"
vendor = "ACME"

[modbus]
read_commands = true

[[points]]
name = "mode_word"
role = "enable_cmd"
table = "holding"
address = 0
data_type = "uint16"
value_map = { 0x00AA = 0, 0x0055 = 1 }
writable = true
min = 0
max = 1
safe_default = 0

[[points]]
name = "remote_word"
role = "remote_request"
table = "holding"
address = 1
data_type = "uint16"
writable = true
min = 0
max = 1
safe_default = 0

[[points]]
name = "load_kw"
role = "heat_setpoint_kw"
table = "holding"
address = 2
data_type = "float32"
writable = true
min = 0
max = 10000
safe_default = 0

[[points]]
name = "watchdog"
role = "heartbeat"
table = "holding"
address = 4
data_type = "uint16"
writable = true
min = 0
max = 65535
safe_default = 0

[[points]]
name = "status_word"
role = "state_code"
table = "input"
address = 100
data_type = "uint16"
value_map = { 0x0000 = "off", 0x0001 = "starting", 0x0010 = "running", 0x0020 = "stopping", 0x0080 = "tripped" }

[[points]]
name = "remote_flag"
role = "remote_active"
table = "input"
address = 101
data_type = "uint16"
bit = 3

[[points]]
name = "alarm_field"
role = "alarm_code"
table = "input"
address = 101
data_type = "uint16"
bit = 8
bit_count = 3

[[points]]
name = "heat_kw"
role = "heat_kw"
table = "input"
address = 102
data_type = "float32"
"""


@dataclass
class Rig:
    model: FakeModel
    server: ModbusPlantServer
    device: ModbusDevice
    cache: PointCache
    clock: SimClock

    async def read(self, role: Role) -> float | None:
        self.server.sync()
        assert await self.device.poll()
        return self.cache.snapshot(T0, self.clock.monotonic_s()).value("acme", role)


@pytest.fixture
def acme_map(tmp_path: Path) -> PointMap:
    path = tmp_path / "acme_hp.toml"
    path.write_text(ACME)
    return load_point_map(path)


@pytest.fixture
async def rig(acme_map: PointMap) -> AsyncIterator[Rig]:
    binding = DeviceBinding(name="acme", pointmap="acme_hp.toml", connection="plc", device_id=4)
    model = FakeModel()
    server = ModbusPlantServer("plc", [(binding, acme_map)], model)
    await server.start()
    clock = SimClock(T0)
    config = Connection(protocol="modbus", port=server.port, timeout_s=CLIENT_TIMEOUT_S, retries=0)
    connection = ModbusConnection("plc", config, clock)
    cache = PointCache({"acme": acme_map})
    device = ModbusDevice(binding, acme_map, connection, cache, clock)
    try:
        yield Rig(model, server, device, cache, clock)
    finally:
        await connection.close()
        await server.stop()


@pytest.mark.parametrize("state", list(StateCode))
async def test_every_state_round_trips_through_the_vendors_codes(
    rig: Rig, state: StateCode
) -> None:
    rig.model.values[("acme", Role.STATE_CODE, None)] = state
    assert await rig.read(Role.STATE_CODE) == state


async def test_bit_fields_of_one_word_round_trip_independently(rig: Rig) -> None:
    rig.model.values[("acme", Role.REMOTE_ACTIVE, None)] = 1.0
    rig.model.values[("acme", Role.ALARM_CODE, None)] = 5.0
    assert await rig.read(Role.REMOTE_ACTIVE) == 1.0
    assert await rig.read(Role.ALARM_CODE) == 5.0
    rig.model.values[("acme", Role.REMOTE_ACTIVE, None)] = 0.0
    assert await rig.read(Role.ALARM_CODE) == 5.0  # clearing one field keeps the other
    assert await rig.read(Role.REMOTE_ACTIVE) == 0.0
    rig.model.values[("acme", Role.ALARM_CODE, None)] = 2.0
    assert await rig.read(Role.ALARM_CODE) == 2.0


async def test_a_state_the_vendor_has_no_code_for_reads_bad(rig: Rig, acme_map: PointMap) -> None:
    rig.model.values[("acme", Role.STATE_CODE, None)] = 7.0  # served as 7: no vendor code
    rig.model.values[("acme", Role.HEAT_KW, None)] = 1500.0
    assert await rig.read(Role.STATE_CODE) is None
    snapshot = rig.cache.snapshot(T0, rig.clock.monotonic_s())
    assert snapshot.get("acme", "status_word").quality is Quality.BAD
    assert snapshot.value("acme", Role.HEAT_KW) == 1500.0  # the rest of the device is fine


async def test_a_write_goes_out_as_the_vendors_code(rig: Rig) -> None:
    await rig.device.write({"mode_word": 1.0, "remote_word": 1.0})
    assert rig.model.commands == [
        ("acme", Role.ENABLE_CMD, 1.0),
        ("acme", Role.REMOTE_REQUEST, 1.0),
    ]
    client = AsyncModbusTcpClient("127.0.0.1", port=rig.server.port, timeout=CLIENT_TIMEOUT_S)
    await client.connect()
    try:
        on_the_wire = await client.read_holding_registers(0, count=1, device_id=4)
    finally:
        client.close()
    assert on_the_wire.registers == [0x0055]
    assert await rig.read(Role.ENABLE_CMD) == 1.0


async def test_an_opc_ua_status_code_round_trips_through_its_value_map() -> None:
    vendor = parse_point_map(
        {
            "device": {"kind": "boiler", "protocol": "opcua"},
            "points": [
                {"name": "status", "role": Role.STATE_CODE, "node_id": "{device}.Status",
                 "data_type": "int32", "value_map": {"-1": "tripped", "0": "off", "8": "running"}},
                {"name": "heat_kw", "role": Role.HEAT_KW, "node_id": "{device}.HeatKw",
                 "data_type": "float64"},
                *(
                    {"name": role.value, "role": role, "node_id": f"{{device}}.{role.value}",
                     "data_type": "bool", "writable": True, "min": 0, "max": 1,
                     "safe_default": 0}
                    for role in (
                        Role.HEARTBEAT,
                        Role.REMOTE_REQUEST,
                        Role.ENABLE_CMD,
                        Role.HEAT_SETPOINT_KW,
                    )
                ),
            ],
        },
        "vendor_boiler.toml",
    )  # fmt: skip
    binding = DeviceBinding(name="boiler", pointmap="vendor_boiler.toml", connection="scada")
    model = FakeModel({("boiler", Role.STATE_CODE, None): StateCode.TRIPPED})
    server = OpcUaPlantServer("scada", [(binding, vendor)], model)
    await server.start()
    clock = SimClock(T0)
    connection = OpcUaConnection(
        "scada", Connection(protocol="opcua", port=server.port, timeout_s=1.0), clock
    )
    cache = PointCache({"boiler": vendor})
    device = OpcUaDevice(binding, vendor, connection, cache, clock)
    try:
        assert await device.poll()
        assert cache.snapshot(T0, 0.0).value("boiler", Role.STATE_CODE) == StateCode.TRIPPED
        model.values[("boiler", Role.STATE_CODE, None)] = StateCode.RUNNING
        await server.sync()
        assert await device.poll()
        assert cache.snapshot(T0, 0.0).value("boiler", Role.STATE_CODE) == StateCode.RUNNING
    finally:
        await connection.close()
        await server.stop()
