"""The DriverPool over the whole river plant: lockstep polls, live polling, writes, health."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

import pytest

from drivers.adapters import HeatPumpCommand
from drivers.clock import SimClock
from drivers.kinds import Role
from drivers.pointmap import ModbusTable, PointMap
from drivers.pool import DriverPool
from drivers.site import SiteConfig
from tests.drivers.conftest import fast, wait_until
from tests.drivers.servers import ModbusTestServer, OpcUaTestServer


@pytest.fixture
async def pool(
    river_site: SiteConfig,
    river_maps: dict[str, PointMap],
    modbus_server: ModbusTestServer,
    opcua_server: OpcUaTestServer,
    clock: SimClock,
) -> AsyncIterator[DriverPool]:
    site = fast(river_site, {"plc": modbus_server.port, "scada": opcua_server.port}, 0.5)
    async with DriverPool(site, river_maps, clock) as driver_pool:
        yield driver_pool


async def test_poll_all_fills_every_device(
    pool: DriverPool, modbus_server: ModbusTestServer, opcua_server: OpcUaTestServer
) -> None:
    await modbus_server.set_registers(
        2, ModbusTable.INPUT, 104, list(struct.unpack(">HH", struct.pack(">f", 4200.0)))
    )
    await opcua_server.set_value("Tank1.Layer8TempC", 84.0)
    await opcua_server.set_value("Plant.OutdoorTempC", -7.5)
    results = await pool.poll_all()
    assert all(results.values()), results
    snapshot = pool.snapshot()
    assert snapshot.value("hp2", Role.HEAT_KW) == 4200.0
    assert snapshot.all_by_role("tank1", Role.LAYER_TEMP_C)[-1].value == 84.0
    assert snapshot.value("plant", "outdoor_temp_c") == -7.5
    assert all(h.good and h.connected for h in pool.health().values())

    # a second cycle costs exactly the merged requests: 5 Modbus devices x 1 block (their
    # commands, in holding registers of their own, are not read back), and one OPC UA read for
    # both devices of the connection
    before = pool.request_counts()
    await pool.poll_all()
    after = pool.request_counts()
    assert after["plc"] - before["plc"] == 5
    assert after["scada"] - before["scada"] == 1
    assert pool.requests_total == sum(after.values())


async def test_write_through_the_pool(pool: DriverPool, modbus_server: ModbusTestServer) -> None:
    command = HeatPumpCommand(enable=True, heat_setpoint_kw=5000.0)
    await pool.write("hp2", command.to_points(pool.cache.maps["hp2"]))
    holding = await modbus_server.registers(2, ModbusTable.HOLDING, 0, 6)
    assert holding[:3] == [0, 1, 1]
    assert struct.unpack(">f", struct.pack(">HH", *holding[4:6]))[0] == 5000.0
    assert pool.health()["hp2"].writes_total == 2


async def test_run_polling_follows_the_clock(
    pool: DriverPool,
    modbus_server: ModbusTestServer,
    opcua_server: OpcUaTestServer,
    clock: SimClock,
) -> None:
    task = asyncio.create_task(pool.run_polling(publishing_interval_s=0.02), name="polling")
    try:
        await opcua_server.set_value("Tank1.Layer1TempC", 41.0)
        await wait_until(lambda: pool.snapshot().value("tank1", "layer_temp_c", 1) == 41.0)
        assert modbus_server.requests_for(1) == 0  # nothing before the first aligned tick

        for tick in range(1, 4):
            clock.advance(1.0)
            expected = tick  # one merged request per poll of hp1 (its measurements)

            def polled(expected: int = expected) -> bool:
                return modbus_server.requests_for(1) == expected

            await wait_until(polled)
        assert pool.snapshot().get("hp1", "heat_kw").good
        # the tank is read by subscription, and still vouched for after its max age
        clock.advance(40.0)
        await wait_until(lambda: pool.snapshot().value("tank1", "layer_temp_c", 1) == 41.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_polling_stops_when_a_poll_swallows_the_cancel(
    pool: DriverPool, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's asyncio.wait_for, used by pymodbus and asyncua for every request, returns
    the answer and drops the cancel when both land together. The shutdown must still end: a
    lost cancel once hung `hpctl run` (and a test) waiting for the poll task forever."""
    device = pool.devices["hp1"]
    real_poll = device.poll
    in_poll = asyncio.Event()

    async def poll_that_swallows_a_cancel() -> bool:
        in_poll.set()
        # the answer and the cancel land together: 3.11's wait_for returns the answer
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return await real_poll()

    monkeypatch.setattr(device, "poll", poll_that_swallows_a_cancel)
    task = asyncio.create_task(pool.run_polling(publishing_interval_s=0.02), name="polling")
    for _ in range(200):  # tick until hp1's task has started and reached its first poll
        clock.advance(1.0)
        await asyncio.sleep(0.01)
        if in_poll.is_set():
            break
    assert in_poll.is_set()
    task.cancel()
    # not wait_for: it would cancel again on its timeout and wait for the task, the old hang
    done, _ = await asyncio.wait({task}, timeout=10)
    assert task in done, "polling went on after its cancel"
    assert task.cancelled()
