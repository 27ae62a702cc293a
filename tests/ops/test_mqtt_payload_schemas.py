"""The published payloads against their documented schemas (docs/mqtt-schemas, generated from
controller.telemetry.mqtt.schemas): every message a live `hpctl run` publishes to a real
Mosquitto, on the simulated plant with the planner and prices over MQTT, validates; and the
payloads say what issue 11 found missing: state names beside codes, one time format, planned
electric power and fuel in the plan, a reason on fallbacks and recoveries (and `rules -> plan`
is a recovery), an overrule that says by what, a warning on a same-priority conflict."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiomqtt
from pydantic import ValidationError

from controller.app.demo import DEFAULT_PLANT, load_demo_inputs
from controller.config import MqttConfig, load_plant
from controller.telemetry.mqtt.schemas import MODELS, UTC_PATTERN
from drivers.clock import WallClock
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.test_mqtt_live import live_controller

TOPICS = ("state", "plan", "events", "reply", "status")
Seen = dict[str, list[object]]


async def _collect(listener: aiomqtt.Client, seen: Seen) -> None:
    async for message in listener.messages:
        topic = str(message.topic).removeprefix(f"{PREFIX}/")
        assert isinstance(message.payload, bytes)
        text = message.payload.decode("utf-8")
        seen[topic].append(text if topic == "status" else json.loads(text))


async def _until(
    condition: Callable[[], bool], collector: asyncio.Task[None], timeout_s: float = 60.0
) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            if collector.done():
                collector.result()  # the collector's error, not a timeout
                raise AssertionError("the collector stopped")
            await asyncio.sleep(0.05)


def _times(value: object) -> list[str]:
    """Every string in `value` (keys ending in _utc and texts that look like a timestamp)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_utc") and isinstance(item, str):
                found.append(item)
            found.extend(_times(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_times(item))
    elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        found.append(value)
    return found


async def test_live_payloads_match_their_schemas_and_explain_themselves(
    broker: Broker, tmp_path: Path
) -> None:
    mqtt = MqttConfig(enabled=True, port=broker.port, publish_interval_s=0.2)
    plant = load_plant(DEFAULT_PLANT).with_control(
        cycle_s=0.5, metrics_port=0, data_dir=str(tmp_path), policy="planner", mqtt=mqtt
    )
    _, scenario = load_demo_inputs(None, None)
    real = scenario.between(scenario.start_utc, scenario.start_utc + timedelta(hours=36))
    now = WallClock().now()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    prices = {
        "prices": [
            {
                "start_utc": (this_hour + timedelta(hours=k)).isoformat(),
                "price_eur_per_mwh": row.price_eur_per_mwh,
            }
            for k, row in enumerate(real)
        ]
    }
    expires = (now + timedelta(minutes=20)).isoformat()
    seen: Seen = defaultdict(list)
    async with live_controller(plant, broker, TOPICS) as op:
        collector = asyncio.create_task(_collect(op, seen))
        try:
            await _until(lambda: bool(seen["state"]), collector)  # the bridge is subscribed
            await op.publish(f"{PREFIX}/market/prices", json.dumps(prices), qos=1)
            await _until(lambda: bool(seen["plan"]), collector)
            await _until(
                lambda: any(s["source"] == "plan" for s in seen["state"]),  # type: ignore[index]
                collector,
            )
            requests = [
                {"id": "m-1", "kind": "manual", "unit": "hp1", "on": True, "heat_kw": 8000,
                 "priority": 40, "operator": "alice", "expires_utc": expires},
                {"id": "c-1", "kind": "curtail", "max_power_kw": 0, "priority": 70,
                 "operator": "tso", "expires_utc": expires},
                {"id": "b-1", "kind": "boost", "min_heat_kw": 5000, "priority": 70,
                 "operator": "bob", "expires_utc": expires},
                {"id": "x-1", "kind": "cancel", "target_id": "b-1", "priority": 70},
            ]  # fmt: skip
            for request in requests:
                await op.publish(f"{PREFIX}/request", json.dumps(request), qos=1)
                count = len(seen["reply"])
                await _until(lambda c=count: len(seen["reply"]) > c, collector)  # type: ignore[misc]

            def overruled() -> bool:
                return any(
                    "overruled by curtail request c-1" in s["units"]["hp1"]["reason"]  # type: ignore[index]
                    for s in seen["state"]
                )

            await _until(overruled, collector)
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)

    # every message on every topic validates against its schema
    problems: list[str] = []
    for topic, model in MODELS.items():
        assert seen[topic], f"nothing seen on {topic}"
        for body in seen[topic]:
            try:
                model.model_validate(body)
            except ValidationError as exc:
                problems.append(f"{topic}: {exc}")
    assert not problems, "\n".join(problems[:5])
    assert set(seen["status"]) <= {"online", "offline"}
    # one time format everywhere, event details included
    stamps = [t for topic in MODELS for body in seen[topic] for t in _times(body)]
    assert stamps and all(re.match(UTC_PATTERN, t) for t in stamps), stamps[:5]

    state = seen["state"][-1]
    assert isinstance(state, dict)
    for unit in state["units"].values():
        assert unit["state"] in ("off", "starting", "running", "stopping", "tripped")
        assert (
            unit["state"]
            == ("off", "starting", "running", "stopping", "tripped")[unit["state_code"]]
        )
    plan = seen["plan"][-1]
    assert isinstance(plan, dict)
    for unit in plan["units"].values():
        assert len(unit["power_kw"]) == plan["steps"]
        # electric power follows heat: where heat is planned, power is drawn, and less of it
        for heat_kw, power_kw in zip(unit["heat_kw"], unit["power_kw"], strict=True):
            assert (heat_kw > 0) == (power_kw > 0)
            assert power_kw < heat_kw or heat_kw == 0
    assert len(plan["power_kw"]) == plan["steps"]
    assert plan["fuel_price_eur_per_mwh"] is not None and plan["boiler_fuel_eur"] is not None

    events = [e for e in seen["events"] if isinstance(e, dict)]
    changes = [(e["kind"], e["detail"]["from"], e["detail"]["to"]) for e in events
               if e["kind"] in ("fallback", "recovery")]  # fmt: skip
    assert ("fallback", None, "rules") in changes
    assert ("recovery", "rules", "plan") in changes
    assert ("fallback", "rules", "plan") not in changes
    assert all(e["detail"].get("reason") for e in events if e["kind"] in ("fallback", "recovery"))

    replies = {r["id"]: r for r in seen["reply"] if isinstance(r, dict)}
    assert replies["m-1"]["accepted"] and replies["m-1"]["warning"] is None
    assert replies["c-1"]["accepted"] and replies["c-1"]["warning"] is None
    boost = replies["b-1"]
    assert boost["accepted"] is True
    assert "conflicts with curtail request c-1" in boost["warning"]
    assert "same priority 70" in boost["warning"]
    assert replies["x-1"]["accepted"] and replies["x-1"]["warning"] is None
