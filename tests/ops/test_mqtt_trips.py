"""Unit trips and policy failures reach the operators over a real Mosquitto: the `events` topic
carries the trip, its reset and a failing policy; the retained state says whether the controller
is read-only."""

from __future__ import annotations

from pathlib import Path

from controller.telemetry.audit import read_audit
from drivers.clock import SimClock
from tests.core.fakes import T0
from tests.ops.mosquitto import PREFIX, Broker
from tests.ops.mqtt_rig import client, controller, mqtt_plant, next_json


async def _event(listener: object, kind: str) -> dict[str, object]:
    for _ in range(20):
        event = await next_json(listener, f"{PREFIX}/events")  # type: ignore[arg-type]
        if event["kind"] == kind:
            return event
    raise AssertionError(f"no {kind} event")


async def test_a_unit_trip_and_its_reset_are_published_and_audited(
    broker: Broker, tmp_path: Path
) -> None:
    clock = SimClock(T0)
    async with controller(mqtt_plant(broker), clock, tmp_path) as ctl, client(broker) as op:
        await op.subscribe(f"{PREFIX}/events", qos=1)
        await op.subscribe(f"{PREFIX}/state", qos=1)
        await ctl.cycle.tick()
        state = await next_json(op, f"{PREFIX}/state")
        assert state["read_only"] is False
        ctl.pool.running = {}
        ctl.pool.alarms = {"hp1": 5}  # hp1 trips: its state code reads tripped
        clock.advance(2.0)
        await ctl.cycle.tick()
        trip = await _event(op, "unit_trip")
        assert trip["equipment"] == "hp1"
        assert trip["detail"]["alarm_code"] == 5  # type: ignore[index]
        ctl.pool.alarms = {}
        clock.advance(300.0)
        await ctl.cycle.tick()
        reset = await _event(op, "unit_trip_reset")
        assert reset["equipment"] == "hp1"
        detail = reset["detail"]
        assert isinstance(detail, dict)
        assert detail["hold_s"] == ctl.plant.control.safety.trip_reset_s
        assert detail["tripped_for_s"] == 300.0
        assert ctl.audit.flush()
        kinds = [row.kind for row in read_audit(ctl.audit.path, equipment="hp1")]
        assert [k for k in kinds if k.startswith("unit_trip")] == ["unit_trip", "unit_trip_reset"]


async def test_the_state_says_read_only(broker: Broker, tmp_path: Path) -> None:
    plant = mqtt_plant(broker).with_control(read_only=True)
    async with controller(plant, SimClock(T0), tmp_path) as ctl, client(broker) as op:
        await op.subscribe(f"{PREFIX}/state", qos=1)
        report = await ctl.cycle.tick()
        assert report.read_only and report.writes == {}
        state = await next_json(op, f"{PREFIX}/state")
    assert state["read_only"] is True
