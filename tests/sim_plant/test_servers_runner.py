"""`hpctl sim`'s runner: ports, settings, and the plant advancing on a simulated clock."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua.client.client import Client

from drivers.clock import SimClock
from drivers.site import SiteError, load_site
from sim_plant.runner import run_sim, server_ports, sim_settings
from tests.sim_plant.servers_support import RIVER_PLANT, node_id

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
POINTMAPS = RIVER_PLANT.parent.parent / "pointmaps"


class CountingClock(SimClock):
    """Counts the runner's sleeps, so the test advances time only while the runner waits."""

    sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds)


def plant_file(tmp_path: Path, sim_table: str) -> Path:
    """The river plant with point maps found from anywhere and the given [sim] table."""
    text = RIVER_PLANT.read_text().replace('"../pointmaps/', f'"{POINTMAPS}/')
    text = text.replace("\n[sim]\n", f"\n[sim]\n{sim_table}\n")
    path = tmp_path / "plant.toml"
    path.write_text(text)
    return path


async def settle(condition: Callable[[], bool], attempts: int = 500) -> None:
    """Let the runner task run until `condition()` holds (bounded by attempts, not by time)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the runner did not get there")


def opcua_endpoint(banner: str) -> str:
    found = re.search(r"opc\.tcp://[^ ,;]+", banner)
    assert found is not None, banner
    return found.group(0)


def test_port_overrides_count_up_per_protocol() -> None:
    site = load_site(RIVER_PLANT)
    second = site.connections["plc"].model_copy(update={"port": 5030})
    site = site.model_copy(update={"connections": {**site.connections, "plc2": second}})
    assert server_ports(site, None, None) == {"plc": 5020, "scada": 4840, "plc2": 5030}
    assert server_ports(site, 1502, 4841) == {"plc": 1502, "scada": 4841, "plc2": 1503}
    assert server_ports(site, 0, None) == {"plc": 0, "scada": 4840, "plc2": 0}


def test_sim_settings_are_checked(tmp_path: Path) -> None:
    site = load_site(plant_file(tmp_path, "step_s = 5\noutdoor_temp_c = -7.5"))
    settings = sim_settings(site, "plant.toml")
    assert (settings.step_s, settings.outdoor_temp_c, settings.initial_soc) == (5.0, -7.5, 0.5)
    bad = load_site(plant_file(tmp_path, "step_s = 0"))
    with pytest.raises(SiteError, match=r"plant.toml: invalid \[sim\] table\n  sim.step_s"):
        sim_settings(bad, "plant.toml")


async def test_the_plant_advances_with_the_clock_until_stopped(tmp_path: Path) -> None:
    path = plant_file(tmp_path, "step_s = 10\noutdoor_temp_c = -7.5")
    clock = SimClock(START)
    stop = asyncio.Event()
    out = io.StringIO()
    runner = asyncio.create_task(run_sim(path, 0, 0, 2.0, None, None, clock, stop, out=out))
    await settle(lambda: "hpctl sim:" in out.getvalue() or runner.done())
    assert "2x real time in 10 s steps from 2026-01-15 06:00 UTC" in out.getvalue()
    client = Client(opcua_endpoint(out.getvalue()), timeout=2)
    await client.connect()
    try:
        namespace = await client.get_namespace_index("urn:hpctl:plant")
        outdoor = client.get_node(node_id("Plant.OutdoorTempC", namespace))
        layer = client.get_node(node_id("Tank1.Layer1TempC", namespace))
        before = await layer.read_data_value()
        clock.advance(5.0)  # one 10 s step at 2x real time
        for _ in range(500):  # until the runner has stepped and synced
            reading = await outdoor.read_data_value()
            if reading.Value is not None and reading.Value.Value == -7.5:
                break
        assert reading.Value is not None and reading.Value.Value == -7.5
        assert reading.SourceTimestamp == START + timedelta(seconds=10)
        after = await layer.read_data_value()
        assert after.SourceTimestamp == START + timedelta(seconds=10)
        assert after.Value is not None and before.Value is not None
        assert after.Value.Value != before.Value.Value  # the tank lost heat in the step
    finally:
        await client.disconnect()
    stop.set()
    await asyncio.wait_for(runner, 10)


async def test_a_scenario_drives_the_weather_and_its_end_ends_the_run(tmp_path: Path) -> None:
    path = plant_file(tmp_path, "step_s = 600")
    scenario = tmp_path / "scenario.csv"
    scenario.write_text(
        "timestamp_utc,price_eur_per_mwh,outdoor_temp_c\n"
        "2026-01-15T06:00:00Z,80,3.0\n"
        "2026-01-15T07:00:00Z,90,4.0\n"
    )
    clock = CountingClock(START)
    out = io.StringIO()
    runner = asyncio.create_task(run_sim(path, 0, 0, 600.0, scenario, None, clock, out=out))
    await settle(lambda: "hpctl sim:" in out.getvalue() or runner.done())
    client = Client(opcua_endpoint(out.getvalue()), timeout=2)
    await client.connect()
    outdoor_c: dict[int, float] = {}
    try:
        namespace = await client.get_namespace_index("urn:hpctl:plant")
        outdoor = client.get_node(node_id("Plant.OutdoorTempC", namespace))
        for step in range(1, 13):  # two hours of 600 s steps, one second each at 600x
            await settle(lambda: clock.sleeps >= step or runner.done())  # noqa: B023
            if step in (2, 8):  # after the steps starting at 06:00 and at 07:00
                outdoor_c[step] = await outdoor.read_value()
            clock.advance(1.0)
    finally:
        await client.disconnect()
    await asyncio.wait_for(runner, 10)
    assert outdoor_c == {2: 3.0, 8: 4.0}
    assert clock.sleeps == 12
    assert "the scenario ends at 2026-01-15 08:00:00+00:00" in out.getvalue()


async def test_a_start_outside_the_scenario_is_refused(tmp_path: Path) -> None:
    path = plant_file(tmp_path, "")
    scenario = tmp_path / "scenario.csv"
    scenario.write_text("timestamp_utc,price_eur_per_mwh\n2026-01-15T06:00:00Z,80\n")
    later = START + timedelta(days=1)
    with pytest.raises(ValueError, match="outside the scenario"):
        await run_sim(path, 0, 0, 1.0, scenario, later, SimClock(START), out=io.StringIO())
