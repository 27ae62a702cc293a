"""Modbus end to end against a real pymodbus server laid out from the point maps."""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import AsyncIterator

import pytest

from drivers.cache import PointCache
from drivers.clock import SimClock
from drivers.errors import RetryableIOError, WriteRefused
from drivers.kinds import Role
from drivers.modbus import ModbusConnection, ModbusDevice
from drivers.pointmap import ModbusTable, PointMap, parse_point_map
from drivers.pool import DriverPool
from drivers.reading import Quality
from drivers.site import Connection, DeviceBinding, SiteConfig
from tests.drivers.conftest import fast, free_port
from tests.drivers.servers import ModbusTestServer


def float_words(value: float) -> list[int]:
    """IEEE 754 float32 as (high word, low word), independent of the code under test."""
    return list(struct.unpack(">HH", struct.pack(">f", value)))


@pytest.fixture
async def pool(
    river_site: SiteConfig,
    river_maps: dict[str, PointMap],
    modbus_server: ModbusTestServer,
    clock: SimClock,
) -> AsyncIterator[DriverPool]:
    # The OPC UA side points at a dead port: these tests are about the Modbus connection.
    site = fast(river_site, {"plc": modbus_server.port, "scada": free_port()})
    async with DriverPool(site, river_maps, clock) as driver_pool:
        yield driver_pool


async def test_reads_decode_at_protocol_addresses(
    pool: DriverPool, modbus_server: ModbusTestServer
) -> None:
    await modbus_server.set_registers(1, ModbusTable.INPUT, 104, float_words(8500.25))
    await modbus_server.set_registers(1, ModbusTable.INPUT, 116, [0, 12345])  # run hours x0.01
    await modbus_server.set_registers(1, ModbusTable.INPUT, 100, [2])
    await modbus_server.set_registers(2, ModbusTable.INPUT, 104, float_words(-1.5))
    results = await pool.poll_all()
    assert results["hp1"] and results["hp2"]
    snapshot = pool.snapshot()
    assert snapshot.value("hp1", "heat_kw") == 8500.25
    assert snapshot.value("hp1", "run_hours_h") == pytest.approx(123.45)
    assert snapshot.value("hp1", "state_code") == 2
    assert snapshot.value("hp1", "power_kw") == 0.0  # the neighbouring registers stay apart
    assert snapshot.value("hp2", "heat_kw") == -1.5
    # one merged request per heat pump: input 100..121 (its commands, holding 0..7, are not
    # read back)
    hp1_requests = [(fc, address) for unit, fc, address in modbus_server.requests if unit == 1]
    assert hp1_requests == [(4, 100)]
    assert snapshot.get("hp1", "heat_setpoint_kw").quality is Quality.BAD  # never read


async def test_writes_land_at_protocol_addresses(
    pool: DriverPool, modbus_server: ModbusTestServer
) -> None:
    await pool.write("hp1", {"heat_setpoint_kw": 1234.5, "enable_cmd": 1, "remote_request": 1})
    holding = await modbus_server.registers(1, ModbusTable.HOLDING, 0, 8)
    assert holding == [0, 1, 1, 0, *float_words(1234.5), 0, 0]
    written = [(fc, address) for unit, fc, address in modbus_server.requests if unit == 1]
    assert written == [(16, 1), (16, 4)]  # adjacent registers share one request


async def test_single_register_write_uses_fc6(
    pool: DriverPool, modbus_server: ModbusTestServer
) -> None:
    await pool.write("hp1", {"heartbeat": 7})
    assert modbus_server.requests[-1] == (1, 6, 0)
    assert (await modbus_server.registers(1, ModbusTable.HOLDING, 0, 1)) == [7]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"heat_kw": 10.0}, "not writable"),
        ({"enable_cmd": 2}, "outside the allowed range"),
        ({"heat_setpoint_kw": math.nan}, "not a finite number"),
        ({"bogus": 1.0}, "does not declare"),
        ({"heat_setpoint_kw": 100.0, "supply_temp_setpoint_c": 120.0}, "outside"),
    ],
)
async def test_refused_writes_never_reach_the_server(
    pool: DriverPool, modbus_server: ModbusTestServer, values: dict[str, float], reason: str
) -> None:
    before = len(modbus_server.requests)
    with pytest.raises(WriteRefused, match=reason) as refused:
        await pool.write("hp1", values)
    assert refused.value.device == "hp1"
    assert len(modbus_server.requests) == before
    assert (await modbus_server.registers(1, ModbusTable.HOLDING, 0, 8)) == [0] * 8


