"""`hpctl run` with `[control.mqtt]` on, against the simulated plant and a real Mosquitto: the
state appears on the broker, an operator's curtail request reaches the targets, and the audit
store holds the writes, the request, its answer and the shutdown hand-back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import aiomqtt

from controller.app.demo import DEFAULT_PLANT, load_demo_inputs
from controller.app.live import run_live
from controller.config import MqttConfig, Plant, load_plant
from controller.telemetry.audit import AUDIT_FILE, read_audit
from drivers.clock import WallClock
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import client, next_json
from tests.sil.harness import START


@asynccontextmanager
async def live_controller(
    plant: Plant, broker: Broker, topics: tuple[str, ...]
) -> AsyncIterator[aiomqtt.Client]:
    """`hpctl run` against the simulated plant, and an operator's client subscribed to `topics`
    (under the plant's prefix). The controller is stopped on the way out, also after a failed
    assertion, and must exit cleanly."""
    model = PlantModel(plant.site, START)
    stop = asyncio.Event()
    async with PlantServers(plant.site, plant.maps, model) as servers, client(broker) as op:
        for topic in topics:
            await op.subscribe(f"{PREFIX}/{topic}", qos=1)
        live = plant.with_site(plant.site.with_ports(servers.ports))
        task = asyncio.create_task(run_live(live, stop))
        try:
            yield op
        finally:
            stop.set()
            exit_code = await asyncio.wait_for(task, timeout=60)
    assert exit_code == 0


async def test_live_controller_bridges_requests_and_audits(broker: Broker, tmp_path: Path) -> None:
    mqtt = MqttConfig(enabled=True, port=broker.port, publish_interval_s=0.2)
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.2, metrics_port=0, data_dir=str(tmp_path), policy="rules", mqtt=mqtt
    )
    async with live_controller(plant, broker, ("state", "reply")) as op:
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
    rows = read_audit(tmp_path / AUDIT_FILE)
    kinds = {row.kind for row in rows}
    assert {"fallback", "write", "request", "answer", "handback"} <= kinds
    assert rows[-1].kind == "handback"
    assert rows[-1].detail["what"] == "shutdown"


async def test_prices_over_mqtt_become_the_plan_the_live_controller_runs(
    broker: Broker, tmp_path: Path
) -> None:
    """The energy trader's path: day-ahead prices published to the broker are the only price
    source; the planner solves on them, the plan appears retained on P/plan and the cycle runs
    it. The prices are the demo scenario's first 36 real DK1 hours, laid onto the coming hours."""
    mqtt = MqttConfig(enabled=True, port=broker.port, publish_interval_s=0.2)
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.5, metrics_port=0, data_dir=str(tmp_path), policy="planner", mqtt=mqtt
    )
    assert plant.control.market.price_file is None  # MQTT is the only price feed
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
    async with live_controller(plant, broker, ("state", "plan")) as op:
        first = await next_json(op, f"{PREFIX}/state")
        assert first["source"] == "rules"  # no prices yet: the ladder stays on the rules
        await op.publish(f"{PREFIX}/market/prices", json.dumps(prices), qos=1)
        plan = await next_json(op, f"{PREFIX}/plan", timeout_s=60.0)
        assert plan["usable"] is True, plan
        assert plan["status"] in ("optimal", "time_limit")
        assert plan["solver_start"] in ("cold", "none")  # the first plan has none to warm from
        assert plan["time_to_first_solution_s"] is not None
        inputs = plan["inputs"]  # where each input of this plan came from
        assert isinstance(inputs, dict)
        assert {"price", "carbon", "outdoor", "demand", "source", "fuel"} <= set(inputs)
        # each step is priced with the hour it falls in, as published
        plan_start = datetime.fromisoformat(str(plan["start_utc"]))
        step = timedelta(seconds=float(plan["step_s"]))  # type: ignore[arg-type]
        planned = plan["price_eur_per_mwh"]
        assert isinstance(planned, list)
        for k, price in enumerate(planned[:16]):
            hour = (plan_start + k * step - this_hour) // timedelta(hours=1)
            assert price == round(real[hour].price_eur_per_mwh, 2), k
        for _ in range(100):
            state = await next_json(op, f"{PREFIX}/state")
            if state["source"] == "plan":
                break
        assert state["source"] == "plan"
    plans = read_audit(tmp_path / AUDIT_FILE, kinds=["plan"])
    assert plans and plans[0].detail["usable"] is True
