"""The MQTT bridge against a real Mosquitto: retained state, last will, operator requests
(accepted, honoured, expiring; rejected with the reason), garbage, broker restart."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import aiomqtt

from controller.telemetry.audit import read_audit
from drivers.clock import SimClock, WallClock
from tests.core.fakes import T0
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import client, controller, mqtt_plant, next_json, next_text, wait_until

REQUEST = f"{PREFIX}/request"
REPLY = f"{PREFIX}/reply"


def _iso(when: object) -> str:
    return when.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]


async def _event(listener: aiomqtt.Client, kind: str) -> dict[str, object]:
    for _ in range(20):
        event = await next_json(listener, f"{PREFIX}/events")
        if event["kind"] == kind:
            return event
    raise AssertionError(f"no {kind} event")


async def test_state_and_status_are_retained_for_late_subscribers(
    broker: Broker, tmp_path: Path
) -> None:
    clock = SimClock(T0)
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl:
        await ctl.cycle.tick()
        # the first cycle's fallback event (none -> rules), then the state
        assert await wait_until(lambda: ctl.bridge.stats.published_total >= 2)
        async with client(broker) as late:
            await late.subscribe(f"{PREFIX}/status", qos=1)
            status, retained = await next_text(late, f"{PREFIX}/status")
            assert (status, retained) == ("online", True)
            await late.subscribe(f"{PREFIX}/state", qos=1)
            async with asyncio.timeout(15):
                message = await anext(aiter(late.messages))
            assert message.retain
            assert isinstance(message.payload, bytes)
            state = json.loads(message.payload)
    assert state["at_utc"] == "2024-01-08T00:00:00Z"
    assert state["source"] == "rules"
    assert abs(state["soc"] - 0.6) < 1e-6
    assert state["units"]["hp1"]["target_on"] is True
    assert state["units"]["hp2"]["target_on"] is False
    assert state["overrides"] == []


async def test_clean_stop_sets_status_offline(broker: Broker, tmp_path: Path) -> None:
    async with controller(mqtt_plant(broker), SimClock(T0), tmp_path):
        pass
    async with client(broker) as late:
        await late.subscribe(f"{PREFIX}/status", qos=1)
        assert await next_text(late, f"{PREFIX}/status") == ("offline", True)


class CuttableProxy:
    """A TCP relay to the broker whose connections can be cut without an MQTT DISCONNECT."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()


async def test_last_will_marks_the_bridge_offline_when_its_connection_dies(
    broker: Broker, tmp_path: Path
) -> None:
    async with CuttableProxy(broker.port) as proxy, client(broker) as watcher:
        await watcher.subscribe(f"{PREFIX}/status", qos=1)
        plant = mqtt_plant(broker, port=proxy.port)
        async with controller(
            plant, WallClock(), tmp_path, backoff_initial_s=0.05, backoff_max_s=0.2
        ) as ctl:
            assert (await next_text(watcher, f"{PREFIX}/status"))[0] == "online"
            proxy.cut()  # the broker sees the socket die with no DISCONNECT: the will fires
            assert (await next_text(watcher, f"{PREFIX}/status"))[0] == "offline"
            assert (await next_text(watcher, f"{PREFIX}/status"))[0] == "online"
            assert await wait_until(lambda: ctl.bridge.stats.connected)
            assert ctl.bridge.stats.reconnects_total == 1


