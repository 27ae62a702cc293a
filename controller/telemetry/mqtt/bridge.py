"""The MQTT bridge: one long-lived task between the controller and a broker (aiomqtt).

Out, under the plant's topic prefix: `status` (retained "online"; the last will sets "offline"
when the connection dies uncleanly), `state` (retained, at most every `publish_interval_s`),
`plan` (retained, when a new plan is in use), `events` (interlocks, fallbacks, overrides
released or expired), `reply` (the answer to every request). In: `request` (operator
requests), `market/prices` and `market/carbon` (hourly updates for the planner).

The cycle never waits on the broker: `observe` and `record` only append to bounded queues that
drop their oldest entry (and count it) when full. A lost broker is retried with exponential
back-off; the retained topics are published again on every connection.

A message that cannot be used (not JSON, wrong schema, out of range, a retained request, any
failure while handling it) is that message's garbage: counted, audited aggregated per topic
(`GarbageAudit`), a request answered with the reason; never the end of the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import aiomqtt

from controller.config import ConfigError, MqttConfig, Plant
from controller.core.events import AuditEvent, EventSink
from controller.core.plan import Plan
from controller.core.report import CycleReport
from controller.runtime.desk import Answer, OperatorDesk
from controller.telemetry.mqtt.garbage import GarbageAudit
from controller.telemetry.mqtt.market import MqttMarket
from controller.telemetry.mqtt.messages import (
    MessageError,
    parse_carbon,
    parse_fuel,
    parse_prices,
    parse_request,
    request_id_of,
)
from controller.telemetry.mqtt.payloads import event_payload, plan_payload, state_payload
from controller.telemetry.mqtt.schemas import PublishedEventKind
from drivers.clock import Clock

log = logging.getLogger(__name__)

PUBLISHED_EVENTS = frozenset(get_args(PublishedEventKind))
UNEXPECTED_TOPIC = "(a topic not subscribed to)"


@dataclass
class BridgeStats:
    """Counters for the metrics exporter; all only ever grow, except `connected`."""

    messages_received_total: int = 0
    # not JSON, wrong schema, out of range, unknown unit, retained request, failed handling
    garbage_total: int = 0
    requests_accepted_total: int = 0
    requests_rejected_total: int = 0
    price_updates_total: int = 0
    carbon_updates_total: int = 0
    fuel_updates_total: int = 0
    published_total: int = 0
    dropped_total: int = 0  # reports or events pushed out of a full queue
    reconnects_total: int = 0  # successful connections after the first
    connect_failures_total: int = 0  # attempts that never got a session (refused, TLS, auth)
    connected: bool = False


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def plan(self) -> str:
        return f"{self.prefix}/plan"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def request(self) -> str:
        return f"{self.prefix}/request"

    @property
    def reply(self) -> str:
        return f"{self.prefix}/reply"

    @property
    def prices(self) -> str:
        return f"{self.prefix}/market/prices"

    @property
    def carbon(self) -> str:
        return f"{self.prefix}/market/carbon"

    @property
    def fuel(self) -> str:
        return f"{self.prefix}/market/fuel"


def topics_for(plant: Plant) -> Topics:
    prefix = plant.control.mqtt.topic_prefix or f"hpctl/{plant.site.plant.name}"
    return Topics(prefix.rstrip("/"))


def tls_parameters(plant: Plant) -> aiomqtt.TLSParameters | None:
    """The broker's TLS settings of the plant file, paths relative to it; None without TLS."""
    tls = plant.control.mqtt.tls
    if tls is None:
        return None
    base = plant.path.parent

    def resolve(name: str | None) -> str | None:
        return None if name is None else str(base / name)

    return aiomqtt.TLSParameters(
        ca_certs=resolve(tls.ca_file),
        certfile=resolve(tls.cert_file),
        keyfile=resolve(tls.key_file),
    )


def read_password(plant: Plant) -> str | None:
    """The broker password from its own file (first line), never from the plant file."""
    name = plant.control.mqtt.password_file
    if name is None:
        return None
    path = Path(name) if Path(name).is_absolute() else plant.path.parent / name
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError) as exc:
        raise ConfigError(f"{plant.path}: control.mqtt.password_file {path}: {exc}") from None


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return b"" if payload is None else str(payload).encode("utf-8")


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


