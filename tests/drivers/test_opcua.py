"""OPC UA against a real asyncua server: batched read, subscription, typed writes, outages."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asyncua import ua
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uatypes import UInt32

from drivers.cache import PointCache
from drivers.clock import SimClock
from drivers.errors import WriteRefused
from drivers.kinds import Role
from drivers.opcua import OpcUaConnection, OpcUaDevice
from drivers.pointmap import PointMap, parse_point_map
from drivers.reading import Quality
from drivers.site import Connection, DeviceBinding, SiteConfig
from tests.drivers.conftest import wait_until
from tests.drivers.servers import OpcUaTestServer


def _command(
    name: str, role: Role, data_type: str, low: float, high: float, **extra: Any
) -> dict[str, Any]:
    node_id = "{device}." + "".join(part.title() for part in name.split("_"))
    return {
        "name": name,
        "role": role,
        "node_id": node_id,
        "data_type": data_type,
        "writable": True,
        "min": low,
        "max": high,
        "safe_default": low,
        **extra,
    }


COMMANDS = parse_point_map(
    {
        "device": {"kind": "heat_pump", "protocol": "opcua"},
        "opcua": {"namespace_uri": "urn:test:commands"},
        "points": [
            _command("enable", Role.REMOTE_REQUEST, "bool", 0, 1),
            _command("mode", Role.ENABLE_CMD, "int16", -5, 5),
            _command("counter", Role.HEARTBEAT, "uint32", 0, 4e9),
            _command("setpoint_kw", Role.HEAT_SETPOINT_KW, "float32", 0, 1e4),
            _command("limit_c", Role.SUPPLY_TEMP_SETPOINT_C, "float64", 0, 100, scale=0.1),
            {
                "name": "state_code",
                "role": "state_code",
                "node_id": "{device}.StateCode",
                "data_type": "uint16",
            },
            {
                "name": "heat_kw",
                "role": "heat_kw",
                "node_id": "{device}.HeatKw",
                "data_type": "float64",
            },
        ],
    }
)


def tank_device(
    site: SiteConfig, maps: dict[str, PointMap], port: int, clock: SimClock
) -> tuple[OpcUaDevice, PointCache]:
    binding = site.device("tank1")
    connection = OpcUaConnection(
        "scada",
        site.connections["scada"].model_copy(update={"port": port, "timeout_s": 0.5}),
        clock,
    )
    cache = PointCache({"tank1": maps["tank1"]})
    return OpcUaDevice(binding, maps["tank1"], connection, cache, clock), cache


@pytest.fixture
async def tank(
    river_site: SiteConfig,
    river_maps: dict[str, PointMap],
    opcua_server: OpcUaTestServer,
    clock: SimClock,
) -> AsyncIterator[tuple[OpcUaDevice, PointCache]]:
    device, cache = tank_device(river_site, river_maps, opcua_server.port, clock)
    yield device, cache
    await device.stop_subscription()
    await device.connection.close()


def layers(cache: PointCache, clock: SimClock) -> list[float | None]:
    snapshot = cache.snapshot(clock.now(), clock.monotonic_s())
    return [r.value if r.good else None for r in snapshot.all_by_role("tank1", "layer_temp_c")]


async def test_batched_read_is_one_request(
    tank: tuple[OpcUaDevice, PointCache], opcua_server: OpcUaTestServer, clock: SimClock
) -> None:
    device, cache = tank
    for layer in range(1, 9):
        await opcua_server.set_value(f"Tank1.Layer{layer}TempC", 40.0 + 5 * layer)
    assert await device.poll()  # the first poll also resolves the namespace
    before = device.connection.requests_total
    assert await device.poll()
    assert device.connection.requests_total == before + 1
    assert layers(cache, clock) == [45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0]
    assert device.node_id_of(device.point_map.point("layer_1_temp_c")) == "Tank1.Layer1TempC"


async def test_subscription_updates_the_cache(
    tank: tuple[OpcUaDevice, PointCache], opcua_server: OpcUaTestServer, clock: SimClock
) -> None:
    device, cache = tank
    await opcua_server.set_value("Tank1.Layer8TempC", 81.0)
    assert await device.start_subscription(0.02)
    await wait_until(lambda: layers(cache, clock)[7] == 81.0)
    await opcua_server.set_value("Tank1.Layer8TempC", 82.5)
    await wait_until(lambda: layers(cache, clock)[7] == 82.5)
    # no change for longer than max_age_s (30 s): a live subscription vouches for the value
    clock.advance(40.0)
    assert layers(cache, clock)[7] is None
    assert await device.refresh()
    assert layers(cache, clock)[7] == 82.5


async def test_server_outage_makes_points_bad_and_recovers(
    river_site: SiteConfig, river_maps: dict[str, PointMap], clock: SimClock
) -> None:
    server = OpcUaTestServer({"Tank1": river_maps["tank1"]})
    await server.start()
    port = server.port
    device, cache = tank_device(river_site, river_maps, port, clock)
    try:
        await server.set_value("Tank1.Layer1TempC", 44.0)
        assert await device.poll()
        await server.stop()
        assert not await device.poll()
        assert layers(cache, clock) == [None] * 8
        assert device.health().consecutive_failures == 1
        assert not await device.poll()  # backed off: not even tried
        assert device.health().consecutive_failures == 1

        await server.start(port)
        await server.set_value("Tank1.Layer1TempC", 45.0)
        clock.advance(1.0)
        assert await device.poll()
        assert layers(cache, clock)[0] == 45.0
        assert device.health().connected
    finally:
        await device.connection.close()
        await server.stop()


async def test_lost_subscription_goes_bad_and_is_recreated(
    river_site: SiteConfig, river_maps: dict[str, PointMap], clock: SimClock
) -> None:
    server = OpcUaTestServer({"Tank1": river_maps["tank1"]})
    await server.start()
    port = server.port
    device, cache = tank_device(river_site, river_maps, port, clock)
    try:
        await server.set_value("Tank1.Layer2TempC", 50.0)
        assert await device.start_subscription(0.02)
        await wait_until(lambda: layers(cache, clock)[1] == 50.0)
        await server.stop()
        await wait_until(lambda: not device.connection.connected)
        assert not await device.refresh()
        assert layers(cache, clock) == [None] * 8

        await server.start(port)
        await server.set_value("Tank1.Layer2TempC", 51.0)
        clock.advance(1.0)
        assert await device.refresh()
        await wait_until(lambda: layers(cache, clock)[1] == 51.0)
    finally:
        await device.stop_subscription()
        await device.connection.close()
        await server.stop()


@pytest.fixture
async def commands(clock: SimClock) -> AsyncIterator[tuple[OpcUaDevice, OpcUaTestServer]]:
    server = OpcUaTestServer({"Boiler": COMMANDS})
    await server.start()
    connection = OpcUaConnection(
        "c", Connection(protocol="opcua", port=server.port, timeout_s=0.5), clock
    )
    binding = DeviceBinding(name="boiler", pointmap="-", connection="c", node_prefix="Boiler")
    device = OpcUaDevice(binding, COMMANDS, connection, PointCache({"boiler": COMMANDS}), clock)
    yield device, server
    await connection.close()
    await server.stop()


async def test_writes_use_the_points_variant_types(
    commands: tuple[OpcUaDevice, OpcUaTestServer],
) -> None:
    device, server = commands
    await device.write(
        {"enable": 1, "mode": -3, "counter": 3e9, "setpoint_kw": 1234.5, "limit_c": 55.5}
    )
    expected: dict[str, tuple[Any, ua.VariantType]] = {
        "Boiler.Enable": (True, ua.VariantType.Boolean),
        "Boiler.Mode": (-3, ua.VariantType.Int16),
        "Boiler.Counter": (3_000_000_000, ua.VariantType.UInt32),
        "Boiler.SetpointKw": (1234.5, ua.VariantType.Float),
        "Boiler.LimitC": (555.0, ua.VariantType.Double),  # raw = value / scale
    }
    for identifier, (value, variant_type) in expected.items():
        data_value = await server.variables[identifier].read_data_value()
        assert data_value.Value.Value == pytest.approx(value)
        assert data_value.Value.VariantType is variant_type


REFUSED: list[tuple[dict[str, float], str]] = [
    ({"heat_kw": 1.0}, "not writable"),
    ({"mode": 6}, "outside"),
    ({"setpoint_kw": math.inf}, "not a finite number"),
    ({"enable": 1, "nope": 1}, "does not declare"),
]


async def test_refused_writes_send_nothing(commands: tuple[OpcUaDevice, OpcUaTestServer]) -> None:
    device, server = commands
    assert await device.poll()
    before = device.connection.requests_total
    for values, reason in REFUSED:
        with pytest.raises(WriteRefused, match=reason):
            await device.write(values)
    assert device.connection.requests_total == before
    assert await server.get_value("Boiler.Enable") is False


async def test_bad_node_status_makes_only_that_point_bad(
    commands: tuple[OpcUaDevice, OpcUaTestServer], clock: SimClock
) -> None:
    device, server = commands
    await server.set_value("Boiler.HeatKw", 321.0)
    await server.variables["Boiler.Mode"].write_value(
        ua.DataValue(
            ua.Variant(0, ua.VariantType.Int16),
            StatusCode=ua.StatusCode(UInt32(StatusCodes.BadSensorFailure)),
        )
    )
    assert await device.poll()
    snapshot = device._cache.snapshot(clock.now(), clock.monotonic_s())
    assert snapshot.value("boiler", "heat_kw") == 321.0
    assert snapshot.get("boiler", "mode").quality is Quality.BAD