async def test_a_request_is_accepted_honoured_within_the_protections_and_expires(
    broker: Broker, tmp_path: Path
) -> None:
    clock = SimClock(T0)
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl, client(broker) as op:
        await op.subscribe(REPLY, qos=1)
        await op.subscribe(f"{PREFIX}/events", qos=1)
        before = await ctl.cycle.tick()
        assert before.targets.unit_on["hp2"] is False
        request = {
            "id": "op-1",
            "kind": "manual",
            "unit": "hp2",
            "on": True,
            "heat_kw": 4000,
            "priority": 60,
            "expires_utc": _iso(T0 + timedelta(minutes=30)),
            "operator": "alice",
        }
        await op.publish(REQUEST, json.dumps(request), qos=1)
        answer = await next_json(op, REPLY)
        assert answer["id"] == "op-1"
        assert answer["accepted"] is True, answer
        assert "manual request op-1 by alice" in str(answer["reason"])

        clock.advance(2.0)
        report = await ctl.cycle.tick()
        assert report.targets.unit_on["hp2"] is True
        assert report.targets.unit_heat_kw["hp2"] == 4000
        assert report.targets.reasons["hp2"].startswith("manual on: manual request op-1")
        # first seen off: the compressor's minimum off time still holds the start back
        assert report.commands.units["hp2"].enable is False
        assert "min off time" in report.commands.units["hp2"].reason

        clock.advance(900.0)
        report = await ctl.cycle.tick()
        assert report.targets.unit_on["hp2"] is True
        assert report.commands.valves["v_hp2"].position_pct == 100.0  # start sequence begins

        clock.advance(900.0)  # past the expiry
        report = await ctl.cycle.tick()
        assert report.targets.unit_on["hp2"] is False
        assert ctl.desk.active == ()
        expired = await _event(op, "override_expired")
        assert expired["equipment"] == "hp2"
        assert expired["detail"] == {"id": "op-1", "kind": "manual", "operator": "alice"}
        assert ctl.bridge.stats.requests_accepted_total == 1
        assert ctl.audit.flush()
        rows = read_audit(ctl.audit.path, equipment="hp2")
        operator_rows = [row.kind for row in rows if row.kind != "write"]
        assert operator_rows == ["request", "answer", "override_expired"]
        assert rows[0].kind == "write"  # the first cycle's commands, before the request
        assert any(row.kind == "write" and row.detail["values"] for row in rows[1:])


async def test_bad_requests_are_rejected_with_the_reason_and_garbage_is_counted(
    broker: Broker, tmp_path: Path
) -> None:
    clock = SimClock(T0)
    expires = _iso(T0 + timedelta(hours=1))
    bad = [
        (
            {
                "id": "r1",
                "kind": "setpoint",
                "unit": "hp2",
                "heat_kw": 25000,
                "priority": 50,
                "expires_utc": expires,
            },
            "heat_kw 25000 is outside hp2's range 3500..10000 kW",
        ),
        (
            {
                "id": "r2",
                "kind": "manual",
                "unit": "hp9",
                "on": False,
                "priority": 50,
                "expires_utc": expires,
            },
            "unknown unit 'hp9'",
        ),
        (
            {"id": "r3", "kind": "curtail", "max_power_kw": 100, "priority": 50},
            "expires_utc: Field required",
        ),
        (
            {
                "id": "r4",
                "kind": "boost",
                "min_heat_kw": 5000,
                "priority": 50,
                "expires_utc": _iso(T0 - timedelta(minutes=1)),
            },
            "is not in the future",
        ),
        (b"\x00 not json", "not JSON"),
    ]
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl, client(broker) as op:
        await op.subscribe(REPLY, qos=1)
        for payload, reason in bad:
            body = payload if isinstance(payload, bytes) else json.dumps(payload)
            await op.publish(REQUEST, body, qos=1)
            answer = await next_json(op, REPLY)
            assert answer["accepted"] is False
            assert reason in str(answer["reason"]), answer
            expected_id = None if isinstance(payload, bytes) else payload["id"]
            assert answer["id"] == expected_id
        await op.publish(f"{PREFIX}/market/prices", b'{"prices": []}', qos=1)
        prices = {"prices": [{"start_utc": "2024-01-08T00:00:00Z", "price_eur_per_mwh": 61.5}]}
        await op.publish(f"{PREFIX}/market/prices", json.dumps(prices), qos=1)
        assert await wait_until(lambda: ctl.bridge.stats.price_updates_total == 1)
        await op.publish(f"{PREFIX}/market/fuel", b'{"fuel_price_eur_per_mwh": -3}', qos=1)
        fuel = {"fuel_price_eur_per_mwh": 38.5, "valid_from_utc": "2024-01-07T00:00:00Z"}
        await op.publish(f"{PREFIX}/market/fuel", json.dumps(fuel), qos=1)
        assert await wait_until(lambda: ctl.bridge.stats.fuel_updates_total == 1)
        assert ctl.market.fuel_price(T0) == 38.5
        stats = ctl.bridge.stats
        assert stats.messages_received_total == 9
        assert stats.garbage_total == 7
        assert stats.requests_rejected_total == 5
        assert stats.requests_accepted_total == 0
        known, until = ctl.market.prices(T0)
        assert list(known.values()) == [61.5]
        assert until == T0 + timedelta(hours=1)
        report = await ctl.cycle.tick()
        assert report.targets.unit_on == {"hp1": True, "hp2": False}
        assert ctl.audit.flush()
        # the desk audits the requests it read (r1, r2, r4); the unreadable ones (r3, not JSON)
        # are garbage, audited per topic: the first at once, the rest summed up later
        answers = read_audit(ctl.audit.path, kinds=["answer"])
        assert [row.detail["id"] for row in answers] == ["r1", "r2", "r4"]
        assert all(row.detail["accepted"] is False for row in answers)
        garbage = read_audit(ctl.audit.path, kinds=["mqtt_garbage"])
        assert [(row.detail["topic"], row.detail["count"]) for row in garbage] == [
            (REQUEST, 1),
            (f"{PREFIX}/market/prices", 1),
            (f"{PREFIX}/market/fuel", 1),
        ]
        assert "expires_utc: Field required" in str(garbage[0].detail["reason"])
        assert '"id": "r3"' in str(garbage[0].detail["excerpt"])
    # on stop, what was not yet audited is: the second unreadable request
    garbage = read_audit(ctl.audit.path, kinds=["mqtt_garbage"])
    assert len(garbage) == 4
    assert garbage[3].detail["topic"] == REQUEST and garbage[3].detail["count"] == 1
    assert "not JSON" in str(garbage[3].detail["reason"])


