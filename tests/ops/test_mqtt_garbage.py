"""Bad messages against a real Mosquitto: retained poison never keeps the bridge offline, a
handler's failure is that message's garbage, and a flood is counted one by one but audited in
a bounded number of rows."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from controller.app import audit_cli
from controller.telemetry.audit import read_audit
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.mqtt.market import MqttMarket
from controller.telemetry.mqtt.messages import CarbonUpdate
from controller.telemetry.sources import MetricSources
from drivers.clock import SimClock
from tests.core.fakes import T0
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import Controller, client, controller, mqtt_plant, next_json, wait_until

REQUEST = f"{PREFIX}/request"
REPLY = f"{PREFIX}/reply"
PRICES = f"{PREFIX}/market/prices"
CARBON = f"{PREFIX}/market/carbon"
FUEL = f"{PREFIX}/market/fuel"


def _curtail(request_id: str) -> bytes:
    expires = (T0 + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = {
        "id": request_id,
        "kind": "curtail",
        "max_power_kw": 3000,
        "priority": 50,
        "expires_utc": expires,
    }
    return json.dumps(body).encode()


def _garbage_rows(ctl: Controller) -> list[dict[str, object]]:
    assert ctl.audit.flush()
    return [row.detail for row in read_audit(ctl.audit.path, kinds=["mqtt_garbage"])]


async def test_retained_poison_on_every_market_topic_leaves_requests_answered_and_audited(
    broker: Broker, tmp_path: Path
) -> None:
    poison = {
        # more digits than Python converts to an int
        PRICES: b'{"prices": [{"start_utc": "2024-01-08T00:00:00Z", "price_eur_per_mwh": '
        + b"9" * 5000
        + b"}]}",
        CARBON: b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the JSON reader recurses
        FUEL: b'{"fuel_price_eur_per_mwh": \xff\xfe}',  # not UTF-8
    }
    async with client(broker) as publisher:
        for topic, payload in poison.items():
            await publisher.publish(topic, payload, qos=1, retain=True)
    async with controller(mqtt_plant(broker), SimClock(T0), tmp_path) as ctl, client(broker) as op:
        stats = ctl.bridge.stats
        assert await wait_until(lambda: stats.garbage_total == 3)
        await op.subscribe(REPLY, qos=1)
        await op.publish(REQUEST, _curtail("after-poison"), qos=1)
        answer = await next_json(op, REPLY)
        assert answer["id"] == "after-poison" and answer["accepted"] is True, answer
        assert stats.connected and stats.reconnects_total == 0
        assert [r.request_id for r in ctl.desk.active] == ["after-poison"]
        assert ctl.audit.flush()
        rows = read_audit(ctl.audit.path, kinds=["request", "answer"])
        assert [(row.kind, row.detail["id"]) for row in rows] == [
            ("request", "after-poison"),
            ("answer", "after-poison"),
        ]
        garbage = {str(row["topic"]): row for row in _garbage_rows(ctl)}
        assert set(garbage) == set(poison)
        assert all(row["retained"] is True and row["count"] == 1 for row in garbage.values())
        assert "not JSON" in str(garbage[FUEL]["reason"])
        assert "\\xff\\xfe" in str(garbage[FUEL]["excerpt"])  # bytes shown, not lost
        assert "not usable JSON" in str(garbage[PRICES]["reason"])
        assert len(str(garbage[CARBON]["excerpt"])) == 200


async def test_an_empty_retained_payload_is_neither_garbage_nor_answered(
    broker: Broker, tmp_path: Path
) -> None:
    async with controller(mqtt_plant(broker), SimClock(T0), tmp_path) as ctl, client(broker) as op:
        await op.subscribe(REPLY, qos=1)
        await op.publish(PRICES, b"", qos=1, retain=True)
        await op.publish(REQUEST, b"", qos=1)
        await op.publish(REQUEST, _curtail("after-empty"), qos=1)
        answer = await next_json(op, REPLY)  # the first reply is the valid request's
        assert answer["id"] == "after-empty"
        stats = ctl.bridge.stats
        assert stats.messages_received_total == 3
        assert stats.garbage_total == 0 and stats.requests_rejected_total == 0
        assert _garbage_rows(ctl) == []


class FailingCarbonMarket(MqttMarket):
    """A market whose carbon handling fails: stands for any fault inside a message's handler."""

    def add_carbon(self, update: CarbonUpdate, received_utc: datetime) -> None:
        raise RuntimeError("carbon store broken")


