"""A controller side for the MQTT tests: a real cycle on a hand-made snapshot, the desk, the
audit store and the bridge, connected to a real broker; plus small client helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

from controller.config import MqttConfig, Plant
from controller.runtime.cycle import ControlCycle
from controller.runtime.dispatch import RulesPolicy
from controller.telemetry.audit import AuditObserver, AuditStore, FanOut
from controller.telemetry.mqtt import MqttBridge, MqttMarket, OperatorDesk
from drivers.clock import Clock
from tests.core.fakes import FakeSnapshot, plant_snapshot, river
from tests.ops.mosquitto import Broker

TANK_TEMP_C = 77.0  # SoC 0.6 in the river plant's 65..85 °C tank: the rules hold steady


def mqtt_plant(broker: Broker, **settings: object) -> Plant:
    values: dict[str, object] = {"enabled": True, "host": "127.0.0.1", "port": broker.port}
    config = MqttConfig.model_validate(values | settings)
    return river().with_control(mqtt=config, policy="rules")


@dataclass
class FakePool:
    """Every point GOOD, hp1 running; time from the test's clock; writes are kept."""

    plant: Plant
    clock: Clock
    running: dict[str, bool] = field(default_factory=lambda: {"hp1": True})
    alarms: dict[str, int] = field(default_factory=dict)  # unit -> alarm code: tripped
    tank_temp_c: float = TANK_TEMP_C
    writes: list[tuple[str, dict[str, float]]] = field(default_factory=list)

    def snapshot(self) -> FakeSnapshot:
        snap = plant_snapshot(
            self.plant.site, self.tank_temp_c, self.running, now_s=self.clock.monotonic_s()
        )
        snap.now_utc = self.clock.now()
        for unit, code in self.alarms.items():
            snap.values[(unit, "state_code", None)] = 4.0
            snap.values[(unit, "alarm_code", None)] = float(code)
        return snap

    async def write(self, device: str, values: dict[str, float]) -> None:
        self.writes.append((device, dict(values)))


@dataclass
class Controller:
    plant: Plant
    bridge: MqttBridge
    desk: OperatorDesk
    cycle: ControlCycle
    pool: FakePool
    audit: AuditStore
    market: MqttMarket


async def wait_until(condition: Callable[[], bool], attempts: int = 400) -> bool:
    for _ in range(attempts):
        if condition():
            return True
        await asyncio.sleep(0.025)
    return condition()


@asynccontextmanager
async def controller(
    plant: Plant,
    clock: Clock,
    data_dir: Path,
    wait_connected: bool = True,
    market: MqttMarket | None = None,
    **bridge_options: float,
) -> AsyncIterator[Controller]:
    audit = AuditStore(data_dir / "audit.sqlite3")
    sink = FanOut([audit])
    desk = OperatorDesk(plant.site, RulesPolicy(), sink)
    market = market if market is not None else MqttMarket()
    bridge = MqttBridge(plant, clock, desk, market, audit=audit, **bridge_options)
    sink.sinks.append(bridge)
    pool = FakePool(plant, clock)
    cycle = ControlCycle(plant, pool, clock, desk, observers=[AuditObserver(sink), bridge])
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    try:
        if wait_connected:
            assert await wait_until(lambda: bridge.stats.connected), "bridge did not connect"
        yield Controller(plant, bridge, desk, cycle, pool, audit, market)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        audit.close()


def client(broker: Broker, user: str | None = None, **options: object) -> aiomqtt.Client:
    password = broker.users.get(user) if user is not None else None
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=password,
        timeout=10,
        **options,  # type: ignore[arg-type]
    )


async def next_json(
    listener: aiomqtt.Client, topic: str, timeout_s: float = 15.0
) -> dict[str, object]:
    """The next message on `topic` (already subscribed), decoded."""
    async with asyncio.timeout(timeout_s):
        async for message in listener.messages:
            if message.topic.matches(topic):
                assert isinstance(message.payload, bytes)
                value = json.loads(message.payload)
                assert isinstance(value, dict)
                return value
    raise AssertionError(f"no message on {topic}")


async def next_text(
    listener: aiomqtt.Client, topic: str, timeout_s: float = 15.0
) -> tuple[str, bool]:
    """The next message on `topic` as text, and whether it came retained."""
    async with asyncio.timeout(timeout_s):
        async for message in listener.messages:
            if message.topic.matches(topic):
                assert isinstance(message.payload, bytes)
                return message.payload.decode(), message.retain
    raise AssertionError(f"no message on {topic}")
