"""Wiring of the operations side of a live controller: audit store, operator desk, MQTT bridge.

The audit store is always on; the bridge and the operator desk only with
`[control.mqtt] enabled = true`: operator requests arrive over MQTT, so without it there is no
desk and the cycle asks the dispatch policy itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from controller.config import Plant
from controller.core.events import AuditEvent
from controller.runtime.cycle import CycleObserver
from controller.runtime.desk import OperatorDesk
from controller.runtime.dispatch import Dispatch, TargetPolicy
from controller.runtime.outputs import HandBack
from controller.telemetry.audit import AUDIT_FILE, AuditObserver, AuditStore, FanOut
from controller.telemetry.mqtt.bridge import MqttBridge
from controller.telemetry.mqtt.market import MqttMarket
from drivers.clock import Clock
from drivers.kinds import Role


@dataclass
class Operations:
    audit: AuditStore
    policy: TargetPolicy  # what the cycle asks for targets: the desk if there is one
    desk: OperatorDesk | None  # the dispatch policy plus operator requests; with MQTT only
    bridge: MqttBridge | None
    observers: list[CycleObserver]

    @classmethod
    def build(
        cls,
        plant: Plant,
        clock: Clock,
        dispatch: Dispatch,
        data_dir: Path,
        market: MqttMarket | None,
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
        if not plant.control.mqtt.enabled:
            return cls(audit, dispatch.policy, desk=None, bridge=None, observers=observers)
        desk = OperatorDesk(plant.site, dispatch.policy, sink)
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
        )
        sink.sinks.append(bridge)
        observers.append(bridge)
        return cls(audit, desk, desk=desk, bridge=bridge, observers=observers)

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
