"""A heat meter as its own Modbus device, end to end over real sockets: the simulator serves
it from the same point map, the drivers read it, the estimate takes the network's demand from it
when the SCADA value is lost, and Prometheus scrapes it."""

from __future__ import annotations

import asyncio
import math
import urllib.request
from pathlib import Path

import pytest

from controller.config import load_plant
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from drivers.kinds import Role
from drivers.reading import Quality
from tests.sil.harness import rig

CITY = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "city_sea_4x44mw.toml"


async def test_the_network_heat_meter_is_served_read_estimated_and_scraped() -> None:
    plant = load_plant(CITY).with_control(policy="rules")
    async with rig(plant) as r:
        metrics = ControllerMetrics(r.plant.site, MetricSources(health=r.pool.health))
        r.cycle.add_observer(metrics)
        port = metrics.serve("127.0.0.1", 0)
        try:
            report = await r.run(600)
            body = await asyncio.to_thread(_scrape, f"http://127.0.0.1:{port}/metrics")
        finally:
            metrics.close()
        assert report is not None
        (meter,) = report.state.heat_meters
        assert meter.name == "network_meter" and meter.measures == "network"
        # the meter and the SCADA's plant I/O measure the same water: float32 apart
        assert report.state.network_heat_kw is not None and meter.heat_kw is not None
        assert meter.heat_kw == pytest.approx(report.state.network_heat_kw, rel=1e-6)
        assert meter.heat_kw > 0
        # the register counts whole kWh of what the physics delivered (read before this step)
        assert meter.energy_kwh is not None
        assert 0 < meter.energy_kwh <= r.model.delivered_heat_kwh
        assert meter.supply_temp_c is not None and meter.return_temp_c is not None
        water_kwh_per_m3_k = 975.0 * 4.19 / 3600.0
        expected_flow = meter.heat_kw / (
            water_kwh_per_m3_k * (meter.supply_temp_c - meter.return_temp_c)
        )
        assert meter.flow_m3_per_h == pytest.approx(expected_flow, rel=1e-4)
        heat_line = _sample(
            body, 'hpctl_heat_meter_heat_watts{measures="network",meter="network_meter"}'
        )
        assert heat_line == pytest.approx(meter.heat_kw * 1000.0, rel=1e-9)
        assert _sample(body, 'hpctl_device_communication_good{device="network_meter"}') == 1.0

        # the SCADA link to the plant I/O drops: the demand now comes from the meter alone
        r.model.faults.drop_comm("plant")
        report = await r.run(120)
        assert report is not None
        assert r.pool.snapshot().by_role("plant", Role.NETWORK_HEAT_KW).quality is not Quality.GOOD
        (meter,) = report.state.heat_meters
        assert meter.heat_kw is not None and meter.heat_kw > 0
        assert report.state.network_heat_kw == meter.heat_kw

        # and with the meter gone too, nobody pretends to know the demand
        r.model.faults.drop_comm("network_meter")
        report = await r.run(120)
        assert report is not None
        assert report.state.network_heat_kw is None
        assert report.state.heat_meters[0].heat_kw is None


def _sample(body: str, prefix: str) -> float:
    line = next(line for line in body.splitlines() if line.startswith(prefix + " "))
    value = float(line.split()[-1])
    assert not math.isnan(value), line
    return value


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())