class MqttBridge:
    """Run with `run(stop)` as a task; add as a cycle observer and as an event sink."""

    def __init__(
        self,
        plant: Plant,
        clock: Clock,
        desk: OperatorDesk,
        market: MqttMarket | None = None,
        plan_source: Callable[[], Plan | None] | None = None,
        *,
        plan_inputs: Callable[[], Mapping[str, str] | None] | None = None,
        audit: EventSink | None = None,
        queue_size: int = 256,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self._plant = plant
        self.config: MqttConfig = plant.control.mqtt
        self.topics = topics_for(plant)
        self._password = read_password(plant)
        self._clock = clock
        self._desk = desk
        self._market = market
        self._plan_source = plan_source
        self._plan_inputs = plan_inputs  # where the current plan's inputs came from
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._reports: deque[CycleReport] = deque(maxlen=queue_size)
        self._events: deque[AuditEvent] = deque(maxlen=queue_size)
        self._wake = asyncio.Event()
        self._latest: CycleReport | None = None
        self._state_published_s: float | None = None
        self._plan: Plan | None = None
        self.stats = BridgeStats()
        self._garbage_audit = GarbageAudit(audit, clock)

    # --- from the cycle (never blocks) ------------------------------------------------------
    def observe(self, report: CycleReport) -> None:
        if len(self._reports) == self._reports.maxlen:
            self.stats.dropped_total += 1
        self._reports.append(report)
        self._wake.set()

    def record(self, event: AuditEvent) -> None:
        if event.kind not in PUBLISHED_EVENTS:
            return
        if len(self._events) == self._events.maxlen:
            self.stats.dropped_total += 1
        self._events.append(event)
        self._wake.set()

    # --- connection ---------------------------------------------------------------------------
    def _client(self) -> aiomqtt.Client:
        config = self.config
        return aiomqtt.Client(
            config.host,
            config.port,
            username=config.username,
            password=self._password,
            identifier=config.client_id or f"hpctl-{self._plant.site.plant.name}",
            will=aiomqtt.Will(self.topics.status, b"offline", qos=1, retain=True),
            keepalive=config.keepalive_s,
            tls_params=tls_parameters(self._plant),
            timeout=10.0,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve, and reconnect with exponential back-off until `stop`."""
        try:
            await self._connect_and_serve(stop)
        finally:
            self._garbage_audit.flush()  # the bad messages not yet in the audit store

    async def _connect_and_serve(self, stop: asyncio.Event) -> None:
        failures = 0
        ever_connected = False
        where = f"{self.config.host}:{self.config.port}"
        while not stop.is_set():
            session = False
            try:
                async with self._client() as client:
                    session = True
                    if ever_connected:
                        self.stats.reconnects_total += 1
                    ever_connected = True
                    failures = 0
                    self.stats.connected = True
                    log.info("MQTT: connected to %s as %s", where, self.topics.prefix)
                    await self._session(client, stop)
            except aiomqtt.MqttError as exc:
                if not session:
                    self.stats.connect_failures_total += 1
                if self.stats.connected or failures == 0:
                    log.warning("MQTT: broker %s lost or unreachable: %s", where, exc)
            except Exception:  # a bridge fault must never stop the plant's control
                log.exception("MQTT: bridge failed; reconnecting")
            finally:
                self.stats.connected = False
            if stop.is_set():
                return
            delay_s = min(self._backoff_max_s, self._backoff_initial_s * 2.0**failures)
            failures += 1
            await self._sleep_or_stop(delay_s, stop)

    async def _sleep_or_stop(self, delay_s: float, stop: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(delay_s))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        stopper.cancel()

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        topics = self.topics
        await client.publish(topics.status, b"online", qos=1, retain=True)
        for topic in (topics.request, topics.prices, topics.carbon, topics.fuel):
            await client.subscribe(topic, qos=1)
        # a restarted broker may have lost the retained topics: publish them again
        self._state_published_s = None
        self._plan = None
        receiver = asyncio.create_task(self._receive(client), name="mqtt-receive")
        try:
            while not stop.is_set():
                await self._publish_pending(client)
                waker = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waker, stopper, receiver}, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                stopper.cancel()
                if receiver.done():
                    receiver.result()  # the connection's error, if it died
                    raise aiomqtt.MqttError("message stream ended")
            await self._publish_pending(client)
            await client.publish(topics.status, b"offline", qos=1, retain=True)
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)

    # --- out ------------------------------------------------------------------------------------
    async def _publish(
        self, client: aiomqtt.Client, topic: str, body: object, retain: bool
    ) -> None:
        await client.publish(topic, _json(body), qos=1, retain=retain)
        self.stats.published_total += 1

    async def _publish_pending(self, client: aiomqtt.Client) -> None:
        self._wake.clear()
        self._garbage_audit.flush_due()
        while self._reports:
            self._latest = self._reports.popleft()
        while self._events:
            event = self._events[0]
            await self._publish(client, self.topics.events, event_payload(event), retain=False)
            self._events.popleft()  # only once the broker has it
        now_s = self._clock.monotonic_s()
        due = (
            self._state_published_s is None
            or now_s - self._state_published_s >= self.config.publish_interval_s
        )
        if self._latest is not None and due:
            body = state_payload(self._latest, self._desk.active)
            await self._publish(client, self.topics.state, body, retain=True)
            self._state_published_s = now_s
        plan = self._plan_source() if self._plan_source is not None else None
        if plan is not None and plan is not self._plan:
            inputs = self._plan_inputs() if self._plan_inputs is not None else None
            await self._publish(client, self.topics.plan, plan_payload(plan, inputs), retain=True)
            self._plan = plan

    # --- in -------------------------------------------------------------------------------------
    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.stats.messages_received_total += 1
            payload = _payload_bytes(message.payload)
            if not payload:
                # how a retained topic is cleared: nothing was said, so nothing is answered
                continue
            topic = self._topic_of(message.topic)
            try:
                answer = self._on_message(topic, message.retain, payload)
            except MessageError as exc:
                self._garbage(topic, str(exc), payload, message.retain)
                continue
            except Exception as exc:  # one message's failure is that message's garbage, never
                # the connection's end: a retained poison message would otherwise keep us offline
                log.debug("MQTT: a message on %s failed", topic, exc_info=True)
                reason = f"failed: {type(exc).__name__}: {exc}"
                self._garbage(topic, reason, payload, message.retain)
                continue
            if answer is not None:
                await self._publish(client, self.topics.reply, answer.payload(), retain=False)

    def _topic_of(self, topic: aiomqtt.Topic) -> str:
        topics = self.topics
        for name in (topics.request, topics.prices, topics.carbon, topics.fuel):
            if topic.matches(name):
                return name
        return UNEXPECTED_TOPIC

    def _garbage(self, topic: str, reason: str, payload: bytes, retained: bool) -> None:
        self.stats.garbage_total += 1
        self._garbage_audit.add(topic, reason, payload, retained)

    def _on_message(self, topic: str, retained: bool, payload: bytes) -> Answer | None:
        """Handle one message; the answer to send back on the reply topic, if any. A message
        that cannot be used raises `MessageError`."""
        topics = self.topics
        if topic == topics.request:
            return self._on_request(payload, retained=retained)
        now = self._clock.now()
        if topic == topics.prices:
            prices = parse_prices(payload)
            if self._market is not None:
                self._market.add_prices(prices, now)
            self.stats.price_updates_total += 1
        elif topic == topics.carbon:
            carbon = parse_carbon(payload)
            if self._market is not None:
                self._market.add_carbon(carbon, now)
            self.stats.carbon_updates_total += 1
        elif topic == topics.fuel:
            fuel = parse_fuel(payload)
            if self._market is not None:
                self._market.add_fuel(fuel, now)
            self.stats.fuel_updates_total += 1
        else:
            raise MessageError("not a topic the bridge reads")
        return None

    def _on_request(self, payload: bytes, retained: bool) -> Answer:
        now = self._clock.now()
        try:
            if retained:
                # a retained request would be replayed on every reconnect: never honoured
                raise MessageError("retained requests are refused")
            request = parse_request(payload)
        except MessageError as exc:
            # audited as garbage (aggregated), not by the desk: a flood must not fill the disk
            self._garbage(self.topics.request, str(exc), payload, retained)
            answer = Answer(request_id_of(payload), False, str(exc), now, invalid=True)
        else:
            answer = self._desk.submit(request, now)
            if answer.invalid:
                self.stats.garbage_total += 1  # the desk audited request and answer
        if answer.accepted:
            self.stats.requests_accepted_total += 1
        else:
            self.stats.requests_rejected_total += 1
        return answer
