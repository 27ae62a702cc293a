"""PlantServers over the real plant model: both protocols, lockstep sync, writes, faults, stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asyncua.client.client import Client
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from drivers.site import load_site
from sim_plant.physics import Boundary, PlantModel
from sim_plant.servers import PlantServers
from tests.sim_plant.servers_support import CLIENT_TIMEOUT_S, RIVER_PLANT, FakeModel, node_id

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
F32 = AsyncModbusTcpClient.DATATYPE.FLOAT32


async def read_float(client: AsyncModbusTcpClient, address: int, device_id: int) -> float:
    response = await client.read_input_registers(address, count=2, device_id=device_id)
    value = client.convert_from_registers(response.registers, F32)
    assert isinstance(value, float)
    return value


async def test_the_real_plant_is_served_on_both_protocols_in_lockstep() -> None:
    site = load_site(RIVER_PLANT)
    model = PlantModel(site, START, initial_soc=0.5)
    sim_time = START
    async with PlantServers(site, site.load_point_maps(), model, now=lambda: sim_time) as servers:
        assert set(servers.ports) == {"plc", "scada"}
        assert all(port > 0 for port in servers.ports.values())
        client_site = servers.client_site()
        plc = client_site.connections["plc"]
        modbus = AsyncModbusTcpClient(plc.host, port=plc.port, timeout=CLIENT_TIMEOUT_S, retries=0)
        await modbus.connect()
        opcua = Client(client_site.connections["scada"].endpoint, timeout=2)
        await opcua.connect()
        try:
            namespace = await opcua.get_namespace_index("urn:hpctl:plant")
            top = opcua.get_node(node_id("Tank1.Layer8TempC", namespace))
            assert await top.read_value() == model.value("tank1", "layer_temp_c", 8)

            opened = modbus.convert_to_registers(100.0, F32)
            assert not (await modbus.write_registers(0, opened, device_id=11)).isError()
            assert model.value("v_hp1", "position_cmd_pct") == 100.0

            for _ in range(12):
                model.step(5.0, Boundary(now_utc=sim_time, outdoor_temp_c=-5.0))
                sim_time += timedelta(seconds=5)
                await servers.sync()
            position_pct = await read_float(modbus, 100, device_id=11)
            assert position_pct == pytest.approx(model.value("v_hp1", "position_pct"))
            assert 0.0 < position_pct <= 100.0  # the valve moved in the 60 s simulated
            outdoor = await opcua.get_node(
                node_id("Plant.OutdoorTempC", namespace)
            ).read_data_value()
            assert outdoor.Value is not None and outdoor.Value.Value == -5.0
            # stamped when the value changed: the first step brought the outdoor temperature
            assert outdoor.SourceTimestamp == START + timedelta(seconds=5)

            model.faults.drop_comm("hp2")
            with pytest.raises(ModbusIOException):
                await modbus.read_input_registers(104, count=2, device_id=2)
            assert await read_float(modbus, 104, device_id=1) == model.value("hp1", "heat_kw")
        finally:
            modbus.close()
            await opcua.disconnect()
    late = AsyncModbusTcpClient(
        "127.0.0.1", port=servers.ports["plc"], timeout=CLIENT_TIMEOUT_S, retries=0
    )
    assert not await late.connect()  # the servers stopped with the context


async def test_requested_ports_are_used_and_unknown_connections_refused() -> None:
    site = load_site(RIVER_PLANT)
    maps = site.load_point_maps()
    with pytest.raises(ValueError, match="nowhere"):
        PlantServers(site, maps, FakeModel(), ports={"nowhere": 1502})
    async with PlantServers(site, maps, FakeModel(), ports={"plc": 0}) as first:
        taken = first.ports["plc"]
    async with PlantServers(site, maps, FakeModel(), ports={"plc": taken}) as second:
        assert second.ports["plc"] == taken
        assert second.endpoints()["plc"] == f"127.0.0.1:{taken}"