async def test_a_failing_handler_makes_its_message_garbage_not_the_connections_end(
    broker: Broker, tmp_path: Path
) -> None:
    carbon = b'{"values": [{"start_utc": "2024-01-08T00:00:00Z", "carbon_g_per_kwh": 120}]}'
    async with (
        controller(mqtt_plant(broker), SimClock(T0), tmp_path, market=FailingCarbonMarket()) as ctl,
        client(broker) as op,
    ):
        await op.subscribe(REPLY, qos=1)
        await op.publish(CARBON, carbon, qos=1)
        await op.publish(REQUEST, _curtail("after-failure"), qos=1)
        answer = await next_json(op, REPLY)
        assert answer["id"] == "after-failure" and answer["accepted"] is True
        stats = ctl.bridge.stats
        assert stats.garbage_total == 1 and stats.carbon_updates_total == 0
        assert stats.connected and stats.reconnects_total == 0
        (row,) = _garbage_rows(ctl)
        assert row["topic"] == CARBON
        assert row["reason"] == "failed: RuntimeError: carbon store broken"


async def test_a_flood_of_garbage_is_counted_one_by_one_and_audited_in_a_few_rows(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """4,000 bad messages in 4 s used to write 8,000 audit rows of up to 2,000 characters."""
    clock = SimClock(T0)
    flood = 300
    bad_request = b'{"id": "flood", "kind": "manual", "note": "' + b"x" * 3000 + b'"}'
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl, client(broker) as op:
        for _ in range(flood):
            await op.publish(REQUEST, bad_request, qos=1)
            await op.publish(PRICES, b"\xff" * 3000, qos=1)
        stats = ctl.bridge.stats
        assert await wait_until(lambda: stats.garbage_total == 2 * flood, attempts=4000)
        assert stats.requests_rejected_total == flood  # every bad request is still answered
        # within the first minute: the first bad message per topic, with a bounded excerpt
        rows = _garbage_rows(ctl)
        assert [(row["topic"], row["count"]) for row in rows] == [(REQUEST, 1), (PRICES, 1)]
        assert all(len(str(row["excerpt"])) == 200 for row in rows)
        assert read_audit(ctl.audit.path, kinds=["request", "answer"]) == []

        clock.advance(61.0)
        await ctl.cycle.tick()  # the bridge wakes for the cycle's report and writes summaries
        assert await wait_until(lambda: len(_garbage_rows(ctl)) == 4)
        summaries = _garbage_rows(ctl)[2:]
        assert sorted((str(row["topic"]), row["count"]) for row in summaries) == [
            (PRICES, flood - 1),
            (REQUEST, flood - 1),
        ]
        assert any("manual.unit: Field required" in str(row["reason"]) for row in summaries)

        metrics = ControllerMetrics(
            ctl.plant.site, MetricSources(bridge=ctl.bridge), control=ctl.plant.control
        )
        metrics._observe_comms()
        garbage_metric = metrics.registry.get_sample_value("hpctl_mqtt_garbage_messages_total")
        assert garbage_metric == 2 * flood
    # nothing more came: stopping writes no empty summaries; hpctl audit shows the rows
    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    argv = ["--db", str(ctl.audit.path), "--kind", "mqtt_garbage", "--json"]
    assert audit_cli.run(parser.parse_args(argv)) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(row["detail"]["count"] for row in printed) == 2 * flood
    assert len(printed) == 4
