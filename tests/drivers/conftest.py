"""Fixtures: the river plant's site and maps, and real servers laid out from its point maps."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.clock import SimClock
from drivers.pointmap import PointMap
from drivers.site import SiteConfig, load_site
from tests.drivers.servers import ModbusTestServer, OpcUaTestServer

logging.getLogger("asyncua").setLevel(logging.WARNING)

PLANT = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"


@pytest.fixture(scope="session")
def river_site() -> SiteConfig:
    return load_site(PLANT)


@pytest.fixture(scope="session")
def river_maps(river_site: SiteConfig) -> dict[str, PointMap]:
    return river_site.load_point_maps()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2025, 1, 15, 12, 0, tzinfo=UTC))


def free_port() -> int:
    """A port nothing listens on (for a server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def fast(site: SiteConfig, ports: dict[str, int], timeout_s: float = 0.1) -> SiteConfig:
    """The site on the test ports with tiny timeouts and no retries, so failures are quick."""
    moved = site.with_ports(ports)
    connections = {
        name: c.model_copy(update={"timeout_s": timeout_s, "retries": 0})
        for name, c in moved.connections.items()
    }
    return moved.model_copy(update={"connections": connections})


def modbus_units(site: SiteConfig, maps: dict[str, PointMap]) -> dict[int, PointMap]:
    return {
        d.device_id: maps[d.name]
        for d in site.devices()
        if site.connections[d.connection].protocol == "modbus"
    }


def opcua_devices(site: SiteConfig, maps: dict[str, PointMap]) -> dict[str, PointMap]:
    return {
        d.prefix: maps[d.name]
        for d in site.devices()
        if site.connections[d.connection].protocol == "opcua"
    }


@pytest.fixture
async def modbus_server(
    river_site: SiteConfig, river_maps: dict[str, PointMap]
) -> AsyncIterator[ModbusTestServer]:
    server = ModbusTestServer(modbus_units(river_site, river_maps))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def opcua_server(
    river_site: SiteConfig, river_maps: dict[str, PointMap]
) -> AsyncIterator[OpcUaTestServer]:
    server = OpcUaTestServer(opcua_devices(river_site, river_maps))
    await server.start()
    yield server
    await server.stop()


async def wait_until(condition: Callable[[], bool], limit_s: float = 5.0) -> None:
    """Yield to the event loop until `condition()` holds (fails the test after `limit_s`)."""
    step_s = 0.01
    for _ in range(int(limit_s / step_s)):
        if condition():
            return
        await asyncio.sleep(step_s)
    raise AssertionError(f"condition not met within {limit_s} s")