async def test_the_bridge_reconnects_after_a_broker_restart(broker: Broker, tmp_path: Path) -> None:
    async with controller(
        mqtt_plant(broker), WallClock(), tmp_path, backoff_initial_s=0.05, backoff_max_s=0.5
    ) as ctl:
        await ctl.cycle.tick()
        assert await wait_until(lambda: ctl.bridge.stats.published_total >= 2)
        broker.stop()
        assert await wait_until(lambda: not ctl.bridge.stats.connected)
        report = await ctl.cycle.tick()  # the cycle goes on without the broker
        assert report.number == 2
        broker.start()
        assert await wait_until(lambda: ctl.bridge.stats.reconnects_total == 1)
        assert ctl.bridge.stats.connected
        # the restarted broker kept nothing: the bridge publishes its retained topics again
        async with client(broker) as late:
            await late.subscribe(f"{PREFIX}/state", qos=1)
            state = await next_json(late, f"{PREFIX}/state")
            assert state["cycle"] == 2


async def test_poison_messages_are_garbage_and_never_take_the_bridge_down(
    broker: Broker, tmp_path: Path
) -> None:
    """A number of more digits than Python converts and a deeply nested array used to escape the
    JSON reader, end the receiver and, retained, keep the bridge reconnecting for ever."""
    clock = SimClock(T0)
    huge_number = b'{"prices": [{"start_utc": "2024-01-08T00:00:00Z", "price_eur_per_mwh": ' + (
        b"9" * 5000 + b"}]}"
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    async with client(broker) as publisher:
        # retained before the controller starts: delivered on every (re)subscription
        await publisher.publish(f"{PREFIX}/market/prices", huge_number, qos=1, retain=True)
        await publisher.publish(f"{PREFIX}/market/carbon", deep, qos=1, retain=True)
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl, client(broker) as op:
        assert await wait_until(lambda: ctl.bridge.stats.garbage_total == 2)
        await op.subscribe(REPLY, qos=1)
        await op.publish(REQUEST, b'{"id": "r1", "priority": ' + b"7" * 5000 + b"}", qos=1)
        answer = await next_json(op, REPLY)
        assert answer["accepted"] is False and answer["id"] is None
        assert "not usable JSON" in str(answer["reason"])
        # clearing the retained poison (an empty retained payload) is neither garbage nor answered
        await op.publish(f"{PREFIX}/market/prices", b"", qos=1, retain=True)
        await op.publish(f"{PREFIX}/market/carbon", b"", qos=1, retain=True)
        expires = _iso(T0 + timedelta(hours=1))
        good = {
            "id": "r2",
            "kind": "curtail",
            "max_power_kw": 3000,
            "priority": 50,
            "expires_utc": expires,
        }
        await op.publish(REQUEST, json.dumps(good), qos=1)
        answer = await next_json(op, REPLY)
        assert answer["id"] == "r2" and answer["accepted"] is True, answer
        stats = ctl.bridge.stats
        assert await wait_until(lambda: stats.messages_received_total == 6)
        assert stats.garbage_total == 3
        assert stats.reconnects_total == 0 and stats.connected
