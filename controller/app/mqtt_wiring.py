"""Wiring of the operations side of a live controller: audit store, operator desk, MQTT bridge.

The audit store is always on; the bridge only with `[control.mqtt] enabled = true`, the operator
desk with MQTT or the HTTP API (`[control.api]`): operator requests arrive through one of them, so
without either there is no desk and the cycle asks the dispatch policy itself. The state store
keeps the desk's requests in force (and, with MQTT, the market data received) across a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from controller.config import Plant
from controller.core.events import AuditEvent
from controller.runtime.cycle import CycleObserver
from controller.runtime.desk import OperatorDesk
from controller.runtime.dispatch import Dispatch, TargetPolicy
from controller.runtime.outputs import HandBack
from controller.runtime.state_store import STATE_FILE, StateStore
from controller.telemetry.audit import AUDIT_FILE, AuditObserver, AuditStore, FanOut
from controller.telemetry.mqtt.bridge import MqttBridge
from controller.telemetry.mqtt.market import MqttMarket
from drivers.clock import Clock
from drivers.kinds import Role

log = logging.getLogger(__name__)


def open_state(
    plant: Plant, clock: Clock, data_dir: Path
) -> tuple[StateStore | None, MqttMarket | None]:
    """With MQTT on: the state store, and the MQTT market restored from it and saving to it.

    Restored is what the market would still hold now had the controller never stopped (the
    past week and anything ahead): the planner plans on it at once instead of waiting on rules
    for the next price message."""
    if not plant.control.mqtt.enabled:
        # requests taken over the HTTP API are kept across a restart like those over MQTT
        store = StateStore(data_dir / STATE_FILE) if plant.control.api.enabled else None
        return store, None
    store = StateStore(data_dir / STATE_FILE)
    market = MqttMarket(on_change=store.save_market)
    now_utc = clock.now()
    saved = store.load_market()
    market.restore(saved, now_utc)
    if not saved.empty:
        prices, until = market.prices(now_utc)
        if prices or market.carbon(now_utc) or market.fuel_price(now_utc) is not None:
            log.info(
                "market data restored: %d price periods (known until %s), %d carbon hours, "
                "fuel quote %s",
                len(prices),
                f"{until:%Y-%m-%d %H:%M} UTC",
                len(market.carbon(now_utc)),
                market.fuel_price(now_utc),
            )
        else:
            log.info("saved market data is more than a week old: not restored")
    return store, market


@dataclass
class Operations:
    audit: AuditStore
    policy: TargetPolicy  # what the cycle asks for targets: the desk if there is one
    desk: OperatorDesk | None  # the dispatch policy plus operator requests; with MQTT only
    bridge: MqttBridge | None
    observers: list[CycleObserver]
    state: StateStore | None = None  # the desk's requests and the MQTT market, kept

    @classmethod
    def build(
        cls,
        plant: Plant,
        clock: Clock,
        dispatch: Dispatch,
        data_dir: Path,
        market: MqttMarket | None,
        state: StateStore | None = None,
    ) -> Operations:
        audit = AuditStore(data_dir / AUDIT_FILE, retention_days=plant.control.audit_retention_days)
        sink = FanOut([audit])
        planner = dispatch.planner
        heartbeat = {p.name for m in plant.maps.values() for p in m.by_role(Role.HEARTBEAT)}
        observer = AuditObserver(
            sink,
            plan_source=(lambda: planner.last_attempt) if planner is not None else None,
            heartbeat_points=heartbeat,
        )
        observers: list[CycleObserver] = [observer]
        if not plant.control.mqtt.enabled and not plant.control.api.enabled:
            return cls(audit, dispatch.policy, desk=None, bridge=None, observers=observers)
        desk = OperatorDesk(plant.site, dispatch.policy, sink, state, plant.control.overrides)
        if not plant.control.mqtt.enabled:  # the HTTP API is the desk's only door
            desk.restore(clock.now())
            return cls(audit, desk, desk=desk, bridge=None, observers=observers, state=state)
        bridge = MqttBridge(
            plant,
            clock,
            desk,
            market,
            plan_source=(lambda: planner.current) if planner is not None else None,
            # the forecast the current plan was made on (both are set together)
            plan_inputs=(
                (lambda: planner.forecast.provenance if planner.forecast is not None else None)
                if planner is not None
                else None
            ),
            audit=audit,  # bad messages, aggregated; not to the bridge's own event topic
        )
        sink.sinks.append(bridge)
        observers.append(bridge)
        # after the bridge joined the sink: what is released on start reaches the events topic
        desk.restore(clock.now())
        return cls(audit, desk, desk=desk, bridge=bridge, observers=observers, state=state)

    def stopped(self, hand_back: HandBack, now_utc: datetime) -> None:
        """Audit the shutdown as it was: a hand-back with every device's answer (`active` only if
        some device took it), or, read-only, a stop that wrote and handed back nothing."""
        if hand_back.read_only:
            what = "read-only: nothing was written, so nothing was handed back"
            detail: dict[str, object] = {"read_only": True, "handed_back": False, "what": what}
            self.audit.record(AuditEvent(now_utc, "shutdown", None, detail))
            return
        detail = {
            "active": bool(hand_back.reached),
            "what": "shutdown",
            "outcome": hand_back.outcome,
            "devices": hand_back.devices(),
            "errors": dict(hand_back.failed),
        }
        self.audit.record(AuditEvent(now_utc, "handback", None, detail))

    def close(self) -> None:
        self.audit.close()
        if self.state is not None:
            self.state.close()
