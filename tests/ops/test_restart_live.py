"""`hpctl run` restarted against the simulated plant and a real Mosquitto: an accepted
curtailment and the prices received over MQTT outlive the controller process."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from controller.app.demo import DEFAULT_PLANT, load_demo_inputs
from controller.config import MqttConfig, load_plant
from controller.telemetry.audit import AUDIT_FILE, read_audit
from drivers.clock import WallClock
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import client, next_json
from tests.ops.test_mqtt_live import live_controller


async def test_an_override_and_the_prices_survive_a_controller_restart(
    broker: Broker, tmp_path: Path
) -> None:
    mqtt = MqttConfig(enabled=True, port=broker.port, publish_interval_s=0.2)
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.5, metrics_port=0, data_dir=str(tmp_path), policy="planner", mqtt=mqtt
    )
    _, scenario = load_demo_inputs(None, None)
    real = scenario.between(scenario.start_utc, scenario.start_utc + timedelta(hours=36))
    this_hour = WallClock().now().replace(minute=0, second=0, microsecond=0)
    prices = {
        "prices": [
            {
                "start_utc": (this_hour + timedelta(hours=k)).isoformat(),
                "price_eur_per_mwh": row.price_eur_per_mwh,
            }
            for k, row in enumerate(real)
        ]
    }
    expires = (WallClock().now() + timedelta(hours=2)).replace(microsecond=0)
    curtail = {
        "id": "grid-1",
        "kind": "curtail",
        "max_power_kw": 0,
        "priority": 70,
        "operator": "tso",
        "expires_utc": expires.isoformat(),
    }
    async with live_controller(plant, broker, ("state", "plan", "reply")) as op:
        await next_json(op, f"{PREFIX}/state")  # the bridge is connected and subscribed
        await op.publish(f"{PREFIX}/market/prices", json.dumps(prices), qos=1)  # not retained
        plan = await next_json(op, f"{PREFIX}/plan", timeout_s=60.0)
        assert plan["usable"] is True, plan
        await op.publish(f"{PREFIX}/request", json.dumps(curtail), qos=1)
        answer = await next_json(op, f"{PREFIX}/reply")
        assert answer["accepted"] is True, answer

    # clear the first life's retained state and plan: whatever arrives next is the second's
    async with client(broker) as cleaner:
        for topic in ("state", "plan"):
            await cleaner.publish(f"{PREFIX}/{topic}", b"", qos=1, retain=True)
    restarted_utc = WallClock().now()
    async with live_controller(plant, broker, ("state",)) as op:
        state = await next_json(op, f"{PREFIX}/state")
        overrides = state["overrides"]
        assert isinstance(overrides, list)
        assert [o["id"] for o in overrides] == ["grid-1"]
        assert datetime.fromisoformat(overrides[0]["expires_utc"]) == expires
        units = state["units"]
        assert isinstance(units, dict)
        assert all(unit["target_on"] is False for unit in units.values())
        # no price was sent in this life: a plan can only come from the restored prices
        for _ in range(200):
            if state["source"] == "plan":
                break
            state = await next_json(op, f"{PREFIX}/state", timeout_s=60.0)
        assert state["source"] == "plan"

    rows = read_audit(tmp_path / AUDIT_FILE, since_utc=restarted_utc)
    restored = [r for r in rows if r.kind == "override_restored"]
    assert [r.detail["id"] for r in restored] == ["grid-1"]
    assert not [r for r in rows if r.kind in ("override_released", "override_expired")]
