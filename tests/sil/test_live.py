"""`hpctl run` on the wall clock against the simulated plant: it controls (the heartbeat moves),
and SIGTERM hands every unit back to local control before the connections close. Its wiring:
the operator desk stands between the dispatch policy and the cycle only with MQTT on."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from controller.app.demo import DEFAULT_PLANT
from controller.app.live import compose_live, run_live
from controller.config import MqttConfig, load_plant
from controller.runtime.desk import OperatorDesk
from controller.telemetry.audit import AUDIT_FILE, read_audit
from drivers.clock import WallClock
from drivers.pool import DriverPool
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers
from tests.sil.harness import START


async def _wait_for(condition: object, attempts: int = 200) -> bool:
    for _ in range(attempts):
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sigterm_hands_the_units_back_to_local_control(tmp_path: Path) -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.2, metrics_port=0, data_dir=str(tmp_path), policy="rules"
    )
    model = PlantModel(plant.site, START)
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        stop = asyncio.Event()  # only for a failed assertion: the test stops it with SIGTERM
        task = asyncio.create_task(run_live(live, stop))
        try:
            assert await _wait_for(lambda: model.value("hp1", "heartbeat") >= 3)
            assert model.value("hp1", "remote_request") == 1
            os.kill(os.getpid(), signal.SIGTERM)
            assert await asyncio.wait_for(task, timeout=30) == 0
            assert stop.is_set()  # the signal reached the controller's stop event
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=60)
    # the signals are given back: a later SIGTERM to this process is not swallowed
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
    for unit in plant.site.units:
        assert model.value(unit.name, "remote_request") == 0
        assert model.value(unit.name, "enable_cmd") == 0
    for valve in plant.site.valves:
        assert (
            model.value(valve.name, "position_cmd_pct") == 100.0
        )  # open: local control needs flow
    assert (tmp_path / "unit_history.sqlite3").exists()


async def test_without_mqtt_no_desk_is_wired_and_the_cycle_asks_the_dispatch_policy(
    tmp_path: Path,
) -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(data_dir=str(tmp_path), policy="rules")
    assert not plant.control.mqtt.enabled
    clock = WallClock()
    live = compose_live(plant, DriverPool(plant.site, plant.maps, clock), clock)  # not opened
    try:
        assert live.ops.desk is None
        assert live.ops.bridge is None
        assert live.ops.policy is live.dispatch.policy
        assert live.metrics.sources.overrides is None
        # no desk, no requests: the gauges read 0 for every kind
        value = live.metrics.registry.get_sample_value
        for kind in ("manual", "setpoint", "curtail", "boost"):
            assert value("hpctl_operator_overrides_active", {"kind": kind}) == 0.0
    finally:
        live.close()


async def test_with_mqtt_the_desk_wraps_the_dispatch_policy(tmp_path: Path) -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(
        data_dir=str(tmp_path), policy="rules", mqtt=MqttConfig(enabled=True)
    )
    clock = WallClock()
    live = compose_live(plant, DriverPool(plant.site, plant.maps, clock), clock)  # not opened
    try:
        desk = live.ops.desk
        assert isinstance(desk, OperatorDesk)
        assert live.ops.policy is desk
        assert live.ops.bridge is not None
        assert live.metrics.sources.overrides is desk
    finally:
        live.close()


async def test_a_read_only_run_stops_without_claiming_a_hand_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.2, metrics_port=0, data_dir=str(tmp_path), policy="rules", read_only=True
    )
    model = PlantModel(plant.site, START)
    caplog.set_level(logging.INFO, logger="controller")
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        stop = asyncio.Event()
        task = asyncio.create_task(run_live(live, stop))
        try:
            audit = tmp_path / AUDIT_FILE
            # the controller is up and cycling: its start is logged before the first tick
            assert await _wait_for(
                lambda: any(
                    "read-only (nothing is written)" in r.getMessage() for r in caplog.records
                )
            )
            await asyncio.sleep(0.5)  # a few cycles of 0.2 s (the test asserts nothing on time)
        finally:
            stop.set()
            assert await asyncio.wait_for(task, timeout=60) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert "stopped (read-only: nothing written, nothing to hand back)" in messages
    assert not any("handed back" in message for message in messages)
    assert read_audit(audit, kinds=["handback"]) == []
    for unit in plant.site.units:  # never commanded, never handed back
        assert model.value(unit.name, "remote_request") == 0
