"""`hpctl run` with `[control.mqtt]` on, against the simulated plant and a real Mosquitto: the
state appears on the broker, an operator's curtail request reaches the targets, and the audit
store holds the writes, the request, its answer and the shutdown hand-back."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from controller.audit import AUDIT_FILE, read_audit
from controller.config import MqttConfig, load_plant
from controller.demo import DEFAULT_PLANT
from controller.live import run_live
from drivers.clock import WallClock
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import client, next_json
from tests.sil.harness import START


async def test_live_controller_bridges_requests_and_audits(broker: Broker, tmp_path: Path) -> None:
    mqtt = MqttConfig(enabled=True, port=broker.port, publish_interval_s=0.2)
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.2, metrics_port=0, data_dir=str(tmp_path), policy="rules", mqtt=mqtt
    )
    model = PlantModel(plant.site, START)
    stop = asyncio.Event()
    async with PlantServers(plant.site, plant.maps, model) as servers, client(broker) as op:
        await op.subscribe(f"{PREFIX}/state", qos=1)
        await op.subscribe(f"{PREFIX}/reply", qos=1)
        live = plant.with_site(plant.site.with_ports(servers.ports))
        task = asyncio.create_task(run_live(live, stop))
        try:
            first = await next_json(op, f"{PREFIX}/state")
            assert first["source"] == "rules"
            expires = WallClock().now() + timedelta(minutes=10)
            request = {
                "id": "grid-1",
                "kind": "curtail",
                "max_power_kw": 0,
                "priority": 70,
                "operator": "tso",
                "expires_utc": expires.isoformat(),
            }
            await op.publish(f"{PREFIX}/request", json.dumps(request), qos=1)
            answer = await next_json(op, f"{PREFIX}/reply")
            assert answer["accepted"] is True, answer
            for _ in range(50):
                state = await next_json(op, f"{PREFIX}/state")
                if state["overrides"]:
                    break
            assert [o["id"] for o in state["overrides"]] == ["grid-1"]  # type: ignore[index]
            units = state["units"]
            assert isinstance(units, dict)
            assert all(unit["target_on"] is False for unit in units.values())
        finally:
            stop.set()  # also when an assertion failed: never leave the controller running
            exit_code = await asyncio.wait_for(task, timeout=60)
    assert exit_code == 0
    rows = read_audit(tmp_path / AUDIT_FILE)
    kinds = {row.kind for row in rows}
    assert {"fallback", "write", "request", "answer", "handback"} <= kinds
    assert rows[-1].kind == "handback"
    assert rows[-1].detail["what"] == "shutdown"
