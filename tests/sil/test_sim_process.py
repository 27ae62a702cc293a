"""`hpctl sim` in its own process serves the plant to any client: here the controller's drivers
(and `hpctl run --read-only`) in another process, as a commissioning engineer would use it."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

from controller.app.demo import DEFAULT_PLANT
from controller.config import load_plant
from drivers.clock import WallClock
from drivers.pool import DriverPool
from drivers.reading import Quality


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_until_listening(port: int, attempts: int = 300) -> None:
    for _ in range(attempts):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


async def test_hpctl_sim_serves_the_drivers_of_another_process() -> None:
    modbus_port, opcua_port = _free_port(), _free_port()
    hpctl = [sys.executable, "-m", "controller.app.cli"]
    sim = await asyncio.create_subprocess_exec(
        *hpctl,
        "sim",
        "--plant",
        str(DEFAULT_PLANT),
        "--modbus-port",
        str(modbus_port),
        "--opcua-port",
        str(opcua_port),
        "--speed",
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _wait_until_listening(modbus_port)
        await _wait_until_listening(opcua_port)
        plant = load_plant(DEFAULT_PLANT)
        site = plant.site.with_ports({"plc": modbus_port, "scada": opcua_port})
        async with DriverPool(site, plant.maps, WallClock()) as pool:
            results = await pool.poll_all()
            assert all(results.values()), results
            snapshot = pool.snapshot()
            assert snapshot.by_role("tank1", "layer_temp_c", 8).quality is Quality.GOOD
            assert snapshot.by_role("hp1", "state_code").quality is Quality.GOOD
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            stdout, _ = await asyncio.wait_for(sim.communicate(), timeout=30)
        except TimeoutError:
            sim.kill()
            stdout, _ = await sim.communicate()
    output = stdout.decode()
    assert str(modbus_port) in output and str(opcua_port) in output  # it says where it listens