async def test_silent_device_is_isolated_backed_off_and_recovers(
    pool: DriverPool,
    modbus_server: ModbusTestServer,
    clock: SimClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.modbus")
    await modbus_server.set_registers(2, ModbusTable.INPUT, 104, float_words(900.0))
    assert (await pool.poll_all())["hp2"]
    modbus_server.muted.add(2)

    results = await pool.poll_all()
    assert not results["hp2"]
    assert all(ok for name, ok in results.items() if name not in ("hp2", "tank1", "plant"))
    snapshot = pool.snapshot()
    assert snapshot.get("hp2", "heat_kw").quality is Quality.BAD
    assert snapshot.get("hp2", "heat_kw").value is None  # never the last value
    assert snapshot.get("hp1", "heat_kw").quality is Quality.GOOD
    health = pool.health()["hp2"]
    assert (health.good, health.connected, health.consecutive_failures) == (False, True, 1)

    # backed off: no request for unit 2 until the Clock has moved 1 s, then 2 s
    sent = modbus_server.requests_for(2)
    await pool.poll_all()
    assert modbus_server.requests_for(2) == sent
    clock.advance(1.0)
    await pool.poll_all()
    assert modbus_server.requests_for(2) == sent + 1
    assert pool.health()["hp2"].consecutive_failures == 2
    clock.advance(1.0)
    await pool.poll_all()
    assert modbus_server.requests_for(2) == sent + 1

    modbus_server.muted.clear()
    clock.advance(1.0)
    assert (await pool.poll_all())["hp2"]
    assert pool.snapshot().value("hp2", "heat_kw") == 900.0
    assert pool.health()["hp2"].consecutive_failures == 0
    assert pool.health()["hp2"].comm_errors_total == 2

    hp2_logs = [r.getMessage() for r in caplog.records if "hp2" in r.getMessage()]
    assert len(hp2_logs) == 2  # one on failure, one on recovery; not one per cycle
    assert "communication failed" in hp2_logs[0]
    assert "recovered" in hp2_logs[1]


async def test_device_exception_response_marks_bad(
    pool: DriverPool, modbus_server: ModbusTestServer
) -> None:
    modbus_server.failing.add(11)
    results = await pool.poll_all()
    assert not results["v_hp1"]
    assert results["v_hp2"]
    assert "DEVICE_FAILURE" in (pool.health()["v_hp1"].last_error or "")
    assert pool.snapshot().get("v_hp1", "position_pct").quality is Quality.BAD


async def test_writes_to_a_backed_off_device_fail_fast(
    pool: DriverPool, modbus_server: ModbusTestServer
) -> None:
    modbus_server.muted.add(1)
    await pool.poll_all()
    sent = modbus_server.requests_for(1)
    with pytest.raises(RetryableIOError, match="backed off"):
        await pool.write("hp1", {"heartbeat": 1})
    assert modbus_server.requests_for(1) == sent


async def test_values_go_stale_by_age(pool: DriverPool, clock: SimClock) -> None:
    await pool.poll_all()
    clock.advance(10.5)  # heat_kw has max_age_s 10, run_hours_h 60
    snapshot = pool.snapshot()
    assert snapshot.get("hp1", "heat_kw").quality is Quality.STALE
    assert snapshot.value("hp1", "heat_kw") is None
    assert snapshot.get("hp1", "run_hours_h").quality is Quality.GOOD


async def test_server_down_at_start_does_not_stop_the_pool(
    river_site: SiteConfig, river_maps: dict[str, PointMap], clock: SimClock
) -> None:
    server = ModbusTestServer(
        {d.device_id: river_maps[d.name] for d in (*river_site.units, *river_site.valves)}
        | {20: river_maps["boiler"]}
    )
    port = free_port()
    site = fast(river_site, {"plc": port, "scada": free_port()})
    async with DriverPool(site, river_maps, clock) as pool:
        results = await pool.poll_all()
        assert not any(results.values())
        assert not pool.health()["hp1"].connected
        # the connection was refused on opening; until its back-off expires nothing is sent,
        # so a dead connection costs one connect attempt per back-off, not one per device
        modbus_health = [h for h in pool.health().values() if h.protocol == "modbus"]
        assert sum(h.comm_errors_total for h in modbus_health) == 0
        assert all("backed off" in (h.last_error or "") for h in modbus_health)
        assert pool.snapshot().get("hp1", "heat_kw").quality is Quality.BAD

        await server.start(port)
        try:
            clock.advance(1.0)
            results = await pool.poll_all()
            assert results["hp1"] and results["boiler"]
            assert pool.health()["hp1"].connected

            await server.stop()  # connection lost while running
            assert not (await pool.poll_all())["hp1"]
            assert pool.snapshot().get("hp1", "heat_kw").quality is Quality.BAD
            await server.start(port)
            clock.advance(2.0)
            assert (await pool.poll_all())["hp1"]
        finally:
            await server.stop()


async def test_little_word_order_floats(clock: SimClock) -> None:
    point_map = parse_point_map(
        {
            "device": {"kind": "valve", "protocol": "modbus"},
            "modbus": {"word_order": "little"},
            "points": [
                {
                    "name": "a_kw",
                    "role": Role.POSITION_PCT,
                    "table": "input",
                    "address": 10,
                    "data_type": "float32",
                },
                {
                    "name": "b_kw",
                    "role": Role.FAULT,
                    "table": "input",
                    "address": 12,
                    "data_type": "float32",
                    "word_order": "big",
                },
                {
                    "name": "set_kw",
                    "role": Role.POSITION_CMD_PCT,
                    "table": "holding",
                    "address": 3,
                    "data_type": "float64",
                    "writable": True,
                    "min": -1e6,
                    "max": 1e6,
                    "safe_default": 0,
                },
            ],
        }
    )
    server = ModbusTestServer({5: point_map})
    await server.start()
    try:
        high, low = float_words(42.75)
        await server.set_registers(5, ModbusTable.INPUT, 10, [low, high, high, low])
        connection = ModbusConnection(
            "c", Connection(protocol="modbus", port=server.port, timeout_s=0.5), clock
        )
        binding = DeviceBinding(name="x", pointmap="-", connection="c", device_id=5)
        cache = PointCache({"x": point_map})
        device = ModbusDevice(binding, point_map, connection, cache, clock)
        assert await device.poll()
        snapshot = cache.snapshot(clock.now(), clock.monotonic_s())
        assert snapshot.value("x", Role.POSITION_PCT) == 42.75
        assert snapshot.value("x", Role.FAULT) == 42.75

        await device.write({"set_kw": 1.0})
        words = list(struct.unpack(">HHHH", struct.pack(">d", 1.0)))
        assert (await server.registers(5, ModbusTable.HOLDING, 3, 4)) == words[::-1]
        await connection.close()
    finally:
        await server.stop()
