"""Faults over real sockets: a device that drops off and comes back, a controller that goes
silent (the units fall back to local control), read-only commissioning, a tripped unit, and
the Prometheus endpoint scraped over HTTP."""

from __future__ import annotations

import asyncio
import urllib.request

from controller.app.demo import DEFAULT_PLANT
from controller.config import load_plant
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from drivers.kinds import StateCode
from drivers.reading import Quality
from tests.sil.harness import rig

STALE_OR_BAD = (Quality.STALE, Quality.BAD)


async def test_a_unit_that_drops_off_goes_bad_is_not_commanded_and_recovers() -> None:
    async with rig() as r:
        await r.run(60)
        assert r.pool.snapshot().by_role("hp1", "heat_kw").quality is Quality.GOOD
        r.model.faults.drop_comm("hp1")
        report = await r.run(30)
        assert report is not None
        assert r.pool.snapshot().by_role("hp1", "heat_kw").quality in STALE_OR_BAD
        assert not report.state.unit("hp1").data_good
        assert (
            r.pool.snapshot().by_role("hp2", "heat_kw").quality is Quality.GOOD
        )  # same connection
        assert report.commands.units["hp1"].enable is False
        assert "hp1" in report.write_errors or "hp1" not in report.writes
        r.model.faults.restore_comm("hp1")
        report = await r.run(120)  # back-off is measured on the simulated clock
        assert report is not None
        assert r.pool.snapshot().by_role("hp1", "heat_kw").quality is Quality.GOOD
        assert report.state.unit("hp1").data_good


async def test_a_tank_that_drops_off_hands_the_plant_back_to_local_control() -> None:
    async with rig() as r:
        await r.run(60)
        r.model.faults.drop_comm("tank1")
        report = await r.run(r.plant.control.safety.stale_handback_s + 30)
        assert report is not None and report.handed_back
        assert any(i.reason == "tank_data_stale_handback" for i in report.interlocks)
        await r.run(120)
        assert r.model.value("hp1", "remote_active") == 0  # the unit now runs on its own


async def test_units_fall_back_to_local_control_when_the_heartbeat_stops() -> None:
    async with rig(initial_soc=0.0) as r:  # an empty tank: local control has work to do
        await r.run(60)
        assert r.model.value("hp1", "remote_active") == 1
        r.ticking = False  # the controller dies: no more writes, no heartbeat
        timeout_s = r.plant.site.units[0].heartbeat_timeout_s
        await r.run(timeout_s + 30)
        assert r.model.value("hp1", "remote_active") == 0
        await r.run(900)
        assert any(
            r.model.value(u.name, "state_code") == StateCode.RUNNING for u in r.plant.site.units
        )
        r.ticking = True  # the controller comes back: the heartbeat resumes, units follow it again
        await r.run(60)
        assert r.model.value("hp1", "remote_active") == 1


async def test_read_only_commissioning_writes_nothing() -> None:
    read_only = load_plant(DEFAULT_PLANT).with_control(policy="rules", read_only=True)
    async with rig(read_only) as r:  # as `hpctl run --read-only`
        for _ in range(10):
            report = await r.run(r.plant.control.cycle_s)
            assert report is not None and report.writes == {}
        assert report.targets.unit_on  # it still decides
        assert sum(h.writes_total for h in r.pool.health().values()) == 0
        assert r.model.value("hp1", "heartbeat") == 0  # never written


async def test_a_tripped_unit_is_held_off_and_counted() -> None:
    async with rig(initial_soc=0.1) as r:
        await r.run(1200)
        running = [
            u.name
            for u in r.plant.site.units
            if r.model.value(u.name, "state_code") == StateCode.RUNNING
        ]
        assert running, "a cold tank should have a unit running"
        victim = running[0]
        r.model.faults.trip_unit(victim)
        report = await r.run(30)
        assert report is not None
        assert report.state.unit(victim).tripped
        assert report.commands.units[victim].enable is False
        assert r.model.value(victim, "enable_cmd") == 0  # dropping enable resets the trip


async def test_metrics_are_scraped_over_http() -> None:
    async with rig() as r:
        metrics = ControllerMetrics(r.plant.site, MetricSources(health=r.pool.health))
        r.cycle.add_observer(metrics)
        port = metrics.serve("127.0.0.1", 0)
        try:
            await r.run(60)
            body = await asyncio.to_thread(_scrape, f"http://127.0.0.1:{port}/metrics")
        finally:
            metrics.close()
    assert 'hpctl_unit_state_code{unit="hp1"}' in body
    assert 'hpctl_tank_layer_temperature_celsius{layer="8",tank="tank1"}' in body
    assert "hpctl_cycle_duration_seconds_bucket" in body
    assert 'hpctl_device_communication_good{device="hp1"} 1.0' in body
    soc_line = next(
        line for line in body.splitlines() if line.startswith("hpctl_tank_state_of_charge_ratio")
    )
    assert 0.0 < float(soc_line.split()[-1]) < 1.0


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())
