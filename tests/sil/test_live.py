"""`hpctl run` on the wall clock against the simulated plant: it controls (the heartbeat moves),
and SIGTERM hands every unit back to local control before the connections close. Its wiring:
the operator desk stands between the dispatch policy and the cycle only with MQTT on."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import urllib.error
import urllib.request
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


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:  # /healthz answers 503 while unhealthy
        return int(error.code), error.read().decode()


async def test_a_read_only_run_says_so_in_metrics_healthz_and_its_audit(
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
            started = re.compile(r"metrics on (http://[\d.]+:\d+)/metrics")

            def base_url() -> str | None:
                found = (started.search(r.getMessage()) for r in caplog.records)
                return next((m.group(1) for m in found if m is not None), None)

            assert await _wait_for(lambda: base_url() is not None)
            url = base_url()
            assert url is not None

            def healthz() -> tuple[int, str]:
                return _get(f"{url}/healthz")

            assert await _wait_for(lambda: '"cycle"' in healthz()[1])
            _, body = await asyncio.to_thread(healthz)
            assert json.loads(body)["read_only"] is True
            _, exposition = await asyncio.to_thread(_get, f"{url}/metrics")
            assert "hpctl_read_only 1.0" in exposition.splitlines()
        finally:
            stop.set()
            assert await asyncio.wait_for(task, timeout=60) == 0
    rows = read_audit(tmp_path / AUDIT_FILE, kinds=["shutdown", "handback"])
    assert [row.kind for row in rows] == ["shutdown"]
    assert rows[0].detail["read_only"] is True and rows[0].detail["handed_back"] is False


async def test_a_hand_back_that_reached_no_device_is_logged_and_audited_as_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.2, metrics_port=0, data_dir=str(tmp_path), policy="rules"
    )
    model = PlantModel(plant.site, START)
    caplog.set_level(logging.INFO, logger="controller")
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        stop = asyncio.Event()
        task = asyncio.create_task(run_live(live, stop))
        try:
            assert await _wait_for(lambda: model.value("hp1", "heartbeat") >= 3)
            for device in plant.site.devices():  # every cable pulled before the stop
                model.faults.drop_comm(device.name)
        finally:
            stop.set()
            assert await asyncio.wait_for(task, timeout=120) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert not any("units handed back to local control" in message for message in messages)
    assert any("the hand-back reached no device" in message for message in messages)
    (row,) = read_audit(tmp_path / AUDIT_FILE, kinds=["handback"])
    assert row.detail["active"] is False
    assert row.detail["outcome"] == "failed"
    devices = row.detail["devices"]
    assert isinstance(devices, dict)
    assert "hp1" in devices and all(answer != "ok" for answer in devices.values())
    for unit in plant.site.units:  # the units were never told: they still wait for a heartbeat
        assert model.value(unit.name, "remote_request") == 1
